import NIOCore
import NIOHTTP1

/// Replica propagation (issue 9 §3d): how long after the first request through replica A that hit
/// a failing node replica B stops sending to that node. Per trial:
/// 1. clear the node's faults and poll B until it routes a clean request to the node again
///    (its circuit closed cluster-wide);
/// 2. switch the node's fault on (`POST /admin/faults`);
/// 3. send through A, one at a time, until an answer shows the node was tried (t0 = that
///    request's send time);
/// 4. poll B, one at a time, until `quietRequests` answers in a row did not touch the node;
///    t1 = the send time of the first of them. The trial's time is t1 − t0.
/// An answer "touched" the node when `X-Federation-Node` contains the node's marker, or it took
/// more than one attempt, or its status is 5xx. Polling resolution is one round trip through B.
struct PropagationProbe: Sendable {
    var loop: any EventLoop
    var viaA: NIOLoopBound<TargetPool>
    var observeB: NIOLoopBound<TargetPool>
    var faultAdmin: NIOLoopBound<TargetPool>
    var requestA: RequestTemplate
    var requestB: RequestTemplate
    var setFault: RequestTemplate
    var clearFault: RequestTemplate
    var nodeMarker: String
    var quietRequests: Int
    var trialTimeoutNs: UInt64

    /// One trial's time in nanoseconds, or a failure naming the step that did not finish.
    func trial() async -> Result<UInt64, LoadgenError> {
        let deadline = monotonicNanoseconds() &+ trialTimeoutNs
        // 1. Recovered: B sends a clean request to the node.
        _ = await exchange(loop, faultAdmin, clearFault)
        while true {
            if monotonicNanoseconds() > deadline {
                return .failure(
                    LoadgenError("B never routed to '\(nodeMarker)' again after the fault was cleared"))
            }
            if case .success(let o) = await exchange(loop, observeB, requestB), o.status == 200,
                o.node?.contains(nodeMarker) == true, (o.attempts ?? 1) <= 1
            {
                break
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        // 2. Fault on.
        guard case .success(let set) = await exchange(loop, faultAdmin, setFault),
            (200..<300).contains(set.status)
        else {
            return .failure(LoadgenError("POST /admin/faults to the node failed"))
        }
        // 3. First request through A that touches the node.
        var t0: UInt64?
        while t0 == nil {
            if monotonicNanoseconds() > deadline {
                return .failure(LoadgenError("no request through A reached the failing node '\(nodeMarker)'"))
            }
            if case .success(let o) = await exchange(loop, viaA, requestA), touched(o) { t0 = o.sentAt }
        }
        // 4. B stops touching it.
        var quiet = 0
        var firstQuiet: UInt64 = 0
        while quiet < quietRequests {
            if monotonicNanoseconds() > deadline {
                return .failure(LoadgenError("B kept sending to '\(nodeMarker)' until the trial timed out"))
            }
            switch await exchange(loop, observeB, requestB) {
            case .success(let o) where !touched(o):
                if quiet == 0 { firstQuiet = o.sentAt }
                quiet += 1
            default:
                quiet = 0
            }
        }
        return .success(firstQuiet &- t0!)
    }

    private func touched(_ outcome: ExchangeOutcome) -> Bool {
        outcome.status >= 500 || (outcome.attempts ?? 1) > 1 || outcome.node?.contains(nodeMarker) == true
    }
}

/// One request through `pool`, awaited.
func exchange(
    _ loop: any EventLoop, _ pool: NIOLoopBound<TargetPool>, _ template: RequestTemplate
) async -> Result<ExchangeOutcome, ExchangeFailure> {
    let promise = loop.makePromise(of: ExchangeOutcome.self)
    loop.execute {
        pool.value.submit(
            PendingExchange(template: template, stream: false) { result in
                promise.completeWith(result.mapError { $0 as any Error })
            })
    }
    do {
        return .success(try await promise.futureResult.get())
    } catch let failure as ExchangeFailure {
        return .failure(failure)
    } catch {
        return .failure(.io(String(describing: error)))
    }
}
