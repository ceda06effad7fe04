/// Where a gateway request is in its life.
public enum RequestState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Accepted, not yet routed.
    case ready
    /// Choosing a node.
    case routing
    /// Sent to a node; nothing has come back yet.
    case inferring
    /// The node's response is flowing to the client (at least one byte reached it).
    case streaming
    /// An attempt failed in a retriable way; waiting to route again.
    case retrying
    /// Answered successfully. Terminal.
    case completed
    /// Ended with an error. Terminal.
    case failed

    /// True for `completed` and `failed`: no event is accepted after them.
    public var isTerminal: Bool { self == .completed || self == .failed }

    /// The snake_case name used in traces.
    public var description: String { rawValue }
}

/// What happens to a request; each event leads to exactly one state (its `target`), and
/// whether that is allowed depends on the state the request is in.
public enum RequestEvent: Sendable, Equatable, CustomStringConvertible {
    /// ready → routing.
    case startRouting
    /// routing → inferring: the router chose this node for the next attempt.
    case nodeSelected(NodeId)
    /// routing → failed: no node can serve the request.
    case noNodes(FederationError)
    /// inferring → streaming: the first byte of the node's response reached the client.
    case firstByte
    /// inferring/streaming → completed.
    case completedOK
    /// inferring → retrying: the attempt failed in a way another node may not (never legal
    /// once streaming).
    case retriableFailure(String)
    /// any non-terminal state → failed: a failure that must not be retried, retries exhausted,
    /// the client went away, the overall deadline passed, or a middleware rejected the request.
    case fatalFailure(FederationError)
    /// retrying → routing: the retry delay has passed.
    case retryScheduled
    /// streaming → streaming: the node broke off mid-stream and this node continues the answer
    /// (`gateway.resume_streams`; at most once per request). A new attempt.
    case resumed(NodeId)

    /// The state this event leads to.
    public var target: RequestState {
        switch self {
        case .startRouting, .retryScheduled: .routing
        case .nodeSelected: .inferring
        case .noNodes, .fatalFailure: .failed
        case .firstByte, .resumed: .streaming
        case .completedOK: .completed
        case .retriableFailure: .retrying
        }
    }

    /// A snake_case rendering for traces and error messages, e.g. `node_selected(us-west-gpu-01)`.
    public var description: String {
        switch self {
        case .startRouting: "start_routing"
        case .nodeSelected(let node): "node_selected(\(node))"
        case .noNodes(let error): "no_nodes(\(error.code))"
        case .firstByte: "first_byte"
        case .completedOK: "completed_ok"
        case .retriableFailure(let reason): "retriable_failure(\(reason))"
        case .fatalFailure(let error): "fatal_failure(\(error.code))"
        case .retryScheduled: "retry_scheduled"
        case .resumed(let node): "resumed(\(node))"
        }
    }
}

/// One step of a request's life, kept for traces.
public struct RequestTransition: Sendable, Equatable {
    /// The state before the event.
    public var from: RequestState
    /// The state after it.
    public var to: RequestState
    /// What happened.
    public var event: RequestEvent
    /// The attempt this step belongs to (1 for the first node, 0 before any node was chosen).
    public var attempt: Int
    /// The node of that attempt, if one was chosen.
    public var node: NodeId?
    /// When it happened.
    public var at: Timestamp

    /// A step of a request's history.
    public init(
        from: RequestState, to: RequestState, event: RequestEvent, attempt: Int, node: NodeId?, at: Timestamp
    ) {
        self.from = from
        self.to = to
        self.event = event
        self.attempt = attempt
        self.node = node
        self.at = at
    }
}

/// The gateway's per-request state machine as a value: the gateway applies events as things
/// happen, and illegal sequences (a bug in the gateway) throw instead of silently proceeding.
///
/// Legal transitions: ready → routing; routing → inferring | failed; inferring → streaming |
/// completed | retrying | failed; streaming → completed | failed | streaming (resumed on another
/// node); retrying → routing; and any non-terminal state → failed on `fatalFailure`
/// (cancellation, deadline, middleware). Never streaming → retrying: once a token reached the
/// client the request cannot be replayed, only continued.
public struct RequestLifecycle: Sendable {
    /// The current state.
    public private(set) var state: RequestState = .ready
    /// Attempts started so far (nodes selected); retries = attempts − 1.
    public private(set) var attempts = 0
    /// The nodes tried, in order (a node tried twice appears twice).
    public private(set) var nodesTried: [NodeId] = []
    /// Every transition, oldest first.
    public private(set) var history: [RequestTransition] = []
    /// Why the request failed, once it has.
    public private(set) var failure: FederationError?
    /// The reasons of the retriable failures so far, oldest first.
    public private(set) var retriableFailures: [String] = []

    /// A request that has been accepted and not yet routed.
    public init() {}

    /// The node of the current (or last) attempt.
    public var currentNode: NodeId? { nodesTried.last }

    /// Whether `event` would be accepted in the current state.
    public func accepts(_ event: RequestEvent) -> Bool {
        Self.isLegal(from: state, event: event)
    }

    /// Applies `event` at `time`.
    /// - Throws: `FederationError.internal` naming the state, the event and the state it leads
    ///   to when the transition is illegal; the lifecycle is then unchanged.
    public mutating func apply(_ event: RequestEvent, at time: Timestamp) throws(FederationError) {
        let from = state
        let to = event.target
        guard Self.isLegal(from: from, event: event) else {
            var why = ""
            if from == .streaming && to == .retrying {
                why = ": a request cannot be retried after a streamed token reached the client"
            } else if from.isTerminal {
                why = ": the request already ended"
            }
            throw FederationError.internal(
                "illegal request lifecycle transition from \(from) to \(to) on event \(event)\(why)")
        }
        switch event {
        case .nodeSelected(let node), .resumed(let node):
            attempts += 1
            nodesTried.append(node)
        case .noNodes(let error), .fatalFailure(let error):
            failure = error
        case .retriableFailure(let reason):
            retriableFailures.append(reason)
        case .startRouting, .firstByte, .completedOK, .retryScheduled:
            break
        }
        state = to
        history.append(
            RequestTransition(
                from: from, to: to, event: event, attempt: attempts, node: currentNode, at: time))
    }

    /// Whether the state machine accepts `event` in state `from`; the payload never matters.
    public static func isLegal(from: RequestState, event: RequestEvent) -> Bool {
        switch event {
        case .startRouting: from == .ready
        case .nodeSelected, .noNodes: from == .routing
        case .firstByte, .retriableFailure: from == .inferring
        case .completedOK: from == .inferring || from == .streaming
        case .retryScheduled: from == .retrying
        case .resumed: from == .streaming
        case .fatalFailure: !from.isTerminal
        }
    }

    /// Whether some event leads from `from` to `to` (the state graph, for docs and checks).
    public static func isLegal(from: RequestState, to: RequestState) -> Bool {
        let oneOfEach: [RequestEvent] = [
            .startRouting, .nodeSelected(""), .noNodes(.internal("")), .firstByte, .completedOK,
            .retriableFailure(""), .fatalFailure(.internal("")), .retryScheduled, .resumed(""),
        ]
        return oneOfEach.contains { $0.target == to && isLegal(from: from, event: $0) }
    }
}
