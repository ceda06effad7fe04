import FederationCore
import Foundation

/// A change announcement on `{ns}:events:{family}`: which family changed, to which version, and
/// (informational) what and whom it was about. Hashes are the truth; events are hints.
///
/// `{"family":"catalog","version":12,"kind":"register","node":"n1","model":"m1","at":1700000000000}`
public struct FederationEvent: Sendable, Equatable, Codable {
    public var family: FederationFamily
    /// The family's version after the change (the value of `{ns}:version:{family}`).
    public var version: UInt64
    /// `register`, `deregister`, `model`, `health`, `circuit`, `remove` or `policy`.
    public var kind: String
    public var node: NodeId?
    public var model: ModelId?
    /// Writer's wall clock, ms since the epoch.
    public var at: Int64?

    public init(
        family: FederationFamily, version: UInt64, kind: String, node: NodeId? = nil, model: ModelId? = nil,
        at: Int64? = nil
    ) {
        self.family = family
        self.version = version
        self.kind = kind
        self.node = node
        self.model = model
        self.at = at
    }

    /// The largest payload accepted on any channel.
    public static let maximumPayloadBytes = 64 * 1024

    /// Parses and validates an event received on `channel` (whose family must match).
    public static func parse(
        _ payload: [UInt8], channel family: FederationFamily
    ) throws(FederationError) -> FederationEvent {
        guard payload.count <= maximumPayloadBytes else {
            throw .invalidInput("event of \(payload.count) bytes exceeds \(maximumPayloadBytes)")
        }
        if let problem = JSONNesting.problem(in: payload) {
            throw .invalidInput("malformed \(family) event: \(problem)")
        }
        let event: FederationEvent
        do {
            event = try JSONDecoder().decode(FederationEvent.self, from: Data(payload))
        } catch {
            throw .invalidInput("malformed \(family) event: \(DecodingProblem(error).message)")
        }
        guard event.family == family else {
            throw .invalidInput("event of family '\(event.family)' on the \(family) channel")
        }
        guard event.version > 0 else { throw .invalidInput("event version must be positive") }
        if let node = event.node, let problem = Identifier.problem(with: node.rawValue, kind: "node id") {
            throw .invalidInput("event: \(problem)")
        }
        if let model = event.model, let problem = Identifier.problem(with: model.rawValue, kind: "model id") {
            throw .invalidInput("event: \(problem)")
        }
        return event
    }
}

extension FederationEvent {
    enum CodingKeys: String, CodingKey { case family, version, kind, node, model, at }

    /// Decodes through the checked decoders: a version or timestamp out of range names its field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        family = try c.decode(FederationFamily.self, forKey: .family)
        guard let version = try c.decodeInteger(UInt64.self, forKey: .version, in: 1...UInt64(Int64.max))
        else {
            throw DecodingError.keyNotFound(
                CodingKeys.version, .init(codingPath: c.codingPath, debugDescription: "version is required"))
        }
        self.version = version
        kind = try c.decode(String.self, forKey: .kind)
        node = try c.decodeIfPresent(NodeId.self, forKey: .node)
        model = try c.decodeIfPresent(ModelId.self, forKey: .model)
        at = try c.decodeInteger(Int64.self, forKey: .at, in: 0...HealthReport.Limits.maximumTimestampMs)
    }
}

extension FederationFamily: WireEnum {
    public static var wireKind: String { "family" }

    /// Case-insensitive, and an unknown family lists the valid ones (``WireEnum``).
    public init(from decoder: any Decoder) throws {
        self = try Self.decodeWire(from: decoder)
    }
}
