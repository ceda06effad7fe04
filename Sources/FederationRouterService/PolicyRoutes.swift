import FederationCore
import FederationHTTP
import FederationState
import Foundation
import HTTPTypes
import Hummingbird

/// The answer of `GET /v1/policy`: the document the router decides with right now.
struct PolicyAnswer: Encodable, Sendable {
    var document: RoutingPolicyDocument
    var freshness: ViewFreshness

    enum CodingKeys: String, CodingKey {
        case version, published, document, snapshotVersions = "snapshot_versions"
        case snapshotAgeMs = "snapshot_age_ms", snapshotStale = "snapshot_stale"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(document.version, forKey: .version)
        try c.encode(document.version > 0, forKey: .published)
        try c.encode(document, forKey: .document)
        try freshness.encodeFlat(
            into: &c, versions: .snapshotVersions, age: .snapshotAgeMs, stale: .snapshotStale)
    }
}

extension Router {
    /// `GET /v1/policy` (open), `PUT /v1/policy` and `PATCH /v1/policy` (admin token when one is
    /// configured).
    func addPolicyRoutes(
        owner: PolicyOwner, view: FederationView, adminToken: String?, tuning: RouterTuning,
        metrics: RouterMetrics
    ) {
        let policy = group("v1/policy").add(middleware: AdminTokenMiddleware(token: adminToken))
        policy.get { _, _ in
            let snapshot = view.currentSnapshot.snapshot
            let freshness = ViewFreshness(
                snapshot: snapshot, status: view.status, staleAfter: tuning.staleAfter)
            guard freshness.ageMs != nil else { throw RouteQueries.notSynced(headers: [:]) }
            var response = jsonResponse(PolicyAnswer(document: snapshot.policy, freshness: freshness))
            response.headers[.eTag] = "\"\(snapshot.policy.version)\""
            return response
        }
        policy.put { request, _ in
            try await Self.recording(metrics) {
                let data = try await Self.body(request, limit: tuning.maxBodyBytes)
                let document = try PolicyDocumentInput.document(from: data)
                return try await owner.replace(with: document, ifMatch: try Self.ifMatch(request))
            }
        }
        policy.patch { request, _ in
            try await Self.recording(metrics) {
                let data = try await Self.body(request, limit: tuning.maxBodyBytes)
                return try await owner.patch(with: data, ifMatch: try Self.ifMatch(request))
            }
        }
    }

    /// Runs a policy write and counts its result: applied, rejected (the caller's mistake) or failed.
    private static func recording(
        _ metrics: RouterMetrics, _ write: () async throws -> PolicyOwner.WriteResult
    ) async throws -> Response {
        do {
            let result = try await write()
            metrics.recordPolicyUpdate("applied")
            var response = jsonResponse(result)
            response.headers[.eTag] = "\"\(result.version)\""
            return response
        } catch let error as OpenAIError {
            metrics.recordPolicyUpdate(error.status.code < 500 ? "rejected" : "failed")
            throw error
        } catch {
            metrics.recordPolicyUpdate("failed")
            throw error
        }
    }

    private static func body(_ request: Request, limit: Int) async throws -> Data {
        let buffer = try await request.collectBody(limit: limit)
        return Data(buffer.readableBytesView)
    }

    /// `If-Match: 7` or `If-Match: "7"` (the ETag of GET /v1/policy); nil when absent or `*`.
    static func ifMatch(_ request: Request) throws -> UInt64? {
        guard var value = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces), value != "*" else {
            return nil
        }
        if value.hasPrefix("W/") { value.removeFirst(2) }
        value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let version = UInt64(value) else {
            throw OpenAIError.invalid(
                "Invalid If-Match header '\(value)': expected the policy version, e.g. \"7\".",
                param: "If-Match",
                code: "invalid_header")
        }
        return version
    }
}
