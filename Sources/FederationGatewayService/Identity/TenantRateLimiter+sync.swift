import FederationCore

/// One sync of a ``TenantRateLimiter`` with the cluster, as planned before it is sent: the
/// values of this replica's fields and the claims made. ``RateLimitSync`` turns it into one Redis
/// transaction and hands the counters it read back to `TenantRateLimiter.finish`.
struct RateLimitTick: Sendable {
    /// One of this replica's fields (`{kind}|{tenant}|{gateway}`) of window `window`, set to `value`.
    struct Write: Sendable, Equatable {
        let window: Int64
        let field: String
        let value: Int64
    }

    struct Claim: Sendable {
        let key: TenantRateLimiter.MeterKey
        /// What this replica claims in the current window.
        let desire: Int64
        /// This replica's use in the current window, as written.
        let use: Int64
        /// The values written (or found unchanged), by window.
        let values: [Int64: Int64]
    }

    /// The current window (minutes since the epoch).
    let window: Int64
    /// The fields to write (those whose value changed since the last sync).
    let writes: [Write]
    let claims: [Claim]
}

/// The counters of one window as read from Redis: per limit, the sum of the other replicas' fields.
struct RateLimitCounters: Sendable {
    var others: [TenantRateLimiter.MeterKey: Int64] = [:]

    /// From `HGETALL` fields `{kind}|{tenant}|{gateway}`; this replica's own fields, fields of
    /// another shape and values that are not integers (someone else wrote them) are skipped.
    init(fields: [String: String], gatewayId: String) {
        for (field, value) in fields {
            let parts = field.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2] != gatewayId,
                let kind = RateLimitKind(rawValue: String(parts[0])),
                let number = Int64(value)
            else { continue }
            let key = TenantRateLimiter.MeterKey(tenant: String(parts[1]), kind: kind)
            others[key] = (others[key] ?? 0).saturatingAdd(number)
        }
    }

    init() {}

    /// The field of one limit of one tenant on one replica.
    static func field(_ key: TenantRateLimiter.MeterKey, gatewayId: String) -> String {
        "\(key.kind.rawValue)|\(key.tenant)|\(gatewayId)"
    }
}

extension TenantRateLimiter {
    /// Plans the next sync at `now`: for every limit this replica's use plus its new claim — its
    /// share of what is left (left ÷ live replicas, rounded up) — in the current window, and its
    /// use alone in the previous one; no claim when `claiming` is false (the last sync of a
    /// replica that shuts down gives everything back).
    func startTick(gatewayId: String, now: Timestamp? = nil, claiming: Bool = true) -> RateLimitTick {
        let now = now ?? clock.now()
        let at = RateWindow(now)
        return state.withLock { state in
            var writes: [RateLimitTick.Write] = []
            var claims: [RateLimitTick.Claim] = []
            let replicas = Int64(max(1, state.replicas))
            let keys = state.meters.keys.sorted {
                ($0.tenant, $0.kind.rawValue) < ($1.tenant, $1.kind.rawValue)
            }
            for key in keys {
                guard var meter = state.meters[key] else { continue }
                meter.roll(to: at.index)
                state.meters[key] = meter
                let field = RateLimitCounters.field(key, gatewayId: gatewayId)
                let left = max(0, meter.budget(at) - Double(meter.knownCurrent))
                // Counters come from Redis (outside input): the claim never exceeds the limit.
                let desire =
                    claiming ? min(meter.limit, Int64(saturating: (left / Double(replicas)).rounded(.up))) : 0
                let use = meter.use[at.index] ?? 0
                var values: [Int64: Int64] = [at.index: use.saturatingAdd(desire)]
                if let previous = meter.use[at.index - 1] ?? meter.written[at.index - 1].map({ _ in 0 }) {
                    values[at.index - 1] = previous
                }
                for (window, value) in values.sorted(by: { $0.key < $1.key })
                where meter.written[window] != value {
                    writes.append(.init(window: window, field: field, value: value))
                }
                claims.append(.init(key: key, desire: desire, use: use, values: values))
            }
            return RateLimitTick(window: at.index, writes: writes, claims: claims)
        }
    }

    /// Applies what the sync read: the other replicas' counters in the tick's window (`current`)
    /// and the window before it (`previous`), and the live replica count. Grants every limit its
    /// claim cut to what really is left.
    func finish(
        _ tick: RateLimitTick, current: RateLimitCounters, previous: RateLimitCounters, replicas: Int,
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
                for (window, value) in claim.values { meter.written[window] = value }
                let othersCurrent = current.others[claim.key] ?? 0
                if meter.window == tick.window + 1 {
                    // The window rolled during the round trip: the tick's window is the previous one.
                    meter.othersPrevious = othersCurrent
                } else if meter.window == tick.window {
                    meter.othersCurrent = othersCurrent
                    meter.othersPrevious = previous.others[claim.key] ?? 0
                    meter.held = claim.desire
                    meter.useAtSync = claim.use
                    if at.index == tick.window {
                        // What was left before this claim, as Redis serialized the replicas' updates.
                        let before = Double(othersCurrent) + Double(claim.use)
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
                state.meters[claim.key] = meter
            }
        }
    }

    /// The sync failed (Redis away): it may or may not have been written, so the next one writes
    /// every field again; until a sync succeeds this replica enforces the limits alone.
    func failTick(_ tick: RateLimitTick) {
        state.withLock { state in
            state.lastSyncFailed = true
            for key in state.meters.keys { state.meters[key]?.written = [:] }
        }
    }
}
