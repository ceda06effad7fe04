/// One routing consideration (health, latency, privacy, …). A policy scores a candidate in
/// [0, 1] and may declare it ineligible; the composite combines many. Custom policies conform
/// to this protocol and are added to a `CompositePolicy`.
///
/// Policies are immutable classes: the router calls every policy for every candidate, and an
/// existential holding a class reference costs one retain to pass around, where a struct costs
/// a copy of its fields (measured: 4× slower routing at 100 candidates).
public protocol RoutingPolicy: AnyObject, Sendable {
    /// Stable name, shown in explain output and rejection reasons.
    var name: String { get }
    /// Relative weight in the composite score (0 keeps eligibility but adds nothing to the score).
    var weight: Double { get }
    /// How good `candidate` is for `request`, in [0, 1] (higher is better).
    func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double
    /// Whether `candidate` may serve `request` (called on the hot path: no allocation).
    func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool
    /// Why `candidate` must not serve `request`, or nil when it may (for errors and explain).
    func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> String?
}

extension RoutingPolicy {
    /// By default a policy is a pure preference: everyone is eligible.
    public func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> String? { nil }

    /// By default eligibility is "no rejection reason"; built-ins override it with a cheaper check.
    public func isEligible(_ candidate: CandidateNode, for request: InferenceRequest) -> Bool {
        rejection(candidate, for: request) == nil
    }
}

/// Which rule rejected a candidate, and why.
public struct Rejection: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A policy name, or `circuit`, `health`, `min_score`, `model`.
    public var policy: String
    public var reason: String

    public init(policy: String, reason: String) {
        self.policy = policy
        self.reason = reason
    }

    public var description: String { "\(policy): \(reason)" }
}

/// One policy's contribution to a candidate's score.
public struct PolicyScore: Sendable, Equatable, Codable {
    public var policy: String
    public var weight: Double
    /// Unweighted, in [0, 1].
    public var score: Double

    public init(policy: String, weight: Double, score: Double) {
        self.policy = policy
        self.weight = weight
        self.score = score
    }
}

/// Clamps to [0, 1]; NaN becomes 0.
@inline(__always)
func unitClamped(_ value: Double) -> Double {
    value >= 1 ? 1 : (value > 0 ? value : 0)
}
