import Foundation

/// Runs a blocking call (starting or stopping a process, waiting for it to exit, sleeping) on a
/// thread of its own, so that async tests never block Swift's cooperative pool (two threads on
/// this machine) with it.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// ``blocking(_:)`` for a call that cannot throw.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
