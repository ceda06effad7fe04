import FederationCore
import Foundation

/// Any JSON value, decoded without a schema: what fedctl reads from the services. Every accessor is
/// optional, so a missing field or one of an unexpected type is shown as absent (`-`), never a crash,
/// and fields a newer service adds are simply not shown.
public enum JSON: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// Parses `bytes`; nil when they are not JSON (or nest deeper than 64 levels).
    public static func parse(_ bytes: [UInt8]) -> JSON? {
        guard JSONNesting.problem(in: bytes) == nil else { return nil }
        return try? JSONDecoder().decode(JSON.self, from: Data(bytes))
    }

    /// Parses `text`; nil when it is not JSON.
    public static func parse(_ text: String) -> JSON? { parse(Array(text.utf8)) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The member `key` of an object (nil for anything else).
    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
    public var double: Double? {
        if case .number(let value) = self, value.isFinite { return value }
        return nil
    }
    /// A whole number that fits `Int64` (checked: no trap on `1e300`).
    public var int64: Int64? { double.flatMap { Int64(checked: $0) } }
    /// A whole number that fits `Int` (checked).
    public var int: Int? { double.flatMap { Int(checked: $0) } }
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
    public var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }
    public var object: [String: JSON]? {
        if case .object(let value) = self { return value }
        return nil
    }
    /// The strings of an array (other elements skipped).
    public var strings: [String] { array?.compactMap(\.string) ?? [] }

    /// Compact text of a scalar for a table cell (`-` for null); objects and arrays as JSON.
    public var cellText: String {
        switch self {
        case .null: "-"
        case .bool(let value): value ? "yes" : "no"
        case .number(let value): Format.number(value)
        case .string(let value): value
        case .array, .object: text(pretty: false)
        }
    }

    /// JSON text, keys sorted (pretty: indented).
    public func text(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty
            ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}
