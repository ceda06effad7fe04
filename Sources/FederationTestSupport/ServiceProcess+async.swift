/// The blocking part of ``ServiceProcess`` (waiting for the process to exit) for async tests, run
/// through ``blocking(_:)`` on a thread of its own, never on the cooperative pool.
extension ServiceProcess {
    /// SIGTERM, up to `grace` for a graceful exit, then SIGKILL, off the cooperative pool.
    /// Returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32? {
        await blocking { self.stop(grace: grace) }
    }
}
