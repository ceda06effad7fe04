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
                            logger.debug(
                                "report for a node not in the catalog", metadata: ["node": "\(report.node)"])
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
