import Synchronization

/// A lock for async code: one holder at a time, waiters served in arrival order. For
/// read-modify-write steps that must not interleave within one process (the router's policy
/// load-merge-put, the catalog's restore or reload of its own copy) — an actor would not do,
/// because it is reentrant across `await`.
public final class AsyncSerialLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// An unheld lock.
    public init() {}

    /// Runs `body` while holding the lock; released also when `body` throws.
    public func withLock<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()  // stays held: ownership passes to the next waiter
        }
        next?.resume()
    }
}
