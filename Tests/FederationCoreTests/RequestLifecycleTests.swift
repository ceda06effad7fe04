import Testing

@testable import FederationCore

@Suite struct RequestLifecycleTests {
    let t = Timestamp(milliseconds: 1_700_000_000_000)
    let a: NodeId = "us-west-gpu-01"
    let b: NodeId = "eu-central-gpu-02"
    let noCapacity = FederationError.noCapacity(.generate, detail: "")

    /// Every event kind once.
    var allEvents: [RequestEvent] {
        [
            .startRouting, .nodeSelected(a), .noNodes(noCapacity), .firstByte, .completedOK,
            .retriableFailure("HTTP 503"), .fatalFailure(.timeout(.seconds(30))), .retryScheduled,
            .resumed(b),
        ]
    }

    /// A lifecycle driven, by legal events, into `state`.
    func lifecycle(in state: RequestState) throws -> RequestLifecycle {
        let paths: [RequestState: [RequestEvent]] = [
            .ready: [],
            .routing: [.startRouting],
            .inferring: [.startRouting, .nodeSelected(a)],
            .streaming: [.startRouting, .nodeSelected(a), .firstByte],
            .retrying: [.startRouting, .nodeSelected(a), .retriableFailure("connect failed")],
            .completed: [.startRouting, .nodeSelected(a), .completedOK],
            .failed: [.startRouting, .noNodes(noCapacity)],
        ]
        var lifecycle = RequestLifecycle()
        for event in paths[state]! { try lifecycle.apply(event, at: t) }
        #expect(lifecycle.state == state)
        return lifecycle
    }

