import FederationCore
import FederationState
import Logging
import ServiceLifecycle

/// The background service that deregisters nodes whose lease passed, every `interval`. Failures
/// (Redis away) are logged once per outage and retried at the next tick; they never stop it.
struct LeaseReaper: Service {
    let writer: CatalogWriter
    let interval: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var failing = false
                while !Task.isCancelled {
                    do {
                        let expired = try await writer.expireLeases()
                        for node in expired {
                            logger.notice("lease expired; node deregistered", metadata: ["node": "\(node)"])
                        }
                        if failing {
                            logger.info("lease reaper recovered")
                            failing = false
                        }
                    } catch is CancellationError {
                        return
                    } catch {
                        if !failing {
                            logger.warning("lease reaper failed; retrying", metadata: ["error": "\(error)"])
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
