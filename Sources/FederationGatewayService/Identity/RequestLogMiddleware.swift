import FederationConfig
import FederationCore
import FederationHTTP
import Logging

/// One structured log line per finished request: `request_id`, `tenant`, `path`, `node`,
/// `region`, `attempts`, `status`, `latency_ms`, `overhead_ms`, `tokens`, `streamed` and, for a
/// failure, `error` (the OpenAI error code). Level: info for a success, notice for a 4xx, warning
/// for a 5xx. Headers are never logged, so neither is `Authorization` nor the key in it; the
/// error's message is not logged either (it may quote the client's input). First in the chain, so
/// that it sees every request — also those an earlier hook rejected — last.
public struct RequestLogMiddleware: GatewayMiddleware {
    public let name = "request-log"
    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async {
        log(request, outcome: outcome, errorCode: outcome.errorCode)
    }

    public func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async {
        log(request, outcome: outcome, errorCode: outcome.errorCode ?? error.code ?? error.type)
    }

    func log(_ request: GatewayRequest, outcome: GatewayOutcome, errorCode: String?) {
        var metadata: Logger.Metadata = [
            "request_id": "\(request.id)",
            "tenant": "\(request.tenant ?? "-")",
            "path": "\(request.path)",
            "attempts": "\(outcome.attempts)",
            "status": "\(outcome.status)",
            "latency_ms": "\(Self.milliseconds(outcome.latency))",
            "overhead_ms": "\(Self.milliseconds(outcome.overhead))",
            "streamed": "\(outcome.streamed)",
        ]
        if let node = outcome.node { metadata["node"] = "\(node.rawValue)" }
        if let region = outcome.region { metadata["region"] = "\(region.rawValue)" }
        if let tokens = outcome.tokens { metadata["tokens"] = "\(tokens)" }
        if let errorCode { metadata["error"] = "\(errorCode)" }
        let level: Logger.Level =
            switch outcome.status {
            case 500...: .warning
            case 400..<500: .notice
            default: errorCode == nil ? .info : .warning
            }
        logger.log(level: level, errorCode == nil ? "request finished" : "request failed", metadata: metadata)
    }

    /// Milliseconds with three decimals (microseconds), e.g. `0.412`.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.microsecondsRounded
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1000)
        return sign + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

extension Duration {
    /// Whole microseconds, rounded toward zero, clamped to `Int64`.
    fileprivate var microsecondsRounded: Int64 {
        let (seconds, attoseconds) = components
        return seconds.saturatingMultiply(1_000_000).saturatingAdd(attoseconds / 1_000_000_000_000)
    }
}
