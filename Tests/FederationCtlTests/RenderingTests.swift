import FederationCtl
import Testing

/// Tables, numbers and durations as text, and the renderers over fixed service answers.
@Suite struct TableTests {
    @Test func columnsAlignByDisplayWidthAndRightAlignNumbers() {
        var table = Table([.init("NODE"), .init("P50", .right), .init("NOTE")])
        table.add(["a", "5 ms", "ok"])
        table.add(["東京-gpu", "120 ms", ""])
        table.add(["café", "1.2 s", "—"])
        #expect(
            table.render() == """
                NODE         P50  NOTE
                a           5 ms  ok
                東京-gpu  120 ms
                café       1.2 s  —
                """)
    }

    @Test func wideAndCombiningCharactersCountTheirCells() {
        #expect(Table.displayWidth("abc") == 3)
        #expect(Table.displayWidth("東京") == 4)
        #expect(Table.displayWidth("e\u{301}") == 1)  // e + combining acute: one grapheme, one cell
        #expect(Table.displayWidth("🚀") == 2)
        #expect(Table.displayWidth("❤️") == 2)  // U+2764 + VS16
        #expect(Table.displayWidth("\u{200B}") == 0)  // zero-width space (format)
    }

    @Test func longCellsAreCutOnCharacterBoundariesWithAnEllipsis() {
        #expect(Table.fit("abcdefgh", width: 5) == "abcd…")
        #expect(Table.fit("abc", width: 5) == "abc")
        // a wide character that would straddle the limit is left out whole
        #expect(Table.fit("ab東京", width: 4) == "ab…")
        #expect(Table.displayWidth(Table.fit("東京東京東京", width: 7)) <= 7)
        #expect(Table.fit("e\u{301}e\u{301}e\u{301}e\u{301}", width: 3) == "e\u{301}e\u{301}…")
        var table = Table([.init("ID", maxWidth: 6), .init("X")])
        table.add(["very-long-node-id", "1"])
        #expect(table.render() == "ID      X\nvery-…  1")
    }

    @Test func controlCharactersInCellsCannotReachTheTerminal() {
        var table = Table([.init("NODE")])
        table.add(["evil\u{1B}[2Jnode\u{7}"])
        let text = table.render()
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("\u{7}"))
        #expect(text.hasSuffix("evil?[2Jnode?"))
    }

    @Test func rowsArePaddedOrCutToTheColumns() {
        var table = Table([.init("A"), .init("B")])
        table.add(["1"])
        table.add(["1", "2", "3"])
        #expect(table.rows == [["1", ""], ["1", "2"]])
    }
}

@Suite struct FormatTests {
    @Test func durations() {
        #expect(Format.duration(milliseconds: 850) == "850ms")
        #expect(Format.duration(milliseconds: 4_200) == "4.2s")
        #expect(Format.duration(milliseconds: 42_000) == "42s")
        #expect(Format.duration(milliseconds: 185_000) == "3m 05s")
        #expect(Format.duration(milliseconds: 7_800_000) == "2h 10m")
        #expect(Format.duration(milliseconds: 3 * 86_400_000 + 4 * 3_600_000) == "3d 4h")
        #expect(Format.duration(milliseconds: -5) == "0ms")
        #expect(Format.duration(milliseconds: .infinity) == "-")
        #expect(Format.duration(milliseconds: 1e300) != "")  // no trap on absurd values
    }

    @Test func relativeTimes() {
        #expect(Format.relative(1_000, now: 4_200) == "3.2s ago")
        #expect(Format.relative(70_000, now: 10_000) == "in 1m 00s")
        #expect(Format.relative(nil, now: 1) == "-")
        #expect(Format.relative(Int64.min, now: Int64.max) != "")  // saturates, no trap
    }

    @Test func numbersAndCounts() {
        #expect(Format.number(42) == "42")
        #expect(Format.number(0.8200) == "0.82")
        #expect(Format.number(1e300) == "1e+300" || !Format.number(1e300).isEmpty)
        #expect(Format.count(8_000_000_000) == "8B")
        #expect(Format.count(350_000_000) == "350M")
        #expect(Format.count(1_250) == "1.3K")
        #expect(Format.milliseconds(45.4) == "45 ms")
        #expect(Format.milliseconds(nil) == "-")
    }

