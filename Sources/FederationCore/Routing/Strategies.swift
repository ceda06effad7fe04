/// The five load-balancing strategies. Each picks from candidates that already passed every
/// rule; ties are broken at random, never by position.

/// Round-robin counters are kept per capability and model.
struct RoundRobinKey: Hashable {
    var capability: Capability
    var model: ModelId?
}

extension RoutingEngine {
    /// The `count` best-scored entries, best first (ties in node-id order so the cut is stable).
    /// Linear in the pool size for a small `count`.
    func topScored(_ pool: [Scored], count: Int, nodes: [CandidateNode]) -> [Scored] {
        if pool.count <= count { return pool }
        var top: [Scored] = []
        top.reserveCapacity(count + 1)
        for entry in pool {
            if top.count == count, let last = top.last, !ranksBefore(entry, last) { continue }
            var position = top.count
            while position > 0, ranksBefore(entry, top[position - 1]) { position -= 1 }
            top.insert(entry, at: position)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    private func ranksBefore(_ a: Scored, _ b: Scored) -> Bool {
        a.score != b.score ? a.score > b.score : a.index < b.index
    }

    /// Each node in turn (in node-id order), exactly evenly over time.
    func pickRoundRobin(_ top: [Scored], _ nodes: [CandidateNode], _ request: InferenceRequest) -> Scored {
        let ordered = top.sorted { $0.index < $1.index }
        let key = RoundRobinKey(capability: request.capability, model: request.model)
        let counter = nextRoundRobin(key)
        return ordered[Int(counter % UInt64(ordered.count))]
    }

    /// The entry with the smallest `metric`; among equals the best score; among those, a random one.
    func pickLeast(_ top: [Scored], metric: (Scored) -> Double) -> Scored {
        var best: [Scored] = []
        var bestMetric = Double.infinity
        var bestScore = -Double.infinity
        for entry in top {
            let value = metric(entry)
            if best.isEmpty || value < bestMetric - 1e-9 {
                best = [entry]
                bestMetric = value
                bestScore = entry.score
            } else if abs(value - bestMetric) <= 1e-9 || (value.isInfinite && bestMetric.isInfinite) {
                if entry.score > bestScore + 1e-9 {
                    best = [entry]
                    bestScore = entry.score
                } else if abs(entry.score - bestScore) <= 1e-9 {
                    best.append(entry)
                }
            }
        }
        return best.count == 1 ? best[0] : best[random.next(below: best.count)]
    }

    /// At random, with probability proportional to score.
    func pickWeightedRandom(_ top: [Scored]) -> Scored {
        let total = top.reduce(0) { $0 + $1.score }
        guard total > 0 else { return top[random.next(below: top.count)] }
        var remaining = random.nextUnit() * total
        for entry in top {
            remaining -= entry.score
            if remaining < 0 { return entry }
        }
        return top[top.count - 1]
    }

    /// Rendezvous (highest-random-weight) hashing on the request's affinity key — session, else
    /// tenant, else request id — over all eligible nodes, so the choice is the same in every
    /// process and only ≈1/N keys move when a node comes or goes. Bounded load: a node already
    /// holding more than `loadFactor` × the average in-flight load is passed over for the next
    /// one in the key's order.
    func pickConsistentHash(
        _ pool: [Scored], _ nodes: [CandidateNode], _ request: InferenceRequest, _ loadFactor: Double,
        _ loadOf: (Int) -> Int
    ) -> Scored {
        let key = request.affinityKey ?? request.tenantId ?? request.requestId
        let keyHash = StableHash.fnv1a(key)
        var ranked = pool.map { (entry: $0, weight: StableHash.mix(keyHash, nodes[$0.index].stableHash)) }
        var totalLoad = 0
        for entry in pool { totalLoad += loadOf(entry.index) }
        let capacity = (loadFactor * Double(totalLoad + 1) / Double(pool.count)).rounded(.up)
        if let best = ranked.max(by: { $0.weight < $1.weight }), Double(loadOf(best.entry.index)) < capacity {
            return best.entry
        }
        ranked.sort { $0.weight > $1.weight }
        return ranked.first { Double(loadOf($0.entry.index)) < capacity }?.entry ?? ranked[0].entry
    }
}
