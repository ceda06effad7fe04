import AsyncHTTPClient
import FederationCore
import Foundation
import NIOCore

/// Probes `GET {endpoint}/health` with its own `HTTPClient` (no redirects, no decompression). The
/// whole probe — connect, head and body — is bounded by `timeout`: AsyncHTTPClient's deadline
/// covers only the head, so the body read runs under a deadline of its own.
struct NodeProber: Sendable {
    let client: HTTPClient
    let timeout: Duration
    /// Largest `/health` body read (a node's report is a few hundred bytes).
    static let maximumBodyBytes = 64 * 1024

    /// A prober with a client of its own; call ``shutdown()`` when done.
    init(timeout: Duration) {
        let amount = TimeAmount.nanoseconds(Int64(timeout.milliseconds * 1_000_000))
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: amount, read: amount),
            decompression: .disabled)
        // A refused connect is an answer (nothing listens): fail at once as `connection_error`
        // instead of retrying until the deadline and calling it a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.timeout = timeout
    }

    /// Shuts the client down.
    func shutdown() async {
        try? await client.shutdown()
    }

    /// Probes one endpoint: success on 2xx unless the body says `"status":"unhealthy"`.
    func probe(endpoint: String) async -> ProbeOutcome {
        let started = ContinuousClock.now
        let deadline = started + timeout
        do {
            let (status, body) = try await withDeadline(deadline) {
                var request = HTTPClientRequest(url: endpoint + "/health")
                request.headers.add(name: "Accept", value: "application/json")
                request.headers.add(name: "User-Agent", value: "federation-health")
                let response = try await client.execute(
                    request,
                    deadline: NIODeadline.now() + .nanoseconds(Int64(timeout.milliseconds * 1_000_000)))
                let body = try await response.body.collect(upTo: Self.maximumBodyBytes)
                return (Int(response.status.code), body)
            }
            let latency = ContinuousClock.now - started
            let report = (try? NodeHealthBody.parse(Array(body.readableBytesView))) ?? NodeHealthBody()
            if !(200...299).contains(status) {
                return .failure(
                    kind: report.unhealthy ? "unhealthy" : "http_error",
                    reason: "HTTP \(status)" + (report.unhealthy ? " (status unhealthy)" : ""),
                    queueDepth: report.queueDepth, gpuUtilization: report.gpuUtilization)
            }
            if report.unhealthy {
                return .failure(
                    kind: "unhealthy", reason: "node reports status unhealthy", queueDepth: report.queueDepth,
                    gpuUtilization: report.gpuUtilization)
            }
            return .success(
                latency: latency, queueDepth: report.queueDepth, gpuUtilization: report.gpuUtilization)
        } catch is ProbeDeadlineExceeded {
            return .failure(
                kind: "timeout", reason: "no answer within \(Self.format(timeout))", queueDepth: nil,
                gpuUtilization: nil)
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            return .failure(
                kind: "timeout", reason: "no answer within \(Self.format(timeout))", queueDepth: nil,
                gpuUtilization: nil)
        } catch {
            return .failure(
                kind: "connection_error", reason: "\(error)", queueDepth: nil, gpuUtilization: nil)
        }
    }

    static func format(_ duration: Duration) -> String { "\(Int(duration.milliseconds.rounded())) ms" }
}

/// The probe's overall deadline passed.
struct ProbeDeadlineExceeded: Error {}

/// Runs `operation`, cancelling it and throwing ``ProbeDeadlineExceeded`` when `deadline` passes first.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw ProbeDeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
