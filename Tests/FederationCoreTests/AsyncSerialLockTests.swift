import Synchronization
import Testing

@testable import FederationCore

/// Holders inside the lock right now, and the most ever at once.
private final class Occupancy: Sendable {
    let counts = Mutex((now: 0, most: 0))
}

@Suite struct AsyncSerialLockTests {
    @Test func oneHolderAtATimeAcrossSuspensions() async throws {
        let lock = AsyncSerialLock()
        let inside = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await lock.withLock {
                        inside.counts.withLock { counts in
                            counts.now += 1
                            counts.most = max(counts.most, counts.now)
                        }
                        await Task.yield()
                        inside.counts.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inside.counts.withLock { $0.most } == 1)
    }

    @Test func aThrowingBodyReleasesTheLock() async throws {
        struct Failure: Error {}
        let lock = AsyncSerialLock()
        await #expect(throws: Failure.self) { try await lock.withLock { throw Failure() } }
        #expect(try await lock.withLock { 42 } == 42)
    }
}
