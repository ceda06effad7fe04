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

    /// Checks that `value` can be used as an id: 1–128 bytes of ASCII letters, digits, `.`, `_`, `-`,
    /// `:`, `/`. Ids are case-sensitive (unlike enum-like values, see ``WireEnum``).
    /// - Returns: nil when valid, otherwise a message naming what is wrong.
    public static func problem(with value: String, kind: String) -> String? {
        if value.isEmpty { return "\(kind) is empty" }
        if value.utf8.count > maximumLength {
            return "\(kind) '\(value.prefix(32))…' is longer than \(maximumLength) characters"
        }
        for scalar in value.unicodeScalars where !isAllowed(scalar) {
            return "\(kind) '\(WireText.quoted(value))' contains \(describe(scalar)); "
                + "use ASCII letters, digits, '.', '_', '-', ':' or '/'"
        }
        return nil
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x2D, 0x3A, 0x2F: true
        default: false
        }
    }

    /// `'ö' (U+00F6)` for a printable scalar, `U+0000` for a control or invisible one.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned,
            .surrogate, .privateUse, .nonspacingMark, .enclosingMark, .spacingMark:
            return code
        default:
            return "'\(Character(scalar))' (\(code))"
        }
    }
}
