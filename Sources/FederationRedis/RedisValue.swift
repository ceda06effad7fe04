/// One reply from Redis, copied out of hiredis's reply tree into a value that can cross threads.
///
/// RESP2 has five reply types; hiredis reports a nil bulk string and a nil array both as nil.
public enum RedisValue: Sendable, Hashable, CustomStringConvertible {
    /// A bulk string: arbitrary bytes (binary-safe).
    case bulk([UInt8])
    /// A status reply such as `OK` or `QUEUED`.
    case status(String)
    /// An integer reply.
    case integer(Int64)
    /// An array reply (for example `HGETALL`, `EXEC`, a Lua table).
    case array([RedisValue])
    /// A nil reply (missing key, aborted `EXEC`).
    case null
    /// An error reply, e.g. `WRONGTYPE Operation against a key…`; the text is Redis's own.
    case error(String)

    /// A bulk string from UTF-8 text.
    public static func string(_ text: String) -> RedisValue { .bulk(Array(text.utf8)) }

    /// The bytes of a bulk string (or of a status), else nil.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .status(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The text of a bulk string or status (bytes decoded as UTF-8, invalid sequences repaired), else nil.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (as `GET` of a counter returns).
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of an array reply, else nil.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// True for a nil reply.
    public var isNull: Bool { self == .null }

    /// The message of an error reply, else nil.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// An array of alternating field/value bulk strings (the `HGETALL` shape) as a dictionary.
    /// nil when the reply is not such an array.
    public var hashFields: [String: String]? {
        guard case .array(let elements) = self, elements.count % 2 == 0 else { return nil }
        var fields: [String: String] = [:]
        fields.reserveCapacity(elements.count / 2)
        var index = 0
        while index < elements.count {
            guard let key = elements[index].string, let value = elements[index + 1].string else { return nil }
            fields[key] = value
            index += 2
        }
        return fields
    }

    public var description: String {
        switch self {
        case .bulk(let bytes):
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            return bytes.count > 200 ? "\"\(text)…\" (\(bytes.count) bytes)" : "\"\(text)\""
        case .status(let text): return text
        case .integer(let value): return "(integer) \(value)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .null: return "(nil)"
        case .error(let message): return "(error) \(message)"
        }
    }
}
