import FederationState
import Logging

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
