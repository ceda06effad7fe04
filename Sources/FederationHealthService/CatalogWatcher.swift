import FederationCore
import FederationState
import Logging
import ServiceLifecycle

/// Keeps the probe targets equal to the catalog: polls the catalog version every `interval`
/// and reloads the catalog when it changed (and at start).
struct CatalogWatcher: Service {
    let store: any CatalogStore
    let owner: HealthOwner
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var loaded: UInt64?
            var failures = 0
            var warnedEmpty = false
            while !Task.isCancelled {
                do {
                    let version = try await store.catalogVersion()
                    // Version 0 after a loaded catalog: Redis lost its data (restart without
                    // persistence). Keep probing the known nodes until the catalog is written again.
                    if version == 0, loaded != nil {
                        if !warnedEmpty {
                            logger.warning("catalog is empty in Redis; keeping the known nodes")
                        }
                        warnedEmpty = true
                    } else if version != loaded {
                        let catalog = try await store.loadCatalog()
                        await owner.setCatalog(catalog.value.nodes.mapValues(\.endpoint))
                        loaded = catalog.version
                        warnedEmpty = false
                    }
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 1 || failures % 100 == 0 {
                        logger.warning(
                            "catalog not readable; probing the last known nodes",
                            metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
