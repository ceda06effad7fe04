/// A guard run before `JSONDecoder` on outside bytes. Foundation's decoder traps (kills the
/// process) on a body that ends right after its 513th opening bracket (`[` × 513): a one-line
/// remote crash of every service, found by `federation-fuzz`. Refusing deep nesting before the
/// decoder sees it closes that, and no input of ours needs more than a few levels.
public enum JSONNesting {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// nil when `bytes` nest at most ``maximumDepth`` deep (strings are skipped, escapes
    /// honoured), else what is wrong. Says nothing else about the JSON's validity.
    public static func problem(in bytes: some Sequence<UInt8>) -> String? {
        // Contiguous bytes (arrays, ByteBuffer views) take the fast loop: across modules this
        // generic function is not specialised, and iterating it byte by byte through the
        // protocol was a visible share of the gateway's CPU per request.
        if let answer = bytes.withContiguousStorageIfAvailable({
            problem(inBuffer: UnsafeRawBufferPointer($0))
        }) {
            return answer
        }
        return problem(inSequence: bytes)
    }

    /// ``problem(in:)`` over raw bytes.
    public static func problem(inBuffer bytes: UnsafeRawBufferPointer) -> String? {
        problem(inSequence: bytes)
    }

    @inline(__always)
    private static func problem(inSequence bytes: some Sequence<UInt8>) -> String? {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximumDepth {
                    return "JSON nests deeper than \(maximumDepth) levels of arrays and objects"
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }
}

/// Writing JSON text by hand where an encoder would cost too much on a hot path.
public enum JSONText {
    /// Appends `value` as a JSON string literal (quotes, backslash, and control characters escaped).
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
