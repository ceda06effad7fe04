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
