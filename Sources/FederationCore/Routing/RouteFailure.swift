/// Why no node could take a request: every cause with the nodes it applies to, and the error code
/// a documented precedence picks (docs/CORE.md, "When no node can take a request").
///
/// Built only on the error path, so it may re-evaluate the request rules for nodes the hot path set
/// aside early (an open circuit is checked before any policy): that is what tells "wait for the
/// circuit" apart from "no node will ever take this request".
struct RouteFailure {
    /// Nodes named in one message across all causes; the rest are counted ("… and 3 more").
    static let namedNodeLimit = 20

    /// Why one node was set aside.
    enum Cause: Hashable, Comparable {
        /// Waiting can fix these: the node passes every rule of the request.
        case circuitOpen
        case unhealthy
        case alreadyTried
        /// A rule of the request (a policy at its index in the composite).
        case policy(Int)
        case minScore
        /// The node's region is outside the request's allowed regions (tenant or header).
        case regionNotAllowed

        var isTransient: Bool {
            switch self {
            case .circuitOpen, .unhealthy, .alreadyTried: true
            case .policy, .minScore, .regionNotAllowed: false
            }
        }
    }

    /// One cause and the nodes it applies to, in the order they were evaluated.
    struct Group {
        var label: String
        var nodes: [(id: NodeId, detail: String?)] = []
    }

    private(set) var groups: [Cause: Group] = [:]
    /// Nodes set aside only for a transient cause (they pass every rule).
    private(set) var transientOnly: Set<NodeId> = []
    /// The policy name of every node's first failed rule.
    private(set) var ruleFailures: [NodeId: String] = [:]

    /// Records that `node` was set aside for `cause`.
    mutating func add(_ cause: Cause, node: NodeId, label: @autoclosure () -> String, detail: String? = nil) {
        var group = groups[cause] ?? Group(label: label())
        group.nodes.append((node, detail))
        groups[cause] = group
    }

    /// Records the outcome of the request rules for a node first set aside for a transient cause.
    mutating func transient(_ node: NodeId, passesRules: Bool) {
        if passesRules { transientOnly.insert(node) }
    }

    mutating func ruleFailed(_ node: NodeId, policy: String) {
        ruleFailures[node] = policy
    }

    /// The error, by precedence:
    /// 1. `all_nodes_unhealthy` when some node was set aside only for an open circuit, ill health
    ///    or having been tried already, and passes every rule: retrying later can succeed;
    /// 2. `privacy_violation` when every other node fails the privacy rule;
    /// 3. `qos_violation` otherwise (latency, throughput, cost, GPU, locality, min_score…).
    /// The message names every cause with its nodes, whatever the code.
    func error(capability: Capability) -> FederationError {
        let causes = message
        if !transientOnly.isEmpty {
            return .allNodesUnhealthy(capability, detail: causes)
        }
        if !ruleFailures.isEmpty, ruleFailures.values.allSatisfy({ $0 == "privacy" }) {
            return .privacyViolation(causes)
        }
        return .qosViolation(causes)
    }

    /// `circuit open: a, b; privacy below confidential: c (internal, region us-west)`, naming at
    /// most ``namedNodeLimit`` nodes.
    var message: String {
        var budget = Self.namedNodeLimit
        var parts: [String] = []
        for cause in groups.keys.sorted() {
            guard let group = groups[cause] else { continue }
            let shown = group.nodes.prefix(max(0, budget))
            budget -= shown.count
            var names = shown.map { node in node.detail.map { "\(node.id) (\($0))" } ?? "\(node.id)" }
            let hidden = group.nodes.count - shown.count
            if hidden > 0 { names.append(names.isEmpty ? "\(hidden) node(s)" : "… and \(hidden) more") }
            parts.append("\(group.label): \(names.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}

extension Evaluation {
    /// Every cause for `request` failing, with the nodes; see ``RouteFailure/error(capability:)``.
    func failure(_ request: InferenceRequest) -> RouteFailure {
        var failure = RouteFailure()
        for index in excluded {
            let node = nodes[index]
            failure.add(.alreadyTried, node: node.id, label: "already tried")
            addRules(of: node, request, to: &failure, transient: true)
        }
        for (index, why) in rejections {
            let node = nodes[index]
            switch why {
            case .region:
                failure.add(
                    .regionNotAllowed, node: node.id, label: "region not allowed for this request",
                    detail: "region \(node.region)")
                failure.ruleFailed(node.id, policy: "region")
            case .circuit:
                failure.add(.circuitOpen, node: node.id, label: "circuit open")
                addRules(of: node, request, to: &failure, transient: true)
            case .health:
                failure.add(
                    .unhealthy, node: node.id, label: "unhealthy", detail: node.health?.reason)
                failure.transient(node.id, passesRules: true)
            case .minScore(let total):
                failure.add(
                    .minScore, node: node.id, label: "score below min_score \(formatScore(minScore))",
                    detail: "score \(formatScore(total))")
                failure.ruleFailed(node.id, policy: "min_score")
            case .policy(let policyIndex):
                addPolicyRejection(policyIndex, node, request, to: &failure)
            }
        }
        return failure
    }

    /// For a node set aside before its rules ran: whether it would pass them, and if not, which failed.
    private func addRules(
        of node: CandidateNode, _ request: InferenceRequest, to failure: inout RouteFailure, transient: Bool
    ) {
        if let policyIndex = composite.firstRejecting(node, for: request) {
            addPolicyRejection(policyIndex, node, request, to: &failure)
        } else {
            failure.transient(node.id, passesRules: transient)
        }
    }

    private func addPolicyRejection(
        _ policyIndex: Int, _ node: CandidateNode, _ request: InferenceRequest, to failure: inout RouteFailure
    ) {
        let rejection = composite.rejection(byPolicyAt: policyIndex, node, for: request)
        failure.ruleFailed(node.id, policy: rejection.policy)
        if rejection.policy == "privacy" {
            failure.add(
                .policy(policyIndex), node: node.id, label: "privacy below \(request.qos.privacy)",
                detail: "\(node.privacy), region \(node.region)")
        } else {
            failure.add(
                .policy(policyIndex), node: node.id, label: rejection.policy, detail: rejection.reason)
        }
    }
}
