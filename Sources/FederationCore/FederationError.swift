/// Every way a federation operation can fail, with a message a person can act on and the HTTP
/// status a gateway answers with.
public enum FederationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No node is registered that can serve the capability (and model, when one was named).
    case noCapacity(Capability, detail: String)
    /// Nodes exist, and some would pass every rule of the request but are set aside for now (open
    /// circuit, unhealthy, already tried); the detail names every cause with its nodes.
    case allNodesUnhealthy(Capability, detail: String)
    /// Nodes exist but none meets the request's QoS (latency, throughput, cost, GPU, min score);
    /// the detail names every cause with its nodes.
    case qosViolation(String)
    /// Nodes exist but every one that a rule rejected is below the request's privacy level (and
    /// none is only waiting for its circuit or health); the detail names every cause with its nodes.
    case privacyViolation(String)
    /// The chosen node could not be reached or answered with an error.
    case nodeUnreachable(NodeId, detail: String)
    /// The request did not finish in time.
    case timeout(Duration)
    /// The node's circuit breaker is open.
    case circuitOpen(NodeId)
    /// A bug or an unexpected state; the message says where.
    case `internal`(String)
    /// The caller sent something malformed; the message names the field and the problem.
    case invalidInput(String)

    /// A stable machine-readable code (used as the OpenAI error `code`).
    public var code: String {
        switch self {
        case .noCapacity: "no_capacity"
        case .allNodesUnhealthy: "all_nodes_unhealthy"
        case .qosViolation: "qos_violation"
        case .privacyViolation: "privacy_violation"
        case .nodeUnreachable: "node_unreachable"
        case .timeout: "timeout"
        case .circuitOpen: "circuit_open"
        case .internal: "internal_error"
        case .invalidInput: "invalid_request"
        }
    }

    /// The HTTP status a gateway answers with.
    public var httpStatus: Int {
        switch self {
        case .noCapacity, .allNodesUnhealthy, .circuitOpen: 503
        case .qosViolation, .privacyViolation: 503
        case .nodeUnreachable: 502
        case .timeout: 504
        case .internal: 500
        case .invalidInput: 400
        }
    }

    /// A sentence saying what went wrong and, where it helps, what to do.
    public var message: String {
        switch self {
        case .noCapacity(let capability, let detail):
            "no node serves capability '\(capability)'\(detail.isEmpty ? "" : ": \(detail)"); "
                + "register a deployment with this capability"
        case .allNodesUnhealthy(let capability, let detail):
            "no node for capability '\(capability)' can take the request right now"
                + (detail.isEmpty ? "" : ": \(detail)")
                + "; retry later (an open circuit half-opens after its reset timeout)"
        case .qosViolation(let detail):
            "no node meets the request's QoS requirements: \(detail)"
        case .privacyViolation(let detail):
            "no node is trusted with the request's privacy level: \(detail)"
        case .nodeUnreachable(let node, let detail):
            "node '\(node)' is unreachable: \(detail)"
        case .timeout(let duration):
            "the request timed out after \(duration)"
        case .circuitOpen(let node):
            "the circuit breaker for node '\(node)' is open; it is not sent traffic until it recovers"
        case .internal(let detail):
            "internal error: \(detail)"
        case .invalidInput(let detail):
            detail
        }
    }

    public var description: String { "\(code): \(message)" }
}
