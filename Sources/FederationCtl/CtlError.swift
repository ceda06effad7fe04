/// What went wrong in a fedctl command, with the exit code it ends with (docs/FEDCTL.md):
/// 0 ok, 1 a service answered with an error (or the operation failed), 2 usage, 3 a service is
/// not reachable.
public enum CtlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing answered at `url` (refused, no such host, no answer in time).
    case unreachable(service: ServiceKind, url: String, reason: String)
    /// The service answered `status` with its OpenAI-style error (`code`, `message`).
    case service(service: ServiceKind, url: String, status: Int, code: String?, message: String)
    /// Something else failed (an editor, a script, a local file).
    case failed(String)
    /// The command line asks for something that cannot be done.
    case usage(String)

    /// The process exit code for this error.
    public var exitCode: Int32 {
        switch self {
        case .unreachable: 3
        case .service, .failed: 1
        case .usage: 2
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let service, let url, let reason):
            "the \(Self.name(service)) at \(url) is not reachable (\(reason)); start the cluster with "
                + "./scripts/cluster up (or fedctl cluster up), or point \(service.flag) / "
                + "\(service.environmentVariable) at it"
        case .service(let service, let url, let status, let code, let message):
            "the \(Self.name(service)) at \(url) answered \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .failed(let message), .usage(let message):
            message
        }
    }

    static func name(_ service: ServiceKind) -> String {
        switch service {
        case .health: "health service"
        case .redis: "Redis"
        default: service.rawValue
        }
    }
}
