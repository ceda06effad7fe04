/// Privacy and cost of a region.
public struct RegionSettings: Sendable, Equatable, Codable {
    public var privacy: PrivacyLevel
    /// Relative price in [0, 1]: 0 cheapest.
    public var cost: Double

    public init(privacy: PrivacyLevel, cost: Double = 0.5) {
        self.privacy = privacy
        self.cost = cost
    }
}

/// The weight of each built-in policy in the composite score. A weight of 0 keeps the policy's
/// eligibility rule but removes it from the score.
public struct PolicyWeights: Sendable, Equatable, Codable {
    public var health = 2.0
    public var latency = 1.0
    public var privacy = 1.0
    public var locality = 1.0
    public var cost = 1.0
    public var qos = 1.0
    public var tenantAffinity = 1.0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case health, latency, privacy, locality, cost, qos, tenantAffinity = "tenant_affinity"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        health = try c.decodeIfPresent(Double.self, forKey: .health) ?? 2.0
        latency = try c.decodeIfPresent(Double.self, forKey: .latency) ?? 1.0
        privacy = try c.decodeIfPresent(Double.self, forKey: .privacy) ?? 1.0
        locality = try c.decodeIfPresent(Double.self, forKey: .locality) ?? 1.0
        cost = try c.decodeIfPresent(Double.self, forKey: .cost) ?? 1.0
        qos = try c.decodeIfPresent(Double.self, forKey: .qos) ?? 1.0
        tenantAffinity = try c.decodeIfPresent(Double.self, forKey: .tenantAffinity) ?? 1.0
    }
}

/// The active routing policy: owned by the router service, stored in `fed:policy`, and applied
/// identically by the router and every gateway.
public struct RoutingPolicyDocument: Sendable, Equatable, Codable {
    /// Bumped by the router on every change.
    public var version: UInt64 = 0
    public var strategy: LoadBalanceStrategy = .leastLatency
    /// Candidates scoring below this (composite score in [0, 1]) are rejected.
    public var minScore = 0.1
    /// How many of the best candidates the strategy chooses among.
    public var maxCandidates = 10
    /// When fewer than this share of a request's policy-eligible nodes are healthy, unhealthy
    /// nodes (whose circuit is not open) are routed to as well, as load balancers do. 0 disables.
    public var panicThreshold = 0.5
    public var weights = PolicyWeights()
    /// Per-region privacy level and cost.
    public var regions: [String: RegionSettings] = [:]
    /// Privacy level of a region with no entry in `regions`.
    public var defaultPrivacy: PrivacyLevel = .internal
    /// Cost of a region with no entry in `regions`.
    public var defaultCost = 0.5
    /// Latency at or above which a node scores 0 and is ineligible (milliseconds).
    public var maxLatencyMs = 5000.0
    public var localityBoost = 0.3
    public var crossRegionPenalty = 0.1
    /// Tenant → nodes it prefers (a preference, never a requirement).
    public var tenantAffinity: [String: [NodeId]] = [:]
    /// Consistent hashing moves a key off its node when that node has more than this factor
    /// times the average in-flight load (bounded-load hashing).
    public var hashLoadFactor = 1.25

    public init() {}

    enum CodingKeys: String, CodingKey {
        case version, strategy, minScore = "min_score", maxCandidates = "max_candidates"
        case panicThreshold = "panic_threshold", weights, regions, defaultPrivacy = "default_privacy"
        case defaultCost = "default_cost", maxLatencyMs = "max_latency_ms", localityBoost = "locality_boost"
        case crossRegionPenalty = "cross_region_penalty", tenantAffinity = "tenant_affinity"
        case hashLoadFactor = "hash_load_factor"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RoutingPolicyDocument()
        // Integers go through the checked decoders (Foundation reports -1 or 1.5 for an integer as
        // "not valid JSON"); ranges of the rest are checked by `validationProblem`, all at once.
        version = try c.decodeInteger(UInt64.self, forKey: .version, in: 0...UInt64(Int64.max)) ?? d.version
        strategy = try c.decodeIfPresent(LoadBalanceStrategy.self, forKey: .strategy) ?? d.strategy
        minScore = try c.decodeIfPresent(Double.self, forKey: .minScore) ?? d.minScore
        maxCandidates = try c.decodeInteger(Int.self, forKey: .maxCandidates, in: 1...1000) ?? d.maxCandidates
        panicThreshold = try c.decodeIfPresent(Double.self, forKey: .panicThreshold) ?? d.panicThreshold
        weights = try c.decodeIfPresent(PolicyWeights.self, forKey: .weights) ?? d.weights
        regions = try c.decodeIfPresent([String: RegionSettings].self, forKey: .regions) ?? d.regions
        defaultPrivacy = try c.decodeIfPresent(PrivacyLevel.self, forKey: .defaultPrivacy) ?? d.defaultPrivacy
        defaultCost = try c.decodeIfPresent(Double.self, forKey: .defaultCost) ?? d.defaultCost
        maxLatencyMs = try c.decodeIfPresent(Double.self, forKey: .maxLatencyMs) ?? d.maxLatencyMs
        localityBoost = try c.decodeIfPresent(Double.self, forKey: .localityBoost) ?? d.localityBoost
        crossRegionPenalty =
            try c.decodeIfPresent(Double.self, forKey: .crossRegionPenalty) ?? d.crossRegionPenalty
        tenantAffinity =
            try c.decodeIfPresent([String: [NodeId]].self, forKey: .tenantAffinity) ?? d.tenantAffinity
        hashLoadFactor = try c.decodeIfPresent(Double.self, forKey: .hashLoadFactor) ?? d.hashLoadFactor
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Privacy level of `region` (without node overrides).
    public func privacy(of region: RegionId) -> PrivacyLevel {
        regions[region.rawValue]?.privacy ?? defaultPrivacy
    }

    /// Cost of `region` (without node overrides).
    public func cost(of region: RegionId) -> Double {
        regions[region.rawValue]?.cost ?? defaultCost
    }

    /// nil when the document can be applied, else every problem found, joined.
    public var validationProblem: String? {
        var problems: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { problems.append(message()) } }
        check((0...1).contains(minScore), "min_score \(minScore) is outside 0…1")
        check((1...1000).contains(maxCandidates), "max_candidates \(maxCandidates) is outside 1…1000")
        check((0...1).contains(panicThreshold), "panic_threshold \(panicThreshold) is outside 0…1")
        check((0...1).contains(defaultCost), "default_cost \(defaultCost) is outside 0…1")
        check(maxLatencyMs > 0 && maxLatencyMs.isFinite, "max_latency_ms must be a positive number")
        check((0...1).contains(localityBoost), "locality_boost \(localityBoost) is outside 0…1")
        check(
            (0...1).contains(crossRegionPenalty), "cross_region_penalty \(crossRegionPenalty) is outside 0…1")
        check(hashLoadFactor >= 1 && hashLoadFactor.isFinite, "hash_load_factor must be at least 1")
        let w = weights
        for (name, value) in [
            ("health", w.health), ("latency", w.latency), ("privacy", w.privacy), ("locality", w.locality),
            ("cost", w.cost), ("qos", w.qos), ("tenant_affinity", w.tenantAffinity),
        ] {
            check(value >= 0 && value <= 100 && value.isFinite, "weight '\(name)' \(value) is outside 0…100")
        }
        for (region, settings) in regions.sorted(by: { $0.key < $1.key }) {
            check(
                Identifier.problem(with: region, kind: "region") == nil, "region name '\(region)' is invalid")
            check(
                (0...1).contains(settings.cost), "cost \(settings.cost) of region '\(region)' is outside 0…1")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
