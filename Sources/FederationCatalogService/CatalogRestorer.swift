import Logging
import ServiceLifecycle

/// The background service that keeps the catalog's own copy current and puts it back into a
/// Redis that lost it: every `interval` it runs ``CatalogWriter/synchronize()`` (one `GET` of the
/// version when nothing changed). It reads the catalog at start, follows writes of other catalog
/// processes, and restores within one interval of Redis answering again — without waiting for
/// any node to renew. Failures (Redis away) are logged once per outage and retried.
struct CatalogRestorer: Service {
    let writer: CatalogWriter
    let interval: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var failing = false
                while !Task.isCancelled {
                    do {
                        try await writer.synchronize()
                        if failing {
                            logger.info("catalog copy in sync with Redis again")
                            failing = false
                        }
                    } catch is CancellationError {
                        return
                    } catch {
                        if !failing {
                            logger.warning(
                                "could not compare the catalog with Redis; retrying",
                                metadata: ["error": "\(error)"])
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
