import Logging
import ServiceLifecycle

/// A background service that runs `step` every `interval` until graceful shutdown. A failing step
/// (Redis away) is logged once per outage — `failure` when it starts failing, `recovery` when it
/// succeeds again — and retried at the next tick; it never stops the service.
struct RepeatingTask: Service {
    let interval: Duration
    let logger: Logger
    /// Logged (with the error) when the step starts failing.
    let failure: Logger.Message
    /// Logged when the step succeeds again after failing.
    let recovery: Logger.Message
    let step: @Sendable () async throws -> Void

    func run() async throws {
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

extension RepeatingTask {
    /// Keeps the catalog's own copy current and puts it back into a Redis that lost it: every
    /// `interval` it runs ``CatalogWriter/synchronize()`` (one `GET` of the version when nothing
    /// changed). It reads the catalog at start, follows writes of other catalog processes, and
    /// restores within one interval of Redis answering again — without waiting for any node to renew.
    static func catalogRestorer(writer: CatalogWriter, interval: Duration, logger: Logger) -> RepeatingTask {
        RepeatingTask(
            interval: interval, logger: logger, failure: "could not compare the catalog with Redis; retrying",
            recovery: "catalog copy in sync with Redis again"
        ) { try await writer.synchronize() }
    }

    /// Deregisters nodes whose lease passed, every `interval`.
    static func leaseReaper(writer: CatalogWriter, interval: Duration, logger: Logger) -> RepeatingTask {
        RepeatingTask(
            interval: interval, logger: logger, failure: "lease reaper failed; retrying",
            recovery: "lease reaper recovered"
        ) {
            for node in try await writer.expireLeases() {
                logger.notice("lease expired; node deregistered", metadata: ["node": "\(node)"])
            }
        }
    }
}
