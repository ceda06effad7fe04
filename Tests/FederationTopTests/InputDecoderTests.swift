import FederationTop
import Testing

/// Bytes → keys: every key, sequences split across reads, and garbage that must never crash.
@Suite struct InputDecoderTests {
    func keys(_ bytes: [UInt8]) -> [TopKey] {
        var decoder = InputDecoder()
        return decoder.feed(bytes)
    }

    @Test func everyKey() {
        #expect(keys(Array("123456".utf8)) == [.tab(1), .tab(2), .tab(3), .tab(4), .tab(5), .tab(6)])
        #expect(keys(Array("?".utf8)) == [.help])
        #expect(keys([0x09]) == [.nextTab])
        #expect(keys([0x1B, 0x5B, 0x5A]) == [.previousTab])
        #expect(keys(Array("jk".utf8)) == [.down, .up])
        #expect(keys([0x1B, 0x5B, 0x41, 0x1B, 0x5B, 0x42]) == [.up, .down])
        #expect(keys([0x1B, 0x4F, 0x41, 0x1B, 0x4F, 0x42]) == [.up, .down])  // application cursor mode
        #expect(keys(Array("\u{1B}[5~\u{1B}[6~ ".utf8)) == [.pageUp, .pageDown, .pageDown])
        #expect(keys(Array("q".utf8)) == [.quit])
        #expect(keys([0x03]) == [.interrupt])
        #expect(keys(Array("7890xyz".utf8)).isEmpty)
    }

    @Test func aSequenceSplitAcrossReadsIsCompletedByTheNextRead() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]).isEmpty)
        #expect(decoder.isPending)
        #expect(decoder.feed([0x5B]).isEmpty)
        #expect(decoder.feed([0x42, UInt8(ascii: "j")]) == [.down, .down])
        #expect(!decoder.isPending)
        #expect(decoder.feed([0x1B, 0x5B, 0x35]).isEmpty)
        #expect(decoder.feed([0x7E]) == [.pageUp])
    }

    @Test func unknownSequencesAreDroppedAndTheKeysAfterThemStillCount() {
        // F5 (ESC [ 1 5 ~), a mouse report, Alt-x, ESC ESC [ A.
        #expect(keys(Array("\u{1B}[15~1".utf8)) == [.tab(1)])
        #expect(keys(Array("\u{1B}[<0;12;5M2".utf8)) == [.tab(2)])
        #expect(keys(Array("\u{1B}x3".utf8)) == [.tab(3)])
        #expect(keys(Array("\u{1B}4".utf8)) == [.tab(4)])  // a lone Escape, then a key
        #expect(keys([0x1B, 0x1B, 0x5B, 0x41]) == [.up])
        // An endless parameter run is abandoned at the length limit, then input goes on.
        let long = keys([0x1B, 0x5B] + Array(repeating: UInt8(ascii: "1"), count: 100) + Array("q".utf8))
        #expect(long.last == .quit)
        #expect(long.count == 100 - 14 + 1)  // 14 digits went with the abandoned sequence
    }

    @Test func aPendingLoneEscapeCanBeReset() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]).isEmpty)
        decoder.reset()
        #expect(!decoder.isPending)
        #expect(decoder.feed(Array("[A".utf8)).isEmpty)  // no longer an arrow
    }

    @Test func anyBytesDecodeWithoutCrashingAndOnlyToKnownKeys() {
        var generator = SplitMix(seed: 0x5EED)
        var decoder = InputDecoder()
        var total = 0
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 24)
            var chunk: [UInt8] = []
            for _ in 0..<length {
                // Bias towards the interesting bytes.
                let pick = generator.next() % 4
                chunk.append(
                    pick == 0
                        ? 0x1B : pick == 1 ? UInt8(ascii: "[") : UInt8(truncatingIfNeeded: generator.next()))
            }
            total += decoder.feed(chunk).count
        }
        #expect(total > 0)
        // Every byte value alone, and every pair after ESC [.
        for byte in 0...255 {
            _ = keys([UInt8(byte)])
            _ = keys([0x1B, UInt8(byte)])
            _ = keys([0x1B, 0x5B, UInt8(byte)])
        }
    }
}

/// A tiny deterministic generator for the fuzz loop.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