    @Test func nonStreamingSuccess() throws {
        var life = RequestLifecycle()
        #expect(life.state == .ready)
        try life.apply(.startRouting, at: t)
        try life.apply(.nodeSelected(a), at: t.advanced(by: .milliseconds(1)))
        try life.apply(.completedOK, at: t.advanced(by: .milliseconds(80)))
        #expect(life.state == .completed)
        #expect(life.state.isTerminal)
        #expect(life.attempts == 1)
        #expect(life.nodesTried == [a])
        #expect(life.failure == nil)
        #expect(
            life.history == [
                RequestTransition(
                    from: .ready, to: .routing, event: .startRouting, attempt: 0, node: nil, at: t),
                RequestTransition(
                    from: .routing, to: .inferring, event: .nodeSelected(a), attempt: 1, node: a,
                    at: t.advanced(by: .milliseconds(1))),
                RequestTransition(
                    from: .inferring, to: .completed, event: .completedOK, attempt: 1, node: a,
                    at: t.advanced(by: .milliseconds(80))),
            ])
    }

    @Test func retryThenStreamOnAnotherNode() throws {
        var life = RequestLifecycle()
        let events: [RequestEvent] = [
            .startRouting, .nodeSelected(a), .retriableFailure("HTTP 503"), .retryScheduled, .nodeSelected(b),
            .firstByte, .completedOK,
        ]
        for event in events { try life.apply(event, at: t) }
        #expect(life.state == .completed)
        #expect(life.attempts == 2)
        #expect(life.nodesTried == [a, b])
        #expect(life.currentNode == b)
        #expect(life.retriableFailures == ["HTTP 503"])
        #expect(
            life.history.map(\.to) == [
                .routing, .inferring, .retrying, .routing, .inferring, .streaming, .completed,
            ])
        #expect(life.history.map(\.attempt) == [0, 1, 1, 1, 2, 2, 2])
        #expect(life.history.map(\.node) == [nil, a, a, a, b, b, b])
    }

    @Test func neverRetriesAfterAStreamedToken() throws {
        var life = try lifecycle(in: .streaming)
        let before = life.history
        do {
            try life.apply(.retriableFailure("connection reset"), at: t)
            Issue.record("streaming → retrying was accepted")
        } catch {
            #expect(error.code == "internal_error")
            #expect(error.message.contains("from streaming to retrying"))
            #expect(error.message.contains("retriable_failure(connection reset)"))
            #expect(error.message.contains("after a streamed token reached the client"))
        }
        #expect(life.state == .streaming, "a rejected event leaves the lifecycle unchanged")
        #expect(life.history == before)
        try life.apply(.fatalFailure(.nodeUnreachable(a, detail: "connection reset")), at: t)
        #expect(life.state == .failed)
        #expect(life.failure == .nodeUnreachable(a, detail: "connection reset"))
    }

    @Test("a stream resumed on another node is a new attempt in the streaming state")
    func resumedStreamIsANewAttempt() throws {
        var life = try lifecycle(in: .streaming)
        let attempts = life.attempts
        try life.apply(.resumed(b), at: t)
        #expect(life.state == .streaming)
        #expect(life.attempts == attempts + 1)
        #expect(life.currentNode == b)
        #expect(life.history.last?.event == .resumed(b))
        try life.apply(.completedOK, at: t)
        #expect(life.state == .completed)
        var inferring = try lifecycle(in: .inferring)
        #expect(throws: FederationError.self) { try inferring.apply(.resumed(b), at: t) }
    }

    @Test func noNodesFailsFromRouting() throws {
        var life = try lifecycle(in: .routing)
        try life.apply(.noNodes(noCapacity), at: t)
        #expect(life.state == .failed)
        #expect(life.failure == noCapacity)
        #expect(life.attempts == 0)
    }

    @Test func transitionTableIsExactlyTheDesignedOne() throws {
        // For each state, the events it accepts (by their position in `allEvents`).
        let legal: [RequestState: Set<Int>] = [
            .ready: [0, 6],  // startRouting, fatalFailure (rejected before routing)
            .routing: [1, 2, 6],  // nodeSelected, noNodes, fatalFailure
            .inferring: [3, 4, 5, 6],  // firstByte, completedOK, retriableFailure, fatalFailure
            .streaming: [4, 6, 8],  // completedOK, fatalFailure, resumed
            .retrying: [6, 7],  // fatalFailure (cancelled while waiting), retryScheduled
            .completed: [],
            .failed: [],
        ]
        for state in RequestState.allCases {
            for (index, event) in allEvents.enumerated() {
                var life = try lifecycle(in: state)
                let expected = legal[state]!.contains(index)
                #expect(life.accepts(event) == expected, "\(state) on \(event)")
                do {
                    try life.apply(event, at: t)
                    #expect(expected, "\(state) on \(event) should have thrown")
                    #expect(life.state == event.target)
                } catch {
                    #expect(!expected, "\(state) on \(event) threw \(error)")
                    #expect(error.message.contains("from \(state) to \(event.target) on event \(event)"))
                    #expect(life.state == state)
                }
            }
        }
    }

    @Test func stateGraph() {
        let edges = RequestState.allCases.flatMap { from in
            RequestState.allCases.filter { RequestLifecycle.isLegal(from: from, to: $0) }.map {
                "\(from)→\($0)"
            }
        }
        #expect(
            Set(edges) == [
                "ready→routing", "ready→failed", "routing→inferring", "routing→failed", "inferring→streaming",
                "inferring→completed", "inferring→retrying", "inferring→failed", "streaming→completed",
                "streaming→failed", "streaming→streaming", "retrying→routing", "retrying→failed",
            ])
        #expect(!RequestLifecycle.isLegal(from: .streaming, to: .retrying))
    }

    @Test func terminalStatesSayTheRequestEnded() throws {
        var life = try lifecycle(in: .completed)
        #expect(throws: FederationError.self) { try life.apply(.startRouting, at: t) }
        do {
            try life.apply(.completedOK, at: t)
        } catch {
            #expect(error.message.contains("already ended"))
        }
        #expect(RequestState.allCases.filter(\.isTerminal) == [.completed, .failed])
    }
}
