import FederationCore
import Foundation
import Testing

@Suite("Checked conversions of outside numbers")
struct CheckedNumberTests {
    @Test(arguments: [1e13, 1e19, 1e308, -1e308, Double.infinity, -Double.infinity, Double.nan])
    func durationFromHostileMillisecondsNeverTraps(value: Double) {
        // The standard library's (and our former) Duration.milliseconds(Double) trapped on these.
        let duration = Duration.milliseconds(value)
        #expect(duration <= Duration.maximumFromDouble)
        #expect(duration >= .nanoseconds(Int64.min))
        _ = Duration.seconds(value)
        let checked = Duration.milliseconds(checked: value)
        if value.isFinite, abs(value) <= Duration.maximumMilliseconds {
            #expect(checked == .nanoseconds(Int64((value * 1_000_000).rounded())))
        } else {
            #expect(checked == nil)
        }
    }

    @Test func checkedDurationsKeepOrdinaryValues() {
        #expect(Duration.milliseconds(checked: 1.5) == .microseconds(1500))
        #expect(Duration.seconds(checked: 2) == .seconds(2))
        #expect(Duration.seconds(checked: 1e300) == nil)
        #expect(Duration.milliseconds(Double.nan) == .zero)
    }

    @Test func integersFromDoublesAreCheckedOrSaturated() {
        #expect(Int(checked: 1.5) == nil)
        #expect(Int(checked: 1e30) == nil)
        #expect(Int(checked: .nan) == nil)
        #expect(Int(checked: 42) == 42)
        #expect(UInt64(checked: -1) == nil)
        #expect(Int64(saturating: 1e30) == .max)
        #expect(Int64(saturating: -1e30) == .min)
        #expect(Int64(saturating: 9_223_372_036_854_775_807.0) == .max)  // rounds to 2^63
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int32(saturating: -2.9) == -2)
    }

    @Test func timestampArithmeticSaturates() {
        let far = Timestamp(milliseconds: .max - 5)
        #expect(far.advanced(by: .seconds(3600)).milliseconds == .max)
        #expect(Timestamp(milliseconds: .min).duration(since: Timestamp(milliseconds: .max)) < .zero)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Timestamp(checkedMilliseconds: .infinity) == nil)
        #expect(Timestamp(checkedMilliseconds: 1_700_000_000_000.7)?.milliseconds == 1_700_000_000_000)
    }

    @Test func saturatingIntegerOperations() {
        #expect(Int64.max.saturatingAdd(1) == .max)
        #expect(Int64.min.saturatingSubtract(1) == .min)
        #expect(Int64.min.saturatingMultiply(-1) == .max)
        #expect(Int64(-3).saturatingMultiply(Int64.max) == .min)
        #expect(Int64(6).saturatingMultiply(7) == 42)
    }
}

@Suite("The decoding-error translator")
struct DecodingProblemTests {
    func problem<T: Decodable>(_ type: T.Type, _ json: String) -> DecodingProblem? {
        do {
            _ = try JSONDecoder().decode(T.self, from: Data(json.utf8))
            return nil
        } catch {
            return DecodingProblem(error, bodyIsJSON: true)
        }
    }

    @Test func outOfRangeMillisecondsNameTheField() throws {
        let p = try #require(problem(QoSRequirements.self, #"{"max_latency_ms":1e13}"#))
        #expect(p.field == "max_latency_ms")
        #expect(p.kind == .invalidValue)
        #expect(p.message.contains("must be a number in 0…86400000"), "\(p.message)")
    }

