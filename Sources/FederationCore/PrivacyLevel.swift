/// How sensitive a request's data is, and how trusted a region or node is.
/// Ordered: public < internal < confidential < restricted. A node may serve a request iff the
/// node's level is at least the request's.
public enum PrivacyLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case `public` = 0
    case `internal` = 1
    case confidential = 2
    case restricted = 3

    public var description: String {
        switch self {
        case .public: "public"
        case .internal: "internal"
        case .confidential: "confidential"
        case .restricted: "restricted"
        }
    }

    /// Parses `public`, `internal`, `confidential` or `restricted` (case-insensitive, like every
    /// enum-like field: ``WireEnum``).
    public init(parsing text: String) throws(FederationError) {
        self = try Self.parse(text)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension PrivacyLevel: WireEnum {
    public var wireName: String { description }
    public static var wireKind: String { "privacy level" }
}

extension PrivacyLevel: Codable {
    public init(from decoder: any Decoder) throws {
        self = try Self.decodeWire(from: decoder)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
