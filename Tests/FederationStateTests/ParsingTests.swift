import FederationCore
import FederationState
import Testing

@Suite struct HealthReportParsingTests {
    @Test func parsesTheFullSchema() throws {
        let report = try HealthReport.parse(
            #"{"node":"us-west-gpu-01","ok":false,"latency_ms":45.5,"tokens":128,"status":503,"queue_depth":3,"gpu_utilization":0.82,"source":"gateway-1","at":1700000000000}"#
        )
        #expect(
            report
                == HealthReport(
                    node: "us-west-gpu-01", ok: false, latencyMs: 45.5, tokens: 128, status: 503,
                    queueDepth: 3,
                    gpuUtilization: 0.82, source: "gateway-1", at: 1_700_000_000_000))
        #expect(try HealthReport.parse(report.encoded()) == report)
    }

    @Test func minimalReportAndUnknownFieldsAreAccepted() throws {
        let report = try HealthReport.parse(
            #"{"node":"us-west-gpu-01","ok":true,"latency_ms":45,"extra":[1,2]}"#)
        #expect(report == HealthReport(node: "us-west-gpu-01", ok: true, latencyMs: 45))
    }

    @Test(arguments: [
        (#"{"ok":true}"#, "missing field 'node'"),
        (#"{"node":"n"}"#, "missing field 'ok'"),
        (#"{"node":"n","ok":"yes"}"#, "field 'ok': expected Bool"),
        (#"{"node":"n","ok":true,"latency_ms":"fast"}"#, "field 'latency_ms': expected Double"),
        (#"{"node":"n","ok":true,"latency_ms":-1}"#, "latency_ms must be a non-negative number"),
        (#"{"node":"n","ok":true,"tokens":1.5}"#, "malformed health report"),
        (#"{"node":"n","ok":true,"status":42}"#, "status must be an HTTP status"),
        (#"{"node":"n","ok":true,"queue_depth":-3}"#, "queue_depth must be ≥ 0"),
        (#"{"node":"n","ok":true,"gpu_utilization":1.5}"#, "gpu_utilization must be in 0…1"),
        (#"{"node":"bad node","ok":true}"#, "contains ' '"),
        (#"{"node":"","ok":true}"#, "node is empty"),
        (#"{"node":null,"ok":true}"#, "field 'node'"),
        (#"[1,2,3]"#, "malformed health report"),
        (#"not json"#, "malformed health report"),
        ("", "malformed health report"),
    ])
    func malformedReportsFailClearly(payload: String, expected: String) {
        do {
            let report = try HealthReport.parse(payload)
            Issue.record("accepted \(payload) as \(report)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.httpStatus == 400)
        }
    }

    @Test func hostileBytesNeverCrash() {
        var rng = SplitMix(seed: 7)
        for length in [1, 7, 64, 1000, 65_000] {
            let garbage = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(throws: FederationError.self) { try HealthReport.parse(garbage) }
        }
        let huge =
            Array(#"{"node":"n","ok":true,"source":""#.utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 1 << 20)
            + Array(#""}"#.utf8)
        do {
            _ = try HealthReport.parse(huge)
            Issue.record("accepted a 1 MiB report")
        } catch { #expect(error.message.contains("exceeds")) }
    }
}

@Suite struct FederationEventParsingTests {
    @Test func parsesAndChecksTheChannelFamily() throws {
        let payload = Array(#"{"family":"health","version":7,"kind":"health","node":"n1","at":1}"#.utf8)
        let event = try FederationEvent.parse(payload, channel: .health)
        #expect(event == FederationEvent(family: .health, version: 7, kind: "health", node: "n1", at: 1))
        #expect(throws: FederationError.self) { try FederationEvent.parse(payload, channel: .catalog) }
    }

    @Test(arguments: [
        #"{"family":"health","version":"7","kind":"x"}"#, #"{"family":"health","version":-1,"kind":"x"}"#,
        #"{"family":"health","version":0,"kind":"x"}"#, #"{"family":"weather","version":1,"kind":"x"}"#,
        #"{"family":"health","version":1,"kind":"x","node":"a b"}"#, #"{"version":1}"#, "null", "{",
        "\u{0}\u{1}",
    ])
    func rejectsMalformedEvents(payload: String) {
        #expect(throws: FederationError.self) {
            try FederationEvent.parse(Array(payload.utf8), channel: .health)
        }
    }
}
