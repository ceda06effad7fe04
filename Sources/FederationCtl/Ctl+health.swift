import FederationCore
import FederationRedis
import FederationState
import Foundation

extension Ctl {
    /// `fedctl health [NODE]`.
    public func health(node: String?) async throws -> String {
        let path = node.map { "/v1/health/\(Self.segment($0))" } ?? "/v1/health"
        let answer = try body(try await client.call(.health, .GET, path), from: .health)
        if json { return answer.text() }
        if node != nil { return Self.renderHealth(["nodes": [answer]], now: now()) }
        return Self.renderHealth(answer, now: now())
    }

    /// `fedctl circuits`: every circuit with its failures and the time left until half-open.
    /// `--json`: the service's answer with `half_open_in_ms` added to each open circuit.
    public func circuits() async throws -> String {
        let answer = try body(try await client.call(.health, .GET, "/v1/circuits"), from: .health)
        let nowMs = now()
        if json { return Self.withHalfOpenTimes(answer, now: nowMs).text() }
        return Self.renderCircuits(answer, now: nowMs)
    }

    /// `fedctl circuit open NODE [--duration D]`.
    public func openCircuit(node: String, duration: Duration?) async throws -> String {
        let body: [UInt8]? = duration.map { Self.bytes(["duration_ms": .number($0.milliseconds.rounded())]) }
        let response = try await client.call(
            .health, .POST, "/v1/circuits/\(Self.segment(node))/open", body: body ?? Array("{}".utf8),
            admin: true)
        let answer = try self.body(response, from: .health)
        if json { return answer.text() }
        let until = answer["open_until"]?.int64
        return "circuit of \(node) is \(answer["state"]?.cellText ?? "open")"
            + (until.map { "; half-open \(Format.relative($0, now: now()))" } ?? "")
    }

    /// `fedctl circuit close NODE`.
    public func closeCircuit(node: String) async throws -> String {
        let response = try await client.call(
            .health, .POST, "/v1/circuits/\(Self.segment(node))/close", body: Array("{}".utf8), admin: true)
        let answer = try body(response, from: .health)
        return json ? answer.text() : "circuit of \(node) is \(answer["state"]?.cellText ?? "closed")"
    }

