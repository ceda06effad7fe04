import FederationCore
import FederationState
import Logging
import ServiceLifecycle

/// Applies the passive reports published on `{ns}:health:reports`. Malformed ones are counted,
/// logged (the first 20, then every 1000th) and ignored; the subscription reconnects by itself.
struct ReportService: Service {
    let feed: HealthReportFeed
    let owner: HealthOwner
    let metrics: HealthMetrics
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await feed.withReports { messages in
                var malformed = 0
                for await message in messages {
                    switch message {
                    case .report(let report):
                        let outcome = await owner.apply(report: report)
                        if outcome == .unknownNode {
                            logger.debug("report for a node not in the catalog", metadata: ["node": "\(report.node)"])
                        }
                    case .malformed(let problem):
                        malformed += 1
                        metrics.malformedReports.increment()
                        if malformed <= 20 || malformed % 1000 == 0 {
                            logger.warning(
                                "malformed health report ignored",
                                metadata: ["problem": "\(problem.prefix(300))", "count": "\(malformed)"])
                        }
                    case .connected:
                        logger.info("listening for health reports")
                    case .disconnected(let reason):
                        logger.warning("health report subscription lost", metadata: ["reason": "\(reason)"])
                    }
                }
            }
        }
    }
}

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
                        if !warnedEmpty { logger.warning("catalog is empty in Redis; keeping the known nodes") }
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
                        logger.warning("catalog not readable; probing the last known nodes", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
