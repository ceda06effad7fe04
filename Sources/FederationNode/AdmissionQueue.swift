import Synchronization

/// Admits at most `limit` requests at once; the rest wait in arrival order (FIFO).
///
/// A waiter whose task is cancelled (its client went away) leaves the queue. Admission is a
/// ``Permit`` that gives the slot back when released, or when it is dropped unreleased, so a
/// response that is never written cannot leak a slot.
public final class AdmissionQueue: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var inFlight = 0
        var waiters: [Waiter] = []
        var nextId: UInt64 = 0
    }

    /// Requests admitted at once.
    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        precondition(limit >= 1, "limit must be ≥ 1")
        self.limit = limit
    }

    /// Requests currently admitted.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Requests waiting for admission.
    public var queueDepth: Int { state.withLock { $0.waiters.count } }

    /// Admits without waiting if a slot is free.
    public func tryAcquire() -> Permit? {
        let admitted = state.withLock { state -> Bool in
            guard state.inFlight < limit, state.waiters.isEmpty else { return false }
            state.inFlight += 1
            return true
        }
        return admitted ? Permit(queue: self) : nil
    }

    /// Waits for a slot in FIFO order. Throws `CancellationError` if the task is cancelled while waiting.
    public func acquire() async throws -> Permit {
        if let permit = tryAcquire() { return permit }
        let id = state.withLock { state -> UInt64 in
            state.nextId += 1
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Void, any Error>) in
                // Checking cancellation under the lock closes the race with `onCancel` running first.
                let outcome = state.withLock { state -> Bool? in
                    if Task.isCancelled { return nil }
                    if state.inFlight < limit && state.waiters.isEmpty {
                        state.inFlight += 1
                        return true
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                switch outcome {
                case nil: continuation.resume(throwing: CancellationError())
                case true: continuation.resume()
                case false: break
                }
            }
        } onCancel: {
            let removed = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
        return Permit(queue: self)
    }

    /// Gives a slot back: to the longest waiter if there is one, else to the pool.
    fileprivate func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.inFlight -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
    }

    /// One admitted request's slot.
    public final class Permit: Sendable {
        private let queue: AdmissionQueue
        private let released = Atomic<Bool>(false)

        fileprivate init(queue: AdmissionQueue) { self.queue = queue }

        /// Gives the slot back; later calls do nothing.
        public func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { queue.release() }
        }

        deinit { release() }
    }
}
