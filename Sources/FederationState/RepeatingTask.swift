import Logging
import ServiceLifecycle

/// A background service that runs `step` every `interval` until graceful shutdown. A failing step
/// (Redis away) is logged once per outage — `failure` when it starts failing, `recovery` when it
/// succeeds again — and retried at the next tick; it never stops the service. The catalog's
/// restorer and lease reaper and the gateway's heartbeat and in-flight flush are each one.
public struct RepeatingTask: Service {
    public let interval: Duration
    public let logger: Logger
    /// Logged (with the error) when the step starts failing.
    public let failure: Logger.Message
    /// Logged when the step succeeds again after failing.
    public let recovery: Logger.Message
    public let step: @Sendable () async throws -> Void

    public init(
        interval: Duration, logger: Logger, failure: Logger.Message, recovery: Logger.Message,
        step: @escaping @Sendable () async throws -> Void
    ) {
        self.interval = interval
        self.logger = logger
        self.failure = failure
        self.recovery = recovery
        self.step = step
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var failing = false
                while !Task.isCancelled {
                    do {
                        try await step()
                        if failing {
                            logger.info(recovery)
                            failing = false
                        }
                    } catch is CancellationError {
                        return
                    } catch {
                        if !failing {
                            logger.warning(failure, metadata: ["error": "\(error)"])
                            failing = true
                        }
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
    }
}
