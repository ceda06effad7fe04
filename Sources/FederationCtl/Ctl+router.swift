import Foundation

/// The body of `POST /v1/route` and `/v1/candidates` (docs/ROUTER.md).
public struct RouteQuery: Sendable, Equatable {
    public var capability: String
    public var model: String?
    public var privacy: String?
    public var maxLatencyMs: Double?
    public var minThroughput: Double?
    public var preferGPU: Bool?
    public var costTolerance: Int?
    public var tenant: String?
    public var originRegion: String?
    public var affinityKey: String?
    public var exclude: [String] = []

    public init(capability: String) { self.capability = capability }

    public var body: JSON {
        var object: [String: JSON] = ["capability": .string(capability)]
        var qos: [String: JSON] = [:]
        if let privacy { qos["privacy"] = .string(privacy) }
        if let maxLatencyMs { qos["max_latency_ms"] = .number(maxLatencyMs) }
        if let minThroughput { qos["min_throughput"] = .number(minThroughput) }
        if let preferGPU { qos["prefer_gpu"] = .bool(preferGPU) }
        if let costTolerance { qos["cost_tolerance"] = .number(Double(costTolerance)) }
        if !qos.isEmpty { object["qos"] = .object(qos) }
        if let model { object["model"] = .string(model) }
        if let tenant { object["tenant"] = .string(tenant) }
        if let originRegion { object["origin_region"] = .string(originRegion) }
        if let affinityKey { object["affinity_key"] = .string(affinityKey) }
        if !exclude.isEmpty { object["exclude"] = .array(exclude.map(JSON.string)) }
        return .object(object)
    }
}

extension Ctl {
    /// `fedctl route`: where the router would send this request now.
    public func route(_ query: RouteQuery) async throws -> String {
        let response = try await client.call(.router, .POST, "/v1/route", body: Self.bytes(query.body))
        let answer = try body(response, from: .router)
        return json ? answer.text() : Self.renderRoute(answer)
    }

    /// `fedctl route --explain`: every candidate with every policy's score and the rejections.
    public func explain(_ query: RouteQuery) async throws -> String {
        let response = try await client.call(.router, .POST, "/v1/candidates", body: Self.bytes(query.body))
        let answer = try body(response, from: .router)
        return json ? answer.text() : Self.renderCandidates(answer)
    }

    public static func renderRoute(_ answer: JSON) -> String {
        let versions = answer["snapshot_versions"]
        return """
            → \(answer["node"]?.cellText ?? "-") (\(answer["region"]?.cellText ?? "-"), \(answer["endpoint"]?.cellText ?? "-")) \
            model \(answer["model"]?.cellText ?? "-")
              score \(answer["score"]?.cellText ?? "-")  latency \(Format.milliseconds(answer["estimated_latency_ms"]?.double))  \
            strategy \(answer["strategy"]?.cellText ?? "-")  eligible \(answer["eligible_count"]?.cellText ?? "-")  \
            panic \(answer["panic"]?.cellText ?? "-")  probe \(answer["probe"]?.cellText ?? "-")
              view: catalog \(versions?["catalog"]?.cellText ?? "-"), health \(versions?["health"]?.cellText ?? "-"), \
            policy \(versions?["policy"]?.cellText ?? "-"); age \(Format.milliseconds(answer["snapshot_age_ms"]?.double))\
            \(answer["snapshot_stale"]?.bool == true ? " (STALE)" : "")
            """
    }

    /// The candidate table: one column per policy score (in the order the router lists them).
    public static func renderCandidates(_ answer: JSON) -> String {
        let candidates = answer["candidates"]?.array ?? []
        var policies: [String] = []
        for candidate in candidates {
            for score in candidate["scores"]?.array ?? [] {
                if let name = score["policy"]?.string, !policies.contains(name) { policies.append(name) }
            }
        }
        var lines = [
            "capability \(answer["capability"]?.cellText ?? "-"), model \(answer["model"]?.string ?? "any"), "
                + "strategy \(answer["strategy"]?.cellText ?? "-"), eligible \(answer["eligible_count"]?.cellText ?? "-") "
                + "of \(candidates.count)"
        ]
        if let decision = answer["decision"], decision != .null {
            lines.append(
                "decision: \(decision["node"]?.cellText ?? "-") (\(decision["region"]?.cellText ?? "-"), "
                    + "score \(decision["score"]?.cellText ?? "-"))")
        }
        if let error = answer["error"], error != .null {
            lines.append(
                "decision: none — \(error["code"]?.cellText ?? "error") (\(error["status"]?.cellText ?? "-")): "
                    + (error["message"]?.cellText ?? ""))
        }
        guard !candidates.isEmpty else { return (lines + ["no candidates"]).joined(separator: "\n") }
        var columns: [Table.Column] = [
            .init("NODE"), .init("REGION"), .init("MODEL"), .init("OK"), .init("SCORE", .right),
        ]
        columns += policies.map { Table.Column($0.uppercased(), .right) }
        columns += [
            .init("STATE"), .init("CIRCUIT"), .init("INFL", .right), .init("P50", .right),
            .init("REJECTION", maxWidth: 200),
        ]
        var table = Table(columns)
        for candidate in candidates {
            var scores: [String: String] = [:]
            for score in candidate["scores"]?.array ?? [] {
                if let name = score["policy"]?.string {
                    scores[name] = score["score"]?.double.map { String(format: "%.3f", $0) }
                }
            }
            let rejection = candidate["rejection"].flatMap { value -> String? in
                guard value != .null else { return nil }
                return "\(value["policy"]?.cellText ?? "?"): \(value["reason"]?.cellText ?? "")"
            }
            var row = [
                candidate["node"]?.cellText ?? "-", candidate["region"]?.cellText ?? "-",
                candidate["model"]?.cellText ?? "-", candidate["eligible"]?.cellText ?? "-",
                candidate["score"]?.double.map { String(format: "%.3f", $0) } ?? "-",
            ]
            row += policies.map { scores[$0] ?? "-" }
            row += [
                candidate["health"]?.cellText ?? "-", candidate["circuit"]?.cellText ?? "-",
                candidate["in_flight"]?.cellText ?? "-",
                Format.milliseconds(candidate["estimated_latency_ms"]?.double),
                rejection ?? "",
            ]
            table.add(row)
        }
        return (lines + [table.render()]).joined(separator: "\n")
    }
}
