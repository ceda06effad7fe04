import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Testing

@Suite struct HealthReportFeedTests {
    @Test func validReportsArriveAndHostileOnesAreMalformed() async throws {
        let server = RedisServerProcess.shared
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            try await HealthReportFeed(configuration: server.configuration(), keys: keys).withReports {
                messages in
                var iterator = messages.makeAsyncIterator()
                #expect(await iterator.next() == .connected)
                var rng = SplitMix(seed: 11)
                let hostile: [[UInt8]] = [
                    Array("{".utf8), Array(#"{"node":"n","ok":"maybe"}"#.utf8),
                    Array(#"{"node":"x y","ok":true}"#.utf8),
                    Array(repeating: 0x7B, count: 1 << 20),
                    (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                ]
                for payload in hostile {
                    try await client.command(
                        RedisCommand(arguments: [
                            Array("PUBLISH".utf8), Array(keys.healthReports.utf8), payload,
                        ]))
                }
                let report = HealthReport(node: "us-west-gpu-01", ok: true, latencyMs: 45, source: "test")
                try await HealthReportFeed.publish(report, client: client, keys: keys)
                try await client.command(
                    "PUBLISH", keys.healthReports, #"{"node":"us-west-gpu-01","ok":true,"latency_ms":45}"#)
                var malformed = 0
                var reports: [HealthReport] = []
                while reports.count < 2, let message = await iterator.next() {
                    switch message {
                    case .malformed: malformed += 1
                    case .report(let report): reports.append(report)
                    default: break
                    }
                }
                #expect(malformed == hostile.count)
                #expect(reports == [report, HealthReport(node: "us-west-gpu-01", ok: true, latencyMs: 45)])
            }
        }
    }
}
