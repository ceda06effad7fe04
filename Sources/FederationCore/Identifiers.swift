/// Identifiers of the federation's things. Each wraps a non-empty string; they are distinct
/// types so a node id can never be passed where a model id is expected.

/// A model, e.g. `llama-3-8b-instruct` or `whisper-large-v3`.
public struct ModelId: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// An inference node (one server process that serves one or more models).
public struct NodeId: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A region or cluster, e.g. `us-west-2`.
public struct RegionId: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Rules for identifiers that travel through Redis keys and URLs.
public enum Identifier {
    /// The longest identifier accepted anywhere.
    public static let maximumLength = 128

    /// Checks that `value` can be used as an id: 1–128 characters of letters, digits, `.`, `_`, `-`, `:`, `/`.
    /// - Returns: nil when valid, otherwise a message naming what is wrong.
    public static func problem(with value: String, kind: String) -> String? {
        if value.isEmpty { return "\(kind) is empty" }
        if value.utf8.count > maximumLength {
            return "\(kind) '\(value.prefix(32))…' is longer than \(maximumLength) characters"
        }
        for byte in value.utf8 {
            let ok =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x3A || byte == 0x2F
            if !ok {
                return "\(kind) '\(value)' contains '\(Character(Unicode.Scalar(byte)))'; "
                    + "use letters, digits, '.', '_', '-', ':' or '/'"
            }
        }
        return nil
    }
}
