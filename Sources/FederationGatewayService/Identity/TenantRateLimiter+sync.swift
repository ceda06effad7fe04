import FederationCore

/// One sync of a ``TenantRateLimiter`` with the cluster, as planned before it is sent: what to
/// add to which counter, and the claims made. ``RateLimitSync`` turns it into one Redis
/// transaction and hands the counters it read back to ``TenantRateLimiter/finish(_:current:previous:replicas:now:)``.
struct RateLimitTick: Sendable {
    /// One change of one counter: `field` (`{kind}:{tenant}`) of window `window` by `delta`.
    struct Change: Sendable, Equatable {
        let window: Int64
        let field: String
        let delta: Int64
    }

    struct Claim: Sendable {
        let key: TenantRateLimiter.MeterKey
        /// What this replica claims in the current window, and the claim it replaces.
        let desire: Int64
        let replaced: Int64
        /// The use and the returned claims written by this tick, by window.
        let flushed: [Int64: Int64]
        let returned: [Int64: Int64]
    }

    /// The current window (minutes since the epoch).
    let window: Int64
    /// The counter changes, nonzero only.
    let changes: [Change]
    let claims: [Claim]

    /// The counter field of one limit of one tenant.
    static func field(_ key: TenantRateLimiter.MeterKey) -> String { "\(key.kind.rawValue):\(key.tenant)" }
}

extension TenantRateLimiter {
    /// Plans the next sync at `now`: every limit's unwritten use, the claims to give back, and the
    /// new claim — the replica's share of what is left (left ÷ live replicas, rounded up); none
    /// when `claiming` is false (the last sync of a replica that shuts down gives everything back).
    func startTick(now: Timestamp? = nil, claiming: Bool = true) -> RateLimitTick {
        let now = now ?? clock.now()
        let at = RateWindow(now)
        return state.withLock { state in
            var changes: [RateLimitTick.Change] = []
            var claims: [RateLimitTick.Claim] = []
            let replicas = Int64(max(1, state.replicas))
            for key in state.meters.keys.sorted(by: {
                ($0.tenant, $0.kind.rawValue) < ($1.tenant, $1.kind.rawValue)
            }) {
                guard var meter = state.meters[key] else { continue }
                meter.roll(to: at.index)
                state.meters[key] = meter
                let field = RateLimitTick.field(key)
                var deltas = meter.unflushed
                for (window, amount) in meter.returns { deltas[window, default: 0] -= amount }
                let left = max(0, meter.budget(at) - Double(meter.knownCurrent))
                // Counters come from Redis (outside input): the claim never exceeds the limit.
                let desire =
                    claiming ? min(meter.limit, Int64(saturating: (left / Double(replicas)).rounded(.up))) : 0
                deltas[at.index, default: 0] += desire - meter.held
                for (window, delta) in deltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
                    changes.append(.init(window: window, field: field, delta: delta))
                }
                claims.append(
                    .init(
                        key: key, desire: desire, replaced: meter.held, flushed: meter.unflushed,
                        returned: meter.returns))
            }
            return RateLimitTick(window: at.index, changes: changes, claims: claims)
        }
    }

    /// Applies what the sync read: the cluster counters of the tick's window (`current`) and the
    /// window before it (`previous`), after this replica's changes, and the live replica count.
    /// Grants every limit its claim cut to what really is left.
    func finish(
        _ tick: RateLimitTick, current: [String: Int64], previous: [String: Int64], replicas: Int,
        now: Timestamp? = nil
    ) {
        let now = now ?? clock.now()
        let at = RateWindow(now)
        state.withLock { state in
            state.replicas = max(1, replicas)
            state.lastSync = now
            state.lastSyncFailed = false
            for claim in tick.claims {
                guard var meter = state.meters[claim.key] else { continue }
                for (window, amount) in claim.flushed { meter.record(-amount, in: window) }
                for (window, amount) in claim.returned {
                    guard let open = meter.returns[window] else { continue }
                    meter.returns[window] = open == amount ? nil : open - amount
                }
                let field = RateLimitTick.field(claim.key)
                if meter.window == tick.window + 1 {
                    // The window rolled during the round trip: the claim to give back is the one
                    // this tick made, and the tick's window is the previous one now.
                    let correction = claim.desire - claim.replaced
                    if correction != 0 { meter.returns[tick.window, default: 0] += correction }
                    meter.previous = (current[field] ?? 0).saturatingSubtract(claim.desire)
                }
                if meter.window == tick.window {
                    meter.claimed = current[field] ?? 0
                    meter.previous = previous[field] ?? 0
                    meter.held = claim.desire
                    if at.index == tick.window {
                        // What was left before this claim, as Redis serialized the replicas' updates.
                        let before = Double(meter.claimed) - Double(claim.desire)
                        var room = meter.budget(at) - before
                        if !meter.granted {
                            // The window's first grant: the other replicas may have used their
                            // share of its first moments (budget ÷ replicas) without writing it yet.
                            let others = Double(max(1, replicas) - 1)
                            room -= others * meter.budget(at) / Double(max(1, replicas))
                        }
                        meter.grant = max(0, min(claim.desire, Int64(saturating: room.rounded(.down))))
                        meter.granted = true
                    }
                }
                meter.unflushed = meter.unflushed.filter { $0.value != 0 }
                state.meters[claim.key] = meter
            }
        }
    }

    /// The sync failed (Redis away): nothing it planned counts as written, and this replica
    /// enforces the limits alone until a sync succeeds again.
    func failTick(_ tick: RateLimitTick) {
        state.withLock { $0.lastSyncFailed = true }
    }
}
