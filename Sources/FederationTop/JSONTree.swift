import Foundation

/// Any JSON value, decoded without a schema so that a service answering an unexpected shape
/// (a missing field, a string where a number was) costs that field, never the whole tab.
public indirect enum JSONTree: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let value = try? c.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? c.decode(Double.self) {
            self = .number(value)
        } else if let value = try? c.decode(String.self) {
            self = .string(value)
        } else if let value = try? c.decode([JSONTree].self) {
            self = .array(value)
        } else {
            self = .object(try c.decode([String: JSONTree].self))
        }
    }

    /// Parses `data`; nil when it is not JSON.
    public static func parse(_ data: Data) -> JSONTree? {
        try? JSONDecoder().decode(JSONTree.self, from: data)
    }

    public subscript(key: String) -> JSONTree? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A finite number.
    public var double: Double? {
        if case .number(let value) = self, value.isFinite { return value }
        return nil
    }

    /// A whole number that fits `Int64` (no trap on 1e300 or NaN).
    public var int64: Int64? {
        guard let value = double, value >= -9.0e18, value <= 9.0e18 else { return nil }
        return Int64(value)
    }

    public var int: Int? { int64.flatMap { Int(exactly: $0) } }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var array: [JSONTree]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var object: [String: JSONTree]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Strings of an array of strings (other elements skipped).
    public var strings: [String] { array?.compactMap(\.string) ?? [] }

    /// Indented, key-sorted text lines (the Policies tab).
    public func prettyLines(indent: String = "") -> [String] {
        switch self {
        case .object(let object) where !object.isEmpty:
            var lines = ["{"]
            let keys = object.keys.sorted()
            for (index, key) in keys.enumerated() {
                let comma = index == keys.count - 1 ? "" : ","
                var inner = object[key]!.prettyLines(indent: indent + "  ")
                inner[0] = indent + "  " + Self.quote(key) + ": " + inner[0]
                inner[inner.count - 1] += comma
                lines += inner
            }
            lines.append(indent + "}")
            return lines
        case .array(let array) where !array.isEmpty:
            var lines = ["["]
            for (index, item) in array.enumerated() {
                var inner = item.prettyLines(indent: indent + "  ")
                inner[0] = indent + "  " + inner[0]
                if index < array.count - 1 { inner[inner.count - 1] += "," }
                lines += inner
            }
            lines.append(indent + "]")
            return lines
        default:
            return [scalarText]
        }
    }

    var scalarText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        case .string(let value): return Self.quote(value)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
