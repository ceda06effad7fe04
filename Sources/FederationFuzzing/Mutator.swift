import FederationCore

/// Makes new inputs from corpus entries with a seeded RNG, so a run is repeatable from its seed:
/// byte flips, insertions, deletions, splices of two entries, substitution of numbers with extreme
/// values, truncation, repetition and deep nesting.
public struct Mutator: Sendable {
    let random: SeededRandomSource

    public init(seed: UInt64) { random = SeededRandomSource(seed: seed) }

    /// Numbers that broke parsers before (or could): beyond every integer type, not finite in
    /// spirit, negative where counts belong, fractional where integers belong.
    public static let hostileNumbers: [String] = [
        "1e13", "-1", "0", "-0", "1.5", "1e308", "-1e308", "1e309", "1e-400", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e30", "4294967296",
        "2147483648", "123456789012345678901234567890", "0.0000001", "NaN", "Infinity", "-Infinity",
        "\"NaN\"", "\"1e13\"", "1E+400", "-1e-7", "65536", "99999999999999999999",
    ]

    /// Fragments spliced in: structure, escapes and bytes that are not UTF-8.
    static let fragments: [[UInt8]] = [
        Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array(",".utf8),
        Array(":".utf8), Array("null".utf8), Array("true".utf8), Array("\\u0000".utf8), Array("\\ud800".utf8),
        Array("ö".utf8), Array("\u{1F600}".utf8), [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00],
        Array("\r\n".utf8),
        Array("--".utf8),
    ]

    /// One mutated input derived from `input` (and, for splices, `other`), at most `limit` bytes.
    public func mutate(_ input: [UInt8], other: [UInt8], limit: Int = 64 * 1024) -> [UInt8] {
        var bytes = input
        for _ in 0...random.next(below: 3) {
            apply(random.next(below: 9), to: &bytes, other: other)
        }
        if bytes.count > limit { bytes.removeLast(bytes.count - limit) }
        return bytes
    }

    private func apply(_ operation: Int, to bytes: inout [UInt8], other: [UInt8]) {
        switch operation {
        case 0 where !bytes.isEmpty:  // flip a bit
            let index = random.next(below: bytes.count)
            bytes[index] ^= UInt8(1) << UInt8(random.next(below: 8))
        case 1:  // insert a fragment
            let fragment = Self.fragments[random.next(below: Self.fragments.count)]
            bytes.insert(contentsOf: fragment, at: random.next(below: bytes.count + 1))
        case 2 where !bytes.isEmpty:  // delete a range
            let start = random.next(below: bytes.count)
            let end = min(bytes.count, start + 1 + random.next(below: 16))
            bytes.removeSubrange(start..<end)
        case 3 where !other.isEmpty:  // splice: a prefix of this one and a suffix of the other
            let cut = random.next(below: bytes.count + 1)
            let from = random.next(below: other.count)
            bytes = Array(bytes[..<cut]) + Array(other[from...])
        case 4, 5:  // replace a number (or a string value) with a hostile number
            replaceNumber(in: &bytes)
        case 6 where !bytes.isEmpty:  // truncate
            bytes.removeLast(random.next(below: bytes.count))
        case 7 where !bytes.isEmpty:  // repeat a chunk
            let start = random.next(below: bytes.count)
            let end = min(bytes.count, start + 1 + random.next(below: 32))
            let chunk = bytes[start..<end]
            for _ in 0..<(1 + random.next(below: 8)) { bytes.insert(contentsOf: chunk, at: end) }
        case 8:  // nest deeply
            let depth = 1 + random.next(below: 600)
            let open: UInt8 = random.next(below: 2) == 0 ? UInt8(ascii: "[") : UInt8(ascii: "{")
            bytes = Array(repeating: open, count: depth) + bytes
        default:
            replaceNumber(in: &bytes)
        }
    }

    /// Replaces one run of number characters (or the value after a `:`) with a hostile number.
    private func replaceNumber(in bytes: inout [UInt8]) {
        let replacement = Array(Self.hostileNumbers[random.next(below: Self.hostileNumbers.count)].utf8)
        let starts = bytes.indices.filter { index in
            let byte = bytes[index]
            let isNumberStart = byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte)
            return isNumberStart && (index == 0 || !Self.isNumberByte(bytes[index - 1]))
        }
        guard !starts.isEmpty else {
            bytes.insert(contentsOf: replacement, at: random.next(below: bytes.count + 1))
            return
        }
        let start = starts[random.next(below: starts.count)]
        var end = start + 1
        while end < bytes.count, Self.isNumberByte(bytes[end]) { end += 1 }
        bytes.replaceSubrange(start..<end, with: replacement)
    }

    static func isNumberByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }
}
