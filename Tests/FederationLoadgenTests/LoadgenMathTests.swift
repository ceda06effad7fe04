import Testing

@testable import federation_loadgen

@Suite struct LoadgenScheduleTests {
    @Test func slicesInterleaveTargetsAndGiveEachTheFullDuration() {
        let slices = SliceSchedule.slices(targets: 2, durationNs: 2_500, warmupNs: 100, sliceNs: 1_000)
        // warm-up a, warm-up b, then rounds a, b of 1000, 1000, 500
        #expect(slices.map(\.target) == [0, 1, 0, 1, 0, 1, 0, 1])
        #expect(slices.prefix(2).allSatisfy { !$0.measured })
        #expect(slices.dropFirst(2).allSatisfy { $0.measured })
        #expect(slices.map(\.lengthNs) == [100, 100, 1_000, 1_000, 1_000, 1_000, 500, 500])
        // back to back: each slice starts where the previous one ended
        for (earlier, later) in zip(slices, slices.dropFirst()) {
            #expect(later.startNs == earlier.startNs + earlier.lengthNs)
        }
        for target in 0..<2 {
            #expect(
                slices.filter { $0.target == target && $0.measured }.map(\.lengthNs).reduce(0, +) == 2_500)
        }
    }

    @Test func arrivalsFollowTheRateFromTheIndexWithoutDrift() {
        let arrivals = ArrivalSchedule(rate: 2_500)
        #expect(arrivals.count(inSliceOfLength: 1_000_000_000) == 2_500)
        #expect(arrivals.offsetNs(ofRequest: 0) == 0)
        #expect(arrivals.offsetNs(ofRequest: 1) == 400_000)
        // a million requests later still exactly on the grid (no accumulated rounding)
        #expect(arrivals.offsetNs(ofRequest: 1_000_000) == 400_000_000_000)
        let third = ArrivalSchedule(rate: 3)
        #expect(third.count(inSliceOfLength: 1_000_000_000) == 3)
        #expect(third.offsetNs(ofRequest: 2) == 666_666_667)
    }
}

@Suite struct LoadgenMeasurementTests {
    @Test func percentilesComeFromTheRecordedLatencies() throws {
        var recorder = LatencyRecorder()
        for ms in 1...1_000 { recorder.record(nanoseconds: UInt64(ms) * 1_000_000) }
        let summary = try #require(recorder.summary)
        #expect(summary.count == 1_000)
        #expect(abs(summary.p50 - 500) <= 0.5)
        #expect(abs(summary.p99 - 990) <= 1)
        #expect(abs(summary.p999 - 999) <= 1)
        #expect(abs(summary.max - 1_000) <= 1)
        #expect(LatencyRecorder().summary == nil)
    }

    @Test func sseFramesAreCountedHoweverTheBodyIsCut() {
        let body = Array("data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: comment\n\ndata: [DONE]\n\n".utf8)
        for cut in 0...body.count {
            var scanner = SSEFrameScanner()
            let counted = scanner.feed(body[..<cut]) + scanner.feed(body[cut...])
            #expect(counted == 2, "cut at \(cut)")
            #expect(scanner.sawDone)
        }
        var byteByByte = SSEFrameScanner()
        var frames = 0
        for byte in body { frames += byteByByte.feed([byte]) }
        #expect(frames == 2 && byteByByte.dataFrames == 2)
        var unfinished = SSEFrameScanner()
        #expect(unfinished.feed(Array("data: {\"a\":1}\n".utf8)) == 0)
        #expect(!unfinished.sawDone)
    }

    @Test func targetsParseOrSayWhatIsWrong() throws {
        let target = try Target(parsing: "gw=http://127.0.0.1:8080/v1/chat/completions")
        #expect(target == Target(name: "gw", host: "127.0.0.1", port: 8080, path: "/v1/chat/completions"))
        #expect(try Target(parsing: "http://localhost:9").name == "localhost:9")
        #expect(try Target(parsing: "http://localhost:9").path == "/")
        for bad in ["https://x:1/", "http://x/", "http://x:99999/", "http://x:abc/", "=http://x:1/"] {
            #expect(throws: LoadgenError.self) { try Target(parsing: bad) }
        }
    }
}
