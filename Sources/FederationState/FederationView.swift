import FederationCore
import FederationRedis
import Logging
import ServiceLifecycle
import Synchronization

/// The in-memory, versioned picture of the federation that routers and gateways decide from.
///
/// ``run()`` loads everything, then listens for change events; an event for a family newer than
/// the loaded version reloads that family (one atomic Lua read; bursts coalesce into one load).
/// Everything is reloaded after every (re)subscription and on a slow periodic backstop, so the
/// view converges even when every event is lost. In-flight counts are polled.
///
/// ``snapshot`` is the hot-path read: it copies one reference out of a `Mutex` held for two
/// atomic operations (see docs/BENCHMARKS.md for its cost); nothing else ever holds that lock.
public final class FederationView: Service, Sendable {
    /// Timing of the view's loops.
    public struct Configuration: Sendable {
        /// Full re-sync interval, independent of events.
        public var backstopInterval: Duration
        /// How often cluster in-flight counts are loaded; nil: never.
        public var inFlightInterval: Duration?
        /// The cap of the retry backoff after a failed load.
        public var maximumRetryDelay: Duration
        /// How long the view keeps serving its last catalog when a load finds the catalog empty
        /// with its version reset (Redis lost its data) while the view had nodes: the catalog
        /// service restores it within about a second. Within the grace the catalog is reloaded
        /// every `catalogRecheckInterval` and on every catalog event; an empty catalog that
        /// persists past it is accepted. `.zero`: accept an empty catalog at once.
        public var catalogGracePeriod: Duration
        /// How often a held catalog is reloaded during the grace period.
        public var catalogRecheckInterval: Duration
        /// Called after every new snapshot is published (for metrics and benchmarks; keep it cheap).
        public var onUpdate: (@Sendable (FederationSnapshot) -> Void)?

        public init(
            backstopInterval: Duration = .seconds(5), inFlightInterval: Duration? = .seconds(1),
            maximumRetryDelay: Duration = .seconds(2), catalogGracePeriod: Duration = .seconds(10),
            catalogRecheckInterval: Duration = .milliseconds(250),
            onUpdate: (@Sendable (FederationSnapshot) -> Void)? = nil
        ) {
            self.backstopInterval = backstopInterval
            self.inFlightInterval = inFlightInterval
            self.maximumRetryDelay = maximumRetryDelay
            self.catalogGracePeriod = catalogGracePeriod
            self.catalogRecheckInterval = catalogRecheckInterval
            self.onUpdate = onUpdate
        }
    }

    /// How current the view is, for /readyz and metrics.
    public struct Status: Sendable, Equatable {
        /// Versions of the published snapshot.
        public var versions = SnapshotVersions()
        /// Whether the change feed is listening.
        public var connected = false
        /// When a load last succeeded (any family).
        public var lastSync: ContinuousClock.Instant?
        /// When all three families were last loaded together.
        public var lastFullSync: ContinuousClock.Instant?
        /// Messages on the events channels that were not valid events.
        public var malformedMessages = 0
        /// Events whose version skipped past the next expected one (some were lost).
        public var gapsDetected = 0
        /// Full re-syncs done because the feed reconnected.
        public var resyncs = 0
        /// Full syncs of any cause.
        public var fullSyncs = 0
        /// Loads that failed (Redis unreachable, invalid policy…); the previous data stays.
        public var loadFailures = 0
        /// Stored records skipped because they could not be decoded.
        public var invalidRecords = 0
        /// The last load error.
        public var lastError: String?
        /// Since when the view serves its last catalog instead of an empty one whose version was
        /// reset (Redis lost its data; the catalog owner is restoring it); nil when not holding.
        /// The snapshot's catalog is stale meanwhile.
        public var catalogHeldSince: ContinuousClock.Instant?
        /// How often the view started holding its catalog.
        public var catalogHolds = 0

        /// Whether the snapshot's catalog is the last one kept over an empty reset catalog.
        public var isHoldingCatalog: Bool { catalogHeldSince != nil }

        /// Time since the last successful load; nil before the first.
        public func ageOfLastSync(now: ContinuousClock.Instant = .now) -> Duration? {
            lastSync.map { now - $0 }
        }
    }

    enum Part: Hashable, Sendable, CaseIterable { case catalog, health, policy, inFlight }

    /// An immutable published snapshot, shared by reference: reading through it retains one
    /// object instead of copying every part of the value.
    public final class SnapshotBox: Sendable {
        /// The snapshot; access it in place (`box.snapshot.candidates(for:)`), copy only when needed.
        public let snapshot: FederationSnapshot
        init(_ snapshot: FederationSnapshot) { self.snapshot = snapshot }
    }

    let catalogStore: any CatalogStore
    let healthStore: any HealthStore
    let policyStore: any PolicyStore
    let gatewayStore: (any GatewayStore)?
    let feed: any FederationChangeFeed
    let configuration: Configuration
    let logger: Logger
    let clock: any FederationClock
    let current = Mutex(SnapshotBox(FederationSnapshot()))
    let state = Mutex(Status())
    let pending = Mutex(Set<Part>())
    /// Highest event version seen per family (for gap detection).
    let seenEvents = Mutex([FederationFamily: UInt64]())
    let started = Atomic<Bool>(false)
    let wakeups: AsyncStream<Void>
    let wake: AsyncStream<Void>.Continuation

    /// A view over any stores and change feed (in-memory ones for tests of other services).
    public init(
        catalog: any CatalogStore, health: any HealthStore, policy: any PolicyStore,
        gateways: (any GatewayStore)?,
        changes: any FederationChangeFeed, configuration: Configuration = .init(),
        clock: any FederationClock = SystemClock(),
        logger: Logger = Logger(label: "federation.view")
    ) {
        self.catalogStore = catalog
        self.healthStore = health
        self.policyStore = policy
        self.gatewayStore = gateways
        self.feed = changes
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A view of the federation in Redis under `keys`' namespace, using `client` for loads and a
    /// subscriber connection of its own for events.
    public convenience init(
        redis client: RedisClient, keys: FederationKeys = .init(), configuration: Configuration = .init(),
        logger: Logger = Logger(label: "federation.view")
    ) {
        self.init(
            catalog: RedisCatalogStore(client: client, keys: keys),
            health: RedisHealthStore(client: client, keys: keys),
            policy: RedisPolicyStore(client: client, keys: keys),
            gateways: RedisGatewayStore(client: client, keys: keys),
            changes: RedisChangeFeed(configuration: client.configuration, keys: keys, logger: logger),
            configuration: configuration, logger: logger)
    }

    /// The current snapshot: never blocks on I/O, safe from any thread. Copying the value out
    /// retains each of its parts; on the hottest paths prefer ``withSnapshot(_:)``.
    public var snapshot: FederationSnapshot { current.withLock { $0 }.snapshot }

    /// The current snapshot by reference — the hot-path read (one retain, see docs/BENCHMARKS.md).
    /// It stays valid as long as it is held, even after a newer one is published.
    public var currentSnapshot: SnapshotBox { current.withLock { $0 } }

    /// How current the view is.
    public var status: Status { state.withLock { $0 } }

    /// Waits until `predicate` holds for the snapshot (checked every 5 ms); false on timeout.
    public func waitUntil(
        timeout: Duration = .seconds(10), _ predicate: (FederationSnapshot) -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(snapshot) { return true }
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return false }
        }
        return predicate(snapshot)
    }

    /// Asks the running view to reload everything now (returns at once).
    public func requestSync() { request(Set(Part.allCases)) }

    func request(_ parts: Set<Part>) {
        pending.withLock { $0.formUnion(parts) }
        wake.yield()
    }
}