    @Test func durationArguments() {
        #expect(Format.parseDuration("500ms") == .milliseconds(500))
        #expect(Format.parseDuration("90s") == .seconds(90))
        #expect(Format.parseDuration("10m") == .seconds(600))
        #expect(Format.parseDuration("2h") == .seconds(7200))
        #expect(Format.parseDuration("1.5") == .milliseconds(1500))
        #expect(Format.parseDuration("-3s") == nil)
        #expect(Format.parseDuration("soon") == nil)
        #expect(Format.parseDuration("1e300") == nil)
        #expect(Format.parseDuration("nan") == nil)
    }
}

@Suite struct RendererTests {
    let now: Int64 = 1_700_000_000_000

    @Test func circuitsShowFailuresAndTimeToHalfOpen() throws {
        let answer = try #require(
            JSON.parse(
                """
                {"role":"leader","leader":"h1","circuits":[
                 {"node":"a","state":"open","stored_state":"open","consecutive_failures":5,"trips":2,
                  "half_open_successes":0,"opened_at":1699999990000,"open_until":1700000185000},
                 {"node":"b","state":"closed","stored_state":"closed","consecutive_failures":2,"trips":0,
                  "half_open_successes":0},
                 {"node":"c","state":"half_open","stored_state":"open","consecutive_failures":5,"trips":1,
                  "open_until":1699999999000, "future_field": {"x": 1}}]}
                """))
        let text = Ctl.renderCircuits(answer, now: now)
        #expect(
            text == """
                NODE  STATE      FAILURES  TRIPS  HALF-OPEN OK  OPENED   HALF-OPEN IN
                a     open              5      2             0  10s ago  3m 05s
                b     closed            2      0             0  -        -
                c     half_open         5      1             -  -        now
                """)
        #expect(Ctl.halfOpenIn(answer["circuits"]!.array![0], now: now) == 185_000)
        #expect(Ctl.halfOpenIn(answer["circuits"]!.array![1], now: now) == nil)
    }

    @Test func missingAndMistypedFieldsShowAsDashes() throws {
        let answer = try #require(
            JSON.parse(#"{"nodes":[{"id":"n1","gpu":"maybe","cost":"cheap","models":"m1"},{"region":7}]}"#))
        let text = Ctl.renderNodes(answer, now: now)
        #expect(text.contains("n1"))
        #expect(text.contains("permanent"))
        #expect(text.split(separator: "\n").count == 4)  // header, two rows, summary
        // a nonsense answer renders as "nothing there", not a crash
        #expect(Ctl.renderNodes(.string("?"), now: now).hasPrefix("no nodes"))
        #expect(Ctl.renderCircuits(.array([]), now: now).hasPrefix("no circuits"))
        #expect(Ctl.renderHealth(.null, now: now).contains("no health records"))
        #expect(!Ctl.renderStats(.object([:])).isEmpty)
        #expect(!Ctl.renderCandidates(.number(1e308)).isEmpty)
    }

    @Test func candidateTableHasAColumnPerPolicyAndTheRejections() throws {
        let answer = try #require(
            JSON.parse(
                """
                {"capability":"generate","model":null,"strategy":"least_latency","eligible_count":1,
                 "decision":{"node":"eu-1","region":"eu-west","score":0.74},"error":null,
                 "candidates":[
                  {"node":"eu-1","region":"eu-west","model":"m1","eligible":true,"score":0.74,
                   "scores":[{"policy":"health","weight":2,"score":1},{"policy":"latency","weight":1,"score":0.976}],
                   "health":"healthy","circuit":"closed","in_flight":0,"estimated_latency_ms":120,"rejection":null},
                  {"node":"us-1","region":"us-west","model":"m1","eligible":false,"score":0.1,"scores":[],
                   "health":"unknown","circuit":"open","in_flight":3,
                   "rejection":{"policy":"circuit","reason":"circuit breaker is open"}}]}
                """))
        let text = Ctl.renderCandidates(answer)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "capability generate, model any, strategy least_latency, eligible 1 of 2")
        #expect(lines[1] == "decision: eu-1 (eu-west, score 0.74)")
        #expect(lines[2].hasPrefix("NODE  REGION   MODEL  OK   SCORE  HEALTH  LATENCY  STATE    CIRCUIT"))
        #expect(lines[3].contains("1.000") && lines[3].contains("0.976") && lines[3].contains("120 ms"))
        #expect(lines[4].hasSuffix("circuit: circuit breaker is open"))
    }

    @Test func clusterStatsHaveARowPerReplicaAndATotal() throws {
        let answer = try #require(
            JSON.parse(
                """
                {"scope":"cluster","live_replicas":2,"total_requests":30,"successful_requests":27,
                 "failed_requests":3,"total_tokens":400,"average_latency_ms":41.5,"active_streams":1,
                 "unreadable_replicas":0,"replicas":[
                  {"gateway":"gw-1","scope":"replica","total_requests":20,"successful_requests":19,"failed_requests":1,
                   "total_tokens":300,"average_latency_ms":40,"active_streams":1},
                  {"gateway":"gw-2","scope":"replica","total_requests":10,"successful_requests":8,"failed_requests":2,
                   "total_tokens":100,"average_latency_ms":44,"active_streams":0}]}
                """))
        let lines = Ctl.renderStats(answer).split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("gw-1") && lines[1].contains("95.0%"))
        #expect(
            lines[3].hasPrefix("TOTAL (2 live)") && lines[3].contains("90.0%") && lines[3].contains("42 ms"))
    }

    @Test func policyFieldsBecomeANestedMergePatch() throws {
        let patch = try PolicyChange.patch(fields: [
            "strategy=round_robin", "min_score=0.2", "weights.locality=2", "weights.latency=1",
            #"regions.ap-south={"privacy":"public","cost":0.3}"#, "max_latency_ms=null",
        ])
        #expect(
            patch.text(pretty: false)
                == #"{"max_latency_ms":null,"min_score":0.2,"regions":{"ap-south":{"cost":0.3,"privacy":"public"}},"#
                + #""strategy":"round_robin","weights":{"latency":1,"locality":2}}"#)
        #expect(throws: CtlError.self) { try PolicyChange.patch(fields: ["strategy"]) }
        #expect(throws: CtlError.self) { try PolicyChange.patch(fields: ["weights..x=1"]) }
    }

    @Test func sseEventsAreDecodedAcrossChunkBoundaries() {
        var decoder = SSEDecoder()
        #expect(decoder.feed(Array("data: {\"a\":".utf8)) == [])
        #expect(
            decoder.feed(Array("1}\n\ndata: x\r\n\r\n: comment\n\ndata: [DONE]".utf8)) == [#"{"a":1}"#, "x"])
        #expect(decoder.feed(Array("\n\n".utf8)) == ["[DONE]"])
    }

    @Test func modelArguments() {
        #expect(ModelSpec(argument: "llama-3-8b=generate+code")?.capabilities == ["generate", "code"])
        #expect(ModelSpec(argument: "meta/llama=embed,generate")?.name == "meta/llama")
        #expect(ModelSpec(argument: "m1") == nil)
        #expect(ModelSpec(argument: "=embed") == nil)
        #expect(ModelSpec(argument: "m1=") == nil)
    }
}

/// What fedctl and `fedctl top` decode every service answer with.
@Suite struct JSONParsingTests {
    @Test func deepNestingIsRefusedBeforeFoundationSeesIt() {
        // Foundation's JSONDecoder traps past ~512 levels; the nesting guard answers nil instead.
        #expect(JSON.parse(String(repeating: "[", count: 100_000)) == nil)
        #expect(JSON.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) == nil)
        let shallow = String(repeating: "[", count: 10) + "1" + String(repeating: "]", count: 10)
        #expect(JSON.parse(shallow) != nil)
    }

    @Test func numbersOutsideEveryIntegerTypeAreAbsentNotATrap() {
        let value = JSON.parse(#"{"a":1e300,"b":-1e300,"c":42}"#)
        #expect(value?["a"]?.int64 == nil)
        #expect(value?["b"]?.int == nil)
        #expect(value?["c"]?.int == 42)
    }
}
