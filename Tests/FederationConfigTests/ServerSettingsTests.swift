import FederationCore
import Testing

@testable import FederationConfig

@Suite("Configuration: the server section (HTTP limits of every service)")
struct ServerSettingsTests {
    @Test("defaults, the YAML section, and the environment over it")
    func sources() throws {
        #expect(FederationConfiguration().server == ServerLimits())
        #expect(
            ServerLimits()
                == ServerLimits(headerTimeout: .seconds(10), idleTimeout: .seconds(75), maxConnections: 1024))
        let yaml = "server:\n  header_timeout_ms: 2000\n  idle_timeout_ms: 5000\n  max_connections: 10\n"
        var c = try ConfigurationLoader.parse(yaml: yaml)
        #expect(
            c.server == ServerLimits(headerTimeout: .seconds(2), idleTimeout: .seconds(5), maxConnections: 10)
        )
        try ConfigurationLoader.applyEnvironment(
            ["FED_SERVER_HEADER_TIMEOUT_MS": "1500", "FED_SERVER_MAX_CONNECTIONS": "20"], to: &c)
        #expect(
            c.server
                == ServerLimits(
                    headerTimeout: .milliseconds(1500), idleTimeout: .seconds(5), maxConnections: 20))
    }

    @Test(
        "out-of-range or malformed limits stop the service with a message naming the key",
        arguments: [
            ("server:\n  header_timeout_ms: 1e20\n", "server.header_timeout_ms"),
            ("server:\n  idle_timeout_ms: 0\n", "server.idle_timeout_ms"),
            ("server:\n  idle_timeout_ms: 1.5\n", "server.idle_timeout_ms"),
            ("server:\n  max_connections: 0\n", "server.max_connections"),
            ("server:\n  max_conns: 3\n", "max_conns"),
        ])
    func rejected(yaml: String, key: String) {
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.message.contains(key), "\(error.message)")
        }
    }

    @Test("a malformed environment value is an error naming the variable")
    func badEnvironment() {
        var c = FederationConfiguration()
        for (name, value) in [
            ("FED_SERVER_MAX_CONNECTIONS", "many"), ("FED_SERVER_IDLE_TIMEOUT_MS", "-5"),
            ("FED_SERVER_HEADER_TIMEOUT_MS", "nan"),
        ] {
            #expect(throws: ConfigurationLoader.Problem.self, "\(name)=\(value)") {
                try ConfigurationLoader.applyEnvironment([name: value], to: &c)
            }
        }
    }
}
