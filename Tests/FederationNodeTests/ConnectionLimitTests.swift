import FederationCore
import FederationNode
import FederationTestSupport
import Testing

@Suite("The node applies the shared server limits")
struct ConnectionLimitTests {
    @Test("a slowloris client is closed after the node's header timeout; an idle one after its idle timeout")
    func timeouts() async throws {
        try await withNode({
            $0.server = ServerLimits(headerTimeout: .seconds(1), idleTimeout: .seconds(2))
        }) { node in
            // A test starved of CPU for longer than the header timeout between connecting and its
            // first bytes finds the connection already (rightly) closed: it connects again, at most
            // three times, so a node that closes every connection at once still fails the test.
            let slow = try await RawConnection.connectAndSend(
                port: node.port, "POST /v1/chat/completions HTTP/1.1\r\nHost: node\r\nX-Slow: ")
            for _ in 0..<150 where !slow.isClosed {
                try? await slow.send("a")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(slow.isClosed, "the node held a trickling connection for 30 s")
            #expect(slow.text.hasPrefix("HTTP/1.1 408"), "\(slow.text)")

            let idle = try await RawConnection.connectAndSend(
                port: node.port, "GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n")
            #expect(try await idle.waitFor("\"ok\"", timeout: .seconds(30)))
            #expect(
                try await idle.waitUntilClosed(timeout: .seconds(30)), "idle keep-alive connection kept open")
        }
    }

    @Test("the limits are read from flags-style settings and checked")
    func settings() throws {
        var configuration = NodeConfiguration()
        try configuration.set("header_timeout_ms", to: "1500")
        try configuration.set("idle_timeout_ms", to: "20000")
        try configuration.set("max_connections", to: "32")
        #expect(
            configuration.server
                == ServerLimits(
                    headerTimeout: .milliseconds(1500), idleTimeout: .seconds(20), maxConnections: 32))
        #expect(throws: NodeConfigurationError.self) {
            try configuration.set("header_timeout_ms", to: "1e300")
        }
        #expect(throws: NodeConfigurationError.self) { try configuration.set("idle_timeout_ms", to: "0") }
        configuration.server.maxConnections = 0
        #expect(throws: NodeConfigurationError.self) { try configuration.validate() }
        var environment = NodeConfiguration()
        try environment.apply(environment: ["FEDNODE_MAX_CONNECTIONS": "7"])
        #expect(environment.server.maxConnections == 7)
    }
}
