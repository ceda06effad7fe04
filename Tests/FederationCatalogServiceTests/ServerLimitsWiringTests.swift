import FederationCatalogService
import FederationConfig
import FederationCore
import FederationState
import FederationTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@Suite("The catalog applies the shared server limits from its configuration")
struct ServerLimitsWiringTests {
    @Test("server.header_timeout_ms closes a slowloris connection with 408")
    func headerTimeout() async throws {
        var configuration = FederationConfiguration()
        configuration.catalog.listen.port = 0
        configuration.server = ServerLimits(headerTimeout: .seconds(1), idleTimeout: .seconds(60))
        var logger = Logger(label: "catalog-limits-test")
        logger.logLevel = .warning
        let app = buildCatalogApplication(
            configuration: configuration, catalog: InMemoryCatalogStore(),
            registry: PrometheusCollectorRegistry(), logger: logger)
        try await app.test(.live) { client in
            let slow = try await RawConnection.connectAndSend(
                port: try #require(client.port), "GET /healthz HTTP/1.1\r\nHost: catalog\r\nX-Slow: ")
            for _ in 0..<150 where !slow.isClosed {
                try? await slow.send("a")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(slow.isClosed, "the catalog held a trickling connection for 30 s")
            #expect(slow.text.hasPrefix("HTTP/1.1 408"), "\(slow.text)")
        }
    }
}
