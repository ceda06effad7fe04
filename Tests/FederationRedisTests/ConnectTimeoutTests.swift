import FederationRedis
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ConnectTimeoutTests {
    /// A listener that never accepts, its backlog filled: further connects hang in SYN_SENT.
    @Test func connectTimeoutBoundsAHangingConnect() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        #expect(listen(listener, 0) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {  // fill the accept queue (non-blocking connects)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
            }
            fillers.append(fd)
        }
        let config = RedisConfiguration(port: port, connectTimeout: .milliseconds(200), poolSize: 1)
        try await RedisClient.withClient(configuration: config) { client in
            let start = ContinuousClock.now
            let error = await redisError { try await client.command("PING") }
            let elapsed = ContinuousClock.now - start
            guard case .connectionFailed(_, let detail) = error else {
                Issue.record("expected connectionFailed, got \(String(describing: error))")
                return
            }
            // "timed out" from our 200 ms bound, long before the kernel's own connect timeout
            // (minutes); the generous bound only catches a hang, not a slow machine
            #expect(elapsed < .seconds(30), "took \(elapsed): \(detail)")
            #expect(detail.lowercased().contains("timed out"), "\(detail)")
        }
    }
}
