/// Prefers healthy nodes: Healthy 1.0, Degraded 0.3–0.5 (lower with more recent failures),
/// Unknown 0.3, Unhealthy 0. Ejecting unhealthy nodes is the router's job (so that a panic
/// threshold can bring them back), not this policy's.
public final class HealthPolicy: RoutingPolicy {
    public let weight: Double
    public var name: String { "health" }

    public init(weight: Double = 2.0) { self.weight = weight }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        HealthScore.score(state: candidate.healthState, consecutiveFailures: candidate.consecutiveFailures)
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool { true }
}

/// Prefers fast nodes: 1 − p50 / max; a node at or above `maxLatencyMs` is ineligible.
/// A node with no measurement yet scores 0.5 and stays eligible.
public final class LatencyPolicy: RoutingPolicy {
    public let weight: Double
    public let maxLatencyMs: Double
    public var name: String { "latency" }

    public init(weight: Double = 1.0, maxLatencyMs: Double = 5000) {
        self.weight = weight
        self.maxLatencyMs = maxLatencyMs
    }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        LatencyPolicy.score(latencyMs: candidate.estimatedLatencyMs, maxLatencyMs: maxLatencyMs)
    }

    static func score(latencyMs: Double?, maxLatencyMs: Double) -> Double {
        guard let latencyMs else { return 0.5 }
        return unitClamped(1 - latencyMs / maxLatencyMs)
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool {
        (candidate.estimatedLatencyMs ?? 0) < maxLatencyMs
    }

    public func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> String? {
        guard let latency = candidate.estimatedLatencyMs, latency >= maxLatencyMs else { return nil }
        return "p50 latency \(formatMs(latency)) ms is at or above the limit of \(formatMs(maxLatencyMs)) ms"
    }
}

/// Data sovereignty: a node may serve a request iff its privacy level (node override, else its
/// region's) is at least the request's.
public final class PrivacyPolicy: RoutingPolicy {
    public let weight: Double
    public var name: String { "privacy" }

    public init(weight: Double = 1.0) { self.weight = weight }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double { 1.0 }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool {
        candidate.privacy >= request.qos.privacy
    }

    public func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> String? {
        guard candidate.privacy < request.qos.privacy else { return nil }
        return
            "node is \(candidate.privacy) (region \(candidate.region)), request needs \(request.qos.privacy)"
    }
}

/// Prefers the request's own region: 0.5 + boost in it, 0.5 − penalty elsewhere, 0.5 when the
/// origin is unknown.
public final class LocalityPolicy: RoutingPolicy {
    public let weight: Double
    public let sameRegionBoost: Double
    public let crossRegionPenalty: Double
    public var name: String { "locality" }

    public init(weight: Double = 1.0, sameRegionBoost: Double = 0.3, crossRegionPenalty: Double = 0.1) {
        self.weight = weight
        self.sameRegionBoost = sameRegionBoost
        self.crossRegionPenalty = crossRegionPenalty
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool { true }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        guard let origin = request.originRegion else { return 0.5 }
        return unitClamped(origin == candidate.region ? 0.5 + sameRegionBoost : 0.5 - crossRegionPenalty)
    }
}

/// Trades price against speed by the request's cost tolerance, in the reference's bands:
/// 0–30 strongly prefer cheap, 31–50 balanced, 51–70 prefer performance, 71–100 performance
/// only. Score = α·(1 − cost) + (1 − α)·speed, speed being the latency score.
public final class CostPolicy: RoutingPolicy {
    public let weight: Double
    public let maxLatencyMs: Double
    public var name: String { "cost" }

    public init(weight: Double = 1.0, maxLatencyMs: Double = 5000) {
        self.weight = weight
        self.maxLatencyMs = maxLatencyMs
    }

    /// How much cheapness counts (α) for a tolerance.
    public static func cheapnessWeight(costTolerance: Int) -> Double {
        switch costTolerance {
        case ...30: 1.0
        case 31...50: 0.6
        case 51...70: 0.3
        default: 0.0
        }
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool { true }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        let alpha = CostPolicy.cheapnessWeight(costTolerance: request.qos.costTolerance)
        let speed = LatencyPolicy.score(latencyMs: candidate.estimatedLatencyMs, maxLatencyMs: maxLatencyMs)
        return unitClamped(alpha * (1 - candidate.cost) + (1 - alpha) * speed)
    }
}

/// The request's own QoS: `max_latency` and `min_throughput` are hard limits (checked against
/// the node's measured p50 and throughput; an unmeasured node is given the benefit of the doubt),
/// `prefer_gpu` is a preference (GPU 1.0, CPU 0.5).
public final class QoSPolicy: RoutingPolicy {
    public let weight: Double
    public var name: String { "qos" }

    public init(weight: Double = 1.0) { self.weight = weight }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        request.qos.preferGPU && !candidate.info.gpu ? 0.5 : 1.0
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool {
        if let maxLatency = request.qos.maxLatency, let p50 = candidate.estimatedLatencyMs,
            p50 > maxLatency.milliseconds
        {
            return false
        }
        if let minimum = request.qos.minThroughput, let throughput = candidate.throughput,
            throughput < minimum
        {
            return false
        }
        return true
    }

    public func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> String? {
        if let maxLatency = request.qos.maxLatency, let p50 = candidate.estimatedLatencyMs,
            p50 > maxLatency.milliseconds
        {
            return
                "p50 latency \(formatMs(p50)) ms exceeds max_latency \(formatMs(maxLatency.milliseconds)) ms"
        }
        if let minimum = request.qos.minThroughput, let throughput = candidate.throughput,
            throughput < minimum
        {
            return "throughput \(formatMs(throughput)) tokens/s is below min_throughput \(formatMs(minimum))"
        }
        return nil
    }
}

/// Sends a tenant to its preferred nodes when it can (1.0 preferred, 0.5 otherwise); never a
/// requirement.
public final class TenantAffinityPolicy: RoutingPolicy {
    public let weight: Double
    /// Tenant → preferred nodes.
    public let preferences: [String: Set<NodeId>]
    public var name: String { "tenant_affinity" }

    public init(weight: Double = 1.0, preferences: [String: [NodeId]] = [:]) {
        self.weight = weight
        self.preferences = preferences.mapValues(Set.init)
    }

    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool { true }

    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        guard let tenant = request.tenantId, let preferred = preferences[tenant] else { return 0.5 }
        return preferred.contains(candidate.id) ? 1.0 : 0.5
    }
}

/// Formats milliseconds with at most one decimal.
func formatMs(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    // Int64(_:) would trap beyond ±9.2e18 (latencies come from Redis): only small values lose ".0".
    guard abs(rounded) < 1e15 else { return String(rounded) }
    return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
}
