import FederationCore
import FederationRedis
import Logging

/// What a health-report listener hears on `{ns}:health:reports`.
public enum HealthReportMessage: Sendable, Equatable {
    /// A valid report.
    case report(HealthReport)
    /// A message that is not a valid report: count it, log it, ignore it.
    case malformed(problem: String)
    /// Listening (re)started; reports published while away are lost (they are observations, not
    /// state, so nothing needs re-syncing).
    case connected
    /// Listening stopped; a reconnect is under way.
    case disconnected(String)
}

/// Subscribes to `{ns}:health:reports` and parses every message into a ``HealthReportMessage``
/// (the health service's input).
public struct HealthReportFeed: Sendable {
    public let configuration: RedisConfiguration
    public let keys: FederationKeys
    let logger: Logger

    public init(
        configuration: RedisConfiguration, keys: FederationKeys = .init(),
        logger: Logger = Logger(label: "federation.health-reports")
    ) {
        self.configuration = configuration
        self.keys = keys
        self.logger = logger
    }

    /// Subscribes, runs `body` with the parsed messages, unsubscribes when `body` returns.
    public func withReports<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (AsyncStream<HealthReportMessage>) async throws -> T
    ) async throws -> T {
        try await RedisSubscriber.withSubscriber(
            configuration: configuration, channels: [keys.healthReports], logger: logger
        ) { subscriber in
            let (messages, continuation) = AsyncStream.makeStream(
                of: HealthReportMessage.self, bufferingPolicy: .bufferingNewest(10_000))
            return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                group.addTask {
                    for await event in subscriber.events { continuation.yield(Self.message(from: event)) }
                    continuation.finish()
                }
                defer { group.cancelAll() }
                return try await body(messages)
            }
        }
    }

    /// Publishes a report (for gateways, nodes and tools).
    public static func publish(_ report: HealthReport, client: RedisClient, keys: FederationKeys) async throws
    {
        try await client.command(
            RedisCommand(arguments: [Array("PUBLISH".utf8), Array(keys.healthReports.utf8), report.encoded()])
        )
    }

    static func message(from event: RedisSubscriberEvent) -> HealthReportMessage {
        switch event {
        case .subscribed, .reconnected: return .connected
        case .disconnected(let reason): return .disconnected(reason)
        case .message(_, let payload, _):
            do throws(FederationError) {
                return .report(try HealthReport.parse(payload))
            } catch {
                return .malformed(problem: error.message)
            }
        }
    }
}
