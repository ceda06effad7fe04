import FederationFuzzing
import Testing

@Suite("federation-fuzz")
struct FuzzingTests {
    @Test func mutationsRepeatFromTheSeed() {
        let seed = Array(#"{"capability":"generate","qos":{"max_latency_ms":200}}"#.utf8)
        let a = Mutator(seed: 42)
        let b = Mutator(seed: 42)
        for _ in 0..<200 { #expect(a.mutate(seed, other: seed) == b.mutate(seed, other: seed)) }
    }

    @Test func numberSubstitutionProducesHostileNumbers() {
        let mutator = Mutator(seed: 3)
        let seed = Array(#"{"latency_ms":45}"#.utf8)
        let outputs = (0..<500).map { _ in String(decoding: mutator.mutate(seed, other: seed), as: UTF8.self)
        }
        #expect(
            outputs.contains {
                $0.contains("1e13") || $0.contains("1e308") || $0.contains("9223372036854775808")
            })
    }

    @Test("a short run over every control-plane decoder finds no failures")
    func shortRunIsClean() async throws {
        let reports = try await FuzzSession.run(
            selected: Set(FuzzTarget.controlPlane.map(\.name)), seed: 7, seconds: 60, maxInputs: 300,
            corpus: { _ in [Array(#"{"node":"n1","ok":true,"latency_ms":1e13,"capability":"generate"}"#.utf8)]
            })
        #expect(reports.count == FuzzTarget.controlPlane.count)
        for report in reports {
            #expect(report.inputs == 300)
            #expect(report.failures == 0, "\(report.target): \(report.firstFailure ?? "")")
        }
    }
}
