import FederationCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// What `/readyz` reports: ready only when every check passes; `details` carry information that
/// is not a check (e.g. a replica's role).
public struct Readiness: ReadinessReport, Codable, Equatable {
    public var ready: Bool
    /// Check name → "ok" or what is wrong (e.g. "redis: connection refused").
    public var checks: [String: String]
    public var details: [String: String]

    public init(checks: [String: String], details: [String: String] = [:]) {
        self.checks = checks
        self.details = details
        self.ready = checks.values.allSatisfy { $0 == "ok" }
    }
}

extension Router {
    /// `GET /healthz` (the process answers), `GET /readyz` (it can do its job: 200 or 503 with
    /// the failing checks), `GET /metrics` (Prometheus text format from `registry`, after
    /// `beforeScrape` refreshed whatever gauges are sampled rather than updated).
    public func addOperationalRoutes<Report: ReadinessReport>(
        service: String, registry: PrometheusCollectorRegistry,
        beforeScrape: (@Sendable () -> Void)? = nil,
        readiness: @escaping @Sendable () async -> Report
    ) {
        get("/healthz") { _, _ in
            jsonResponse(["status": "ok", "service": service])
        }
        get("/readyz") { _, _ in
            let state = await readiness()
            return jsonResponse(state, status: state.ready ? .ok : .serviceUnavailable)
        }
        get("/metrics") { _, _ in
            beforeScrape?()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(4096)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}

/// A JSON response (sorted keys, so output is stable for people and tests).
public func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    } catch {
        return OpenAIError(
            status: .internalServerError, message: "could not encode the response: \(error)",
            type: "server_error"
        ).response()
    }
}