    /// `fedctl report`: publishes `report` `count` times on `{ns}:health:reports` with the project's
    /// Redis client and FederationState's encoding (the gateways' wire format). Returns how many
    /// subscribers (health service instances) received the last one.
    public func report(_ report: HealthReport, count: Int) async throws -> String {
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: urls.redis)
        } catch {
            throw CtlError.usage("--redis: \(error)")
        }
        let shown = "redis://\(configuration.endpoint)"
        let timeout = min(urls.timeout, .seconds(3))
        configuration.connectTimeout = timeout
        configuration.commandTimeout = timeout
        configuration.poolSize = 1
        let channel = FederationKeys(namespace: urls.namespace).healthReports
        let receivers: Int64 = try await RedisClient.withClient(
            configuration: configuration, logger: .init(label: "fedctl")
        ) {
            redis in
            var receivers: Int64 = 0
            for _ in 0..<count {
                do throws(RedisError) {
                    let reply = try await redis.command(
                        RedisCommand(arguments: [
                            Array("PUBLISH".utf8), Array(channel.utf8), report.encoded(),
                        ]))
                    receivers = reply.int ?? 0
                } catch {
                    switch error {
                    case .connectionFailed, .connectionLost, .timeout, .reconnecting, .closed:
                        throw CtlError.unreachable(service: .redis, url: shown, reason: "\(error)")
                    default:
                        throw CtlError.failed("publishing on \(channel) at \(shown) failed: \(error)")
                    }
                }
            }
            return receivers
        }
        let payload = String(decoding: report.encoded(), as: UTF8.self)
        if json {
            return JSON.object([
                "channel": .string(channel), "published": .number(Double(count)),
                "receivers": .number(Double(receivers)),
                "report": JSON.parse(payload) ?? .null,
            ]).text()
        }
        var text = "published \(count) report(s) on \(channel) at \(shown): \(payload)"
        text +=
            receivers == 0
            ? "\nnobody listens on \(channel) (is federation-health running on this Redis and namespace?)"
            : "\nreceived by \(receivers) subscriber(s)"
        return text
    }

    /// The `GET /v1/health` table.
    public static func renderHealth(_ answer: JSON, now: Int64) -> String {
        let nodes = answer["nodes"]?.array ?? []
        var header = ""
        if let role = answer["role"]?.string {
            header =
                "health service: \(role)" + (answer["leader"]?.string.map { ", leader \($0)" } ?? "") + "\n"
        }
        guard !nodes.isEmpty else { return header + "no health records (no nodes in the catalog yet?)" }
        var table = Table([
            .init("NODE"), .init("STATE"), .init("P50", .right), .init("P99", .right), .init("SOURCE"),
            .init("QUEUE", .right), .init("GPU", .right), .init("OK", .right), .init("FAIL", .right),
            .init("CHECKED"), .init("REASON", maxWidth: 40),
        ])
        for node in nodes {
            table.add([
                node["node"]?.cellText ?? "-", node["state"]?.cellText ?? "-",
                Format.milliseconds(node["latency_p50_ms"]?.double),
                Format.milliseconds(node["latency_p99_ms"]?.double),
                node["latency_source"]?.cellText ?? "-", node["queue_depth"]?.cellText ?? "-",
                node["gpu_utilization"]?.double.map { "\(Int(saturating: ($0 * 100).rounded()))%" } ?? "-",
                node["consecutive_successes"]?.cellText ?? "-", node["consecutive_failures"]?.cellText ?? "-",
                Format.relative(node["last_check"]?.int64, now: now), node["reason"]?.cellText ?? "",
            ])
        }
        return header + table.render()
    }

    /// Milliseconds until an open circuit goes half-open (0 when the deadline passed); nil when it
    /// is not open or has no deadline.
    public static func halfOpenIn(_ circuit: JSON, now: Int64) -> Int64? {
        guard circuit["state"]?.string == "open" || circuit["stored_state"]?.string == "open",
            let until = circuit["open_until"]?.int64
        else { return nil }
        return max(0, until.saturatingSubtract(now))
    }

    static func withHalfOpenTimes(_ answer: JSON, now: Int64) -> JSON {
        guard case .object(var members) = answer, let circuits = answer["circuits"]?.array else {
            return answer
        }
        members["circuits"] = .array(
            circuits.map { circuit in
                guard case .object(var fields) = circuit, let left = halfOpenIn(circuit, now: now) else {
                    return circuit
                }
                fields["half_open_in_ms"] = .number(Double(left))
                return .object(fields)
            })
        return .object(members)
    }

    /// The `GET /v1/circuits` table.
    public static func renderCircuits(_ answer: JSON, now: Int64) -> String {
        let circuits = answer["circuits"]?.array ?? []
        guard !circuits.isEmpty else { return "no circuits (no nodes in the catalog yet?)" }
        var table = Table([
            .init("NODE"), .init("STATE"), .init("FAILURES", .right), .init("TRIPS", .right),
            .init("HALF-OPEN OK", .right), .init("OPENED"), .init("HALF-OPEN IN"),
        ])
        for circuit in circuits {
            let state = circuit["state"]?.string ?? "-"
            let stored = circuit["stored_state"]?.string
            let halfOpen: String =
                if state == "open", let left = halfOpenIn(circuit, now: now) {
                    Format.duration(milliseconds: Double(left))
                } else if state == "half_open" && stored == "open" {
                    "now"
                } else {
                    "-"
                }
            table.add([
                circuit["node"]?.cellText ?? "-", state, circuit["consecutive_failures"]?.cellText ?? "-",
                circuit["trips"]?.cellText ?? "-", circuit["half_open_successes"]?.cellText ?? "-",
                state == "closed" ? "-" : Format.relative(circuit["opened_at"]?.int64, now: now), halfOpen,
            ])
        }
        return table.render()
    }
}
