import FederationConfig
import FederationCore
import Synchronization

/// Per-tenant limits of requests and tokens per minute, answered in memory on the request path
/// and held across every gateway replica by ``RateLimitSync`` in the background.
///
/// Windows are fixed wall-clock minutes with a sliding estimate (``RateWindow``); between syncs
/// a replica may use the share of what is left that it claimed at the last sync (left ÷ live
/// replicas). When the last sync failed or is older than `staleAfter` (Redis away, the sync not
/// running), the replica counts itself as the only one and enforces each limit from what it knows
/// — the cluster's use as of the last sync plus its own since — so it neither lets everything
/// through nor refuses everything during a Redis outage. docs/GATEWAY.md (API keys, tenants and rate limits) has the bounds.
public final class TenantRateLimiter: Sendable {
    /// The limits of every tenant that has one.
    public let limits: [String: TenantLimits]
    /// The source of "now"; windows are wall-clock minutes shared by every replica.
    public let clock: any FederationClock
    /// Tokens reserved for a request that does not say `max_tokens`.
    public let defaultTokenEstimate: Int
    /// A sync older than this no longer counts: the replica then enforces the limits alone.
    public let staleAfter: Duration

    struct MeterKey: Hashable {
        let tenant: String
        let kind: RateLimitKind
    }

    struct State {
        var meters: [MeterKey: RateLimitMeter]
        var replicas = 1
        var lastSync: Timestamp?
        var lastSyncFailed = false
    }

    let state: Mutex<State>

    public init(
        limits: [String: TenantLimits], clock: any FederationClock = SystemClock(),
        defaultTokenEstimate: Int = 256, staleAfter: Duration = .seconds(3)
    ) {
        self.limits = limits.filter { $0.value.requestsPerMinute != nil || $0.value.tokensPerMinute != nil }
        self.clock = clock
        self.defaultTokenEstimate = max(0, defaultTokenEstimate)
        self.staleAfter = staleAfter
        var meters: [MeterKey: RateLimitMeter] = [:]
        for (tenant, limit) in self.limits {
            for kind in RateLimitKind.allCases {
                if let value = limit.limit(kind), value > 0 {
                    meters[MeterKey(tenant: tenant, kind: kind)] = RateLimitMeter(limit: value)
                }
            }
        }
        state = Mutex(State(meters: meters))
    }

    /// The limits of `gateway.tenants`.
    public convenience init(
        settings: GatewaySettings, clock: any FederationClock = SystemClock(),
        defaultTokenEstimate: Int = 256,
        staleAfter: Duration = .seconds(3)
    ) {
        self.init(
            limits: settings.tenants.mapValues {
                TenantLimits(requestsPerMinute: $0.requestsPerMinute, tokensPerMinute: $0.tokensPerMinute)
            }, clock: clock, defaultTokenEstimate: defaultTokenEstimate, staleAfter: staleAfter)
    }

    /// The index of the minute window `instant` falls in (minutes since the epoch): the
    /// `{window}` of the `{ns}:ratelimit:{window}` counters.
    public static func window(containing instant: Timestamp) -> Int64 { RateWindow(instant).index }

    /// Whether any tenant has a limit (else there is nothing to sync).
    public var isEmpty: Bool { limits.isEmpty }

    /// Live replicas as of the last sync (1 before it).
    public var replicaCount: Int { state.withLock { $0.replicas } }

    /// Whether the last sync succeeded within `staleAfter`: the limits are then shared across the
    /// replicas; otherwise this replica enforces them alone.
    public func isSynchronized(now: Timestamp? = nil) -> Bool {
        let now = now ?? clock.now()
        return state.withLock { Self.synchronized($0, now: now, staleAfter: staleAfter) }
    }

    static func synchronized(_ state: State, now: Timestamp, staleAfter: Duration) -> Bool {
        guard let last = state.lastSync, !state.lastSyncFailed else { return false }
        return now.duration(since: last) <= staleAfter
    }

    /// Admits one request of `tenant` reserving `reservedTokens` (clamped to 0…the tenant's token
    /// limit), or says which limit refuses it and when to retry. A tenant without limits is
    /// always admitted. Counts the request when admitted; nothing when denied.
    public func admit(tenant: String, reservedTokens: Int, now: Timestamp? = nil) -> RateLimitDecision {
        guard let limit = limits[tenant] else { return .admitted(reservedTokens: max(0, reservedTokens)) }
        let reserved = Int64(max(0, min(reservedTokens, limit.tokensPerMinute ?? reservedTokens)))
        let now = now ?? clock.now()
        let at = RateWindow(now)
        let staleAfter = self.staleAfter
        return state.withLock { state -> RateLimitDecision in
            let synchronized = Self.synchronized(state, now: now, staleAfter: staleAfter)
            let requests = MeterKey(tenant: tenant, kind: .requests)
            let tokens = MeterKey(tenant: tenant, kind: .tokens)
            state.meters[requests]?.roll(to: at.index)
            state.meters[tokens]?.roll(to: at.index)
            for (key, cost) in [(requests, Int64(1)), (tokens, reserved)] {
                guard let meter = state.meters[key] else { continue }
                if !meter.admits(
                    cost: cost, kind: key.kind, at: at, synchronized: synchronized, replicas: state.replicas)
                {
                    return .denied(
                        RateLimitDenial(
                            tenant: tenant, kind: key.kind, limit: Int(meter.limit),
                            used: Int(saturating: meter.estimate(at).rounded()), requested: Int(cost),
                            retryAfter: meter.retryAfter(at: at)))
                }
            }
            state.meters[requests]?.record(1, in: at.index)
            state.meters[tokens]?.record(reserved, in: at.index)
            return .admitted(reservedTokens: Int(reserved))
        }
    }

    /// Replaces a reservation by the tokens the request really used, in the window it was
    /// admitted in (`admittedAt`, else now); a no-op for tenants without a token limit.
    public func settle(
        tenant: String, reservedTokens: Int, actualTokens: Int, admittedAt: Timestamp? = nil,
        now: Timestamp? = nil
    ) {
        let key = MeterKey(tenant: tenant, kind: .tokens)
        let at = RateWindow(admittedAt ?? now ?? clock.now())
        let difference = Int64(max(0, actualTokens)).saturatingSubtract(Int64(max(0, reservedTokens)))
        state.withLock { state in
            state.meters[key]?.record(difference, in: at.index)
        }
    }
}
