/// Polls `condition` every `interval` until it holds or `timeout` passes (generous: the machine
/// is shared, and these are liveness checks, not timing assertions); returns whether it held.
/// A check that throws counts as "not yet"; the last check's error, if any, is rethrown.
public func eventually(
    timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` until it holds; throws a ``WaitFailure`` naming `what` (with the log tails of
/// `processes`) when `timeout` passes or one of `processes` exits first. A check that throws
/// counts as "not yet".
public func eventually(
    _ what: String, timeout: Duration = .seconds(45), every interval: Duration = .milliseconds(50),
    watching processes: [ServiceProcess] = [], _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let dead = processes.first(where: { !$0.isRunning }) {
            throw WaitFailure(message: "\(dead.name) exited while waiting for: \(what)\n\(dead.logTail)")
        }
        if (try? await condition()) == true { return }
        try await Task.sleep(for: interval)
    }
    throw WaitFailure(
        message: "timed out waiting for: \(what)\n" + processes.map(\.logTail).joined(separator: "\n"))
}

/// A condition passed to ``eventually(_:timeout:every:watching:_:)`` did not hold in time.
public struct WaitFailure: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
