import FederationCore
import Foundation
import Testing

@testable import FederationConfig

@Suite("Configuration")
struct ConfigurationTests {
    static let repoConfig = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/federation.yaml").path

    @Test("the checked-in cluster configuration loads, with regions folded into the policy")
    func repositoryFile() throws {
        let c = try ConfigurationLoader.load(path: Self.repoConfig, environment: [:])
        #expect(c.namespace == "fed")
        #expect(c.policy.regions["eu-west"] == RegionSettings(privacy: .confidential, cost: 0.6))
        #expect(c.policy.strategy == .leastLatency)
        #expect(c.health.probeInterval == .seconds(2))
        #expect(c.health.circuit.failureThreshold == 5)
        #expect(c.gateway.retry.maxRetries == 3)
        #expect(c.catalog.listen.port == 7101)
    }

    @Test("an empty file gives the defaults")
    func defaults() throws {
        #expect(try ConfigurationLoader.parse(yaml: "") == FederationConfiguration())
    }

    @Test("environment overrides the file")
    func environment() throws {
        var c = try ConfigurationLoader.parse(yaml: "namespace: a\ncatalog: {port: 1}")
        try ConfigurationLoader.applyEnvironment(
            [
                "FED_NAMESPACE": "b", "FED_CATALOG_PORT": "9000", "FED_REDIS_URL": "redis://h:1/2",
                "FED_ADMIN_TOKEN": "t",
            ],
            to: &c)
        #expect(c.namespace == "b")
        #expect(c.catalog.listen.port == 9000)
        #expect(c.redisURL == "redis://h:1/2")
        #expect(c.adminToken == "t")
    }

    @Test(
        "bad input names the key and the problem",
        arguments: [
            ("nmespace: x", "nmespace"),
            ("policy: {strategy: fastest}", "fastest"),
            ("policy: {min_score: 3}", "min_score"),
            ("regions: {eu: {privacy: secret}}", "secret"),
            ("regions: {eu: {privacy: public, cost: 7}}", "cost"),
            ("catalog: {port: 70000}", "catalog.port"),
            ("catalog: {port: abc}", "catalog.port"),
            ("redis: {url: http://x}", "redis.url"),
            ("log_level: loud", "log_level"),
            ("health: {circuit: {failure_threshold: 0}}", "failure_threshold"),
            ("[1, 2", "YAML"),
        ])
    func badInput(yaml: String, mentions: String) {
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml, source: "test.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.message.contains(mentions), "\(error.message)")
            #expect(error.message.hasPrefix("test.yaml"))
        }
    }

    @Test("a bad port in the environment is an error, not a silent default")
    func badEnvironmentPort() {
        var c = FederationConfiguration()
        #expect(throws: ConfigurationLoader.Problem.self) {
            try ConfigurationLoader.applyEnvironment(["FED_GATEWAY_PORT": "eighty"], to: &c)
        }
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/fed.yaml", environment: [:])
            Issue.record("accepted a missing file")
        } catch {
            #expect(error.message.contains("/nonexistent/fed.yaml"))
        }
    }
}
