import FederationCore
import Foundation

/// The fields of a node's `/health` JSON that the health service reads. The body comes from
/// outside: ``parse(_:)`` accepts any bytes and never traps; fields that are absent, of the
/// wrong type or out of range are nil (the rest of the body still counts).
public struct NodeHealthBody: Sendable, Equatable {
    /// `"status": "unhealthy"` (any case).
    public var unhealthy = false
    /// `queue_depth`: a finite number ≥ 0, rounded down and capped at ``maximumQueueDepth``.
    public var queueDepth: Int?
    /// `gpu_utilization`: a finite number, clamped to 0…1.
    public var gpuUtilization: Double?

    /// The largest queue depth kept (larger values are capped, not rejected).
    public static let maximumQueueDepth = 1_000_000_000

    /// Nothing reported.
    public init(unhealthy: Bool = false, queueDepth: Int? = nil, gpuUtilization: Double? = nil) {
        self.unhealthy = unhealthy
        self.queueDepth = queueDepth
        self.gpuUtilization = gpuUtilization
    }

    /// What a `/health` body says. An empty body reports nothing.
    /// - Throws: ``NodeHealthBodyError`` when the bytes are not a JSON object.
    public static func parse(_ bytes: [UInt8]) throws(NodeHealthBodyError) -> NodeHealthBody {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return NodeHealthBody()
        }
        // Foundation's JSONDecoder traps on some deeply nested inputs: refuse them first.
        if let problem = JSONNesting.problem(in: bytes) {
            throw NodeHealthBodyError(detail: problem)
        }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(bytes))
        } catch {
            throw NodeHealthBodyError(detail: "not a JSON object (\(bytes.count) bytes)")
        }
        var body = NodeHealthBody()
        body.unhealthy = fields.status?.lowercased() == "unhealthy"
        if let depth = fields.queueDepth, depth.isFinite, depth >= 0 {
            body.queueDepth = depth >= Double(maximumQueueDepth) ? maximumQueueDepth : Int(depth)
        }
        if let gpu = fields.gpuUtilization, gpu.isFinite {
            body.gpuUtilization = min(max(gpu, 0), 1)
        }
        return body
    }

    /// The decoded fields; a field of the wrong type is nil (it does not reject the body).
    private struct Fields: Decodable {
        var status: String?
        var queueDepth: Double?
        var gpuUtilization: Double?

        enum CodingKeys: String, CodingKey {
            case status, queueDepth = "queue_depth", gpuUtilization = "gpu_utilization"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try? c.decodeIfPresent(String.self, forKey: .status)
            queueDepth = try? c.decodeIfPresent(Double.self, forKey: .queueDepth)
            gpuUtilization = try? c.decodeIfPresent(Double.self, forKey: .gpuUtilization)
        }
    }
}

/// A node's `/health` body that is not a JSON object.
public struct NodeHealthBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var detail: String
    public var description: String { "node /health body: \(detail)" }
}