    @Test(
        "integers that Foundation calls 'not valid JSON' name their field and say why",
        arguments: [
            (#"{"cost_tolerance":1e30}"#, "cost_tolerance", "out of range"),
            (#"{"cost_tolerance":1.5}"#, "cost_tolerance", "not a whole number"),
            (#"{"cost_tolerance":-1}"#, "cost_tolerance", "got -1"),
        ])
    func integersNameTheirField(json: String, field: String, says: String) throws {
        let p = try #require(problem(QoSRequirements.self, json))
        #expect(p.field == field)
        #expect(p.message.contains(says), "\(p.message)")
        #expect(!p.message.contains("not valid JSON"))
    }

    @Test func policyIntegersNameTheirField() throws {
        let p = try #require(problem(RoutingPolicyDocument.self, #"{"max_candidates":1.5}"#))
        #expect(p.field == "max_candidates")
        #expect(p.message.contains("1…1000"), "\(p.message)")
    }

    @Test func unknownEnumValuesListTheValidOnes() throws {
        let p = try #require(problem(RoutingPolicyDocument.self, #"{"strategy":"fastest"}"#))
        #expect(p.field == "strategy")
        #expect(!p.message.contains("Cannot initialize"), "\(p.message)")
        for strategy in LoadBalanceStrategy.allCases {
            #expect(p.message.contains(strategy.rawValue), "\(p.message)")
        }
        let privacy = try #require(problem(QoSRequirements.self, #"{"privacy":"secret"}"#))
        #expect(
            privacy.message == "Invalid value for 'privacy': unknown privacy level 'secret'; "
                + "expected one of public, internal, confidential, restricted.")
    }

    @Test func nestedPathsUseIndexes() throws {
        struct Outer: Decodable { var items: [QoSRequirements] }
        let p = try #require(problem(Outer.self, #"{"items":[{},{"prefer_gpu":"yes"}]}"#))
        #expect(p.field == "items[1].prefer_gpu")
        #expect(p.kind == .wrongType)
        #expect(p.message == "Invalid type for 'items[1].prefer_gpu': expected a boolean, found a string.")
    }

    @Test func missingFieldsAndBrokenJSON() throws {
        struct Needs: Decodable { var capability: Capability }
        let missing = try #require(problem(Needs.self, "{}"))
        #expect(missing.message == "Missing required field 'capability'.")
        #expect(missing.kind == .missing)
        do {
            _ = try JSONDecoder().decode(Needs.self, from: Data("{".utf8))
        } catch {
            #expect(DecodingProblem(error, bodyIsJSON: false).kind == .notJSON)
        }
    }
}

@Suite("Enum-like values and identifiers")
struct WireRuleTests {
    @Test(
        "one case rule: every enum-like field ignores case", arguments: ["generate", "Generate", "GENERATE"])
    func capabilityIgnoresCase(text: String) throws {
        #expect(try Capability(parsing: text) == .generate)
    }

    @Test func everyEnumLikeFieldFollowsTheSameRule() throws {
        #expect(try PrivacyLevel(parsing: "PUBLIC") == .public)
        #expect(try LoadBalanceStrategy(parsing: "Round_Robin") == .roundRobin)
        #expect(HealthState.matching("Healthy") == .healthy)
        #expect(CircuitState.matching("HALF_OPEN") == .halfOpen)
        #expect(try Capability(parsing: "Custom:MyCap") == .custom("MyCap"))  // the name keeps its case
        #expect(throws: FederationError.self) { try Capability(parsing: "generat") }
        #expect(LoadBalanceStrategy.matching("ROUND_ROBİN") == nil)  // no Unicode case folding
    }

    @Test func nonASCIIIdsNameTheUnicodeScalar() throws {
        let problem = try #require(Identifier.problem(with: "nöde-1", kind: "node id"))
        #expect(problem.contains("contains 'ö' (U+00F6)"), "\(problem)")
        #expect(!problem.contains("Ã"))
        let control = try #require(Identifier.problem(with: "a\u{0}b", kind: "node id"))
        #expect(control.contains("U+0000"), "\(control)")
        let emoji = try #require(Identifier.problem(with: "n\u{1F600}", kind: "model"))
        #expect(emoji.contains("U+1F600"), "\(emoji)")
    }

    @Test func deepNestingIsRefusedBeforeTheDecoder() {
        // Foundation's JSONDecoder traps on exactly this body (found by federation-fuzz).
        #expect(JSONNesting.problem(in: Array(repeating: UInt8(ascii: "["), count: 513)) != nil)
        #expect(
            JSONNesting.problem(
                in: Array(
                    #"{"a":[[{"b":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]]}"#
                        .utf8)) == nil)
        let escaped = Array(#"["\"[[[["]"#.utf8)
        #expect(JSONNesting.problem(in: escaped) == nil)
    }
}
