import FederationCore
import FederationHTTP
import FederationOpenAI
import Foundation
import Hummingbird
import NIOCore

/// `/v1/models`, `/health`, `/healthz` and the fault admin API.
extension NodeRuntime {
    func listModels() throws -> Response {
        let created = Double(now)
        let data: [JSONValue] = configuration.models.map { model in
            [
                "id": .string(model.name), "object": "model", "created": .number(created),
                "owned_by": .string(configuration.nodeId),
                "capabilities": .array(model.capabilities.map { .string($0.description) }),
            ]
        }
        return try jsonResponse(["object": "list", "data": .array(data)])
    }

    /// The node's own view of its load, as the health service probes it.
    public var healthReport: JSONValue {
        let inFlight = admission.inFlight
        let unhealthy = faults.reportsUnhealthy
        let utilization = configuration.gpu ? min(1, Double(inFlight) / Double(admission.limit)) : 0
        return [
            "status": unhealthy ? "unhealthy" : "ok",
            "node_id": .string(configuration.nodeId),
            "region": .string(configuration.region),
            "gpu": .bool(configuration.gpu),
            "capabilities": .array(configuration.capabilities.map { .string($0.description) }),
            "models": .array(configuration.models.map { .string($0.name) }),
            "queue_depth": .number(Double(admission.queueDepth)),
            "in_flight": .number(Double(inFlight)),
            "hanging": .number(Double(hanging)),
            "max_concurrency": .number(Double(admission.limit)),
            "gpu_utilization": .number(utilization),
            "tokens_per_second": .number(configuration.tokensPerSecond),
            "requests": .object(requestsReceived.mapValues { .number(Double($0)) }),
        ]
    }

    func health() throws -> Response {
        let report = healthReport
        let status: HTTPResponse.Status = report["status"]?.stringValue == "ok" ? .ok : .serviceUnavailable
        return try jsonResponse(report, status: status)
    }

    /// `GET /admin/faults`: the active settings and how many faults fired.
    func faultReport() throws -> Response {
        let settings = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(faults.settings))
        let counters = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(faults.counters))
        return try jsonResponse(["faults": settings, "injected": counters])
    }

    /// `POST /admin/faults`: replaces the active faults with the posted ones.
    func setFaults(_ request: Request) async throws -> Response {
        let settings = try await request.decodeJSON(FaultSettings.self, limit: 64 * 1024)
        if let problem = settings.validationProblem {
            throw OpenAIError.invalid(problem, param: settings.validationParam, code: "invalid_value")
        }
        faults.replace(with: settings)
        let description = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        logger.notice("faults changed", metadata: ["faults": "\(description)"])
        return try faultReport()
    }

    /// `DELETE /admin/faults`: switches every fault off.
    func clearFaults() throws -> Response {
        faults.replace(with: FaultSettings())
        logger.notice("faults cleared")
        return try faultReport()
    }
}
