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

    @Test("the hand-written encoding reads back as the same report, whatever its strings and numbers")
    func encodingRoundTrips() throws {
        let random = SeededRandomSource(seed: 7)
        let sources = [
            "gateway-1", "q\"uote", "back\\slash", "tab\tnew\nline\r", "\u{01}\u{1f}ctl", "ünï-ç😀", "/x",
        ]
        let numbers: [Double] = [0, 1, 45, 45.5, 0.82, 1e-5, 0.1 + 0.2, 86_400_000, 123_456.789, 1.0 / 3.0]
        for index in 0..<500 {
            let report = HealthReport(
                node: NodeId(rawValue: "node-\(index)"), ok: index % 2 == 0,
                latencyMs: index % 3 == 0 ? nil : numbers[random.next(below: numbers.count)],
                tokens: index % 5 == 0 ? nil : random.next(below: 1_000_000),
                status: index % 4 == 0 ? nil : 100 + random.next(below: 500),
                queueDepth: index % 6 == 0 ? nil : random.next(below: 100),
                gpuUtilization: index % 7 == 0 ? nil : Double(random.next(below: 1001)) / 1000,
                source: index % 8 == 0 ? nil : sources[random.next(below: sources.count)],
                at: index % 9 == 0 ? nil : Int64(random.next(below: 1 << 40)))
            #expect(
                try HealthReport.parse(report.encoded()) == report,
                "\(String(decoding: report.encoded(), as: UTF8.self))")
        }
        let text = String(
            decoding: HealthReport(node: "n1", ok: true, latencyMs: 45, status: 200, source: "gw").encoded(),
            as: UTF8.self)
        #expect(text == #"{"latency_ms":45,"node":"n1","ok":true,"source":"gw","status":200}"#)
    }

    @Test func minimalReportAndUnknownFieldsAreAccepted() throws {
        let report = try HealthReport.parse(
            #"{"node":"us-west-gpu-01","ok":true,"latency_ms":45,"extra":[1,2]}"#)
        #expect(report == HealthReport(node: "us-west-gpu-01", ok: true, latencyMs: 45))
    }

    @Test(arguments: [
        (#"{"ok":true}"#, "Missing required field 'node'"),
        (#"{"node":"n"}"#, "Missing required field 'ok'"),
        (#"{"node":"n","ok":"yes"}"#, "Invalid type for 'ok': expected a boolean"),
        (#"{"node":"n","ok":true,"latency_ms":"fast"}"#, "Invalid type for 'latency_ms': expected a number"),
        (
            #"{"node":"n","ok":true,"latency_ms":-1}"#,
            "Invalid value for 'latency_ms': must be a number in 0…86400000, got -1"
        ),
        (
            #"{"node":"n","ok":true,"tokens":1.5}"#,
            "'tokens': must be a whole number in 0…1000000000; 1.5 is not a whole number"
        ),
        (#"{"node":"n","ok":true,"status":42}"#, "'status': must be a whole number in 100…599, got 42"),
        (
            #"{"node":"n","ok":true,"queue_depth":-3}"#,
            "'queue_depth': must be a whole number in 0…1000000000, got -3"
        ),
        (
            #"{"node":"n","ok":true,"gpu_utilization":1.5}"#,
            "'gpu_utilization': must be a number in 0…1, got 1.5"
        ),
        (#"{"node":"bad node","ok":true}"#, "contains ' '"),
        (#"{"node":"","ok":true}"#, "node is empty"),
        (#"{"node":null,"ok":true}"#, "Invalid type for 'node': expected a string, got null"),
        (#"[1,2,3]"#, "malformed health report"),
        (#"not json"#, "malformed health report"),
        ("", "malformed health report"),
        // 1e13 ms used to reach a trapping Duration conversion in the health leader.
        (#"{"node":"n","ok":true,"latency_ms":1e13}"#, "'latency_ms': must be a number in 0…86400000, got 1"),
        (#"{"node":"n","ok":true,"at":-9223372036854775809}"#, "'at': must be a whole number in 0…"),
        (#"{"node":"n","ok":true,"tokens":9223372036854775808}"#, "'tokens': must be a whole number"),
        (#"{"node":"nöde","ok":true}"#, "contains 'ö' (U+00F6)"),
        (String(repeating: "[", count: 513), "JSON nests deeper than 64 levels"),
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
