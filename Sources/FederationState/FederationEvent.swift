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
        let event: FederationEvent
        do {
            event = try JSONDecoder().decode(FederationEvent.self, from: Data(payload))
        } catch let error as DecodingError {
            throw .invalidInput("malformed \(family) event: \(error.readable)")
        } catch {
            throw .invalidInput("malformed \(family) event: \(error)")
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

extension DecodingError {
    /// "field 'latency_ms': expected Double" style text.
    var readable: String {
        func path(_ context: Context) -> String {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "" : "field '\(path)': "
        }
        switch self {
        case .typeMismatch(let type, let context): return "\(path(context))expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context))expected \(type), found null"
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .dataCorrupted(let context):
            return "\(path(context))\(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
