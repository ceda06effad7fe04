/// Every way a Redis operation can fail, with a message that says what happened and what to do.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TCP connection (or AUTH/SELECT right after it) could not be established.
    case connectionFailed(endpoint: String, detail: String)
    /// The connection broke while a command was in flight; the command may or may not have run.
    case connectionLost(endpoint: String, detail: String)
    /// No reply within the command timeout; the connection is replaced, the command may have run.
    case timeout(command: String, after: Duration)
    /// The client is between reconnect attempts; the next one is due in `retryIn`.
    case reconnecting(endpoint: String, retryIn: Duration, lastError: String)
    /// Redis answered with an error reply (its text is kept verbatim).
    case server(command: String, message: String)
    /// AUTH was refused.
    case authenticationFailed(user: String?, message: String)
    /// A `MULTI`/`EXEC` transaction was aborted (a watched key changed) or one of its commands failed.
    case transactionFailed(String)
    /// A reply did not have the shape the caller expected.
    case unexpectedReply(command: String, reply: String)
    /// A command that would change a pooled connection's state for its next users (SELECT, AUTH,
    /// SUBSCRIBE…); set the database and credentials in ``RedisConfiguration``, use ``RedisSubscriber``.
    case unsupportedCommand(String)
    /// The client or subscriber was shut down.
    case closed

    public var description: String {
        switch self {
        case .connectionFailed(let endpoint, let detail):
            "cannot connect to Redis at \(endpoint): \(detail); check that redis-server runs and the URL is right"
        case .connectionLost(let endpoint, let detail):
            "connection to Redis at \(endpoint) lost: \(detail); the command may or may not have run"
        case .timeout(let command, let after):
            "Redis command \(command) got no reply within \(after); the server may be blocked or overloaded"
        case .reconnecting(let endpoint, let retryIn, let lastError):
            "Redis at \(endpoint) is unavailable (\(lastError)); next reconnect attempt in \(retryIn)"
        case .server(let command, let message):
            "Redis refused \(command): \(message)"
        case .authenticationFailed(let user, let message):
            "Redis authentication failed\(user.map { " for user '\($0)'" } ?? ""): \(message); "
                + "check the user and password in the Redis URL"
        case .transactionFailed(let detail):
            "Redis transaction failed: \(detail)"
        case .unexpectedReply(let command, let reply):
            "unexpected reply to \(command): \(reply)"
        case .unsupportedCommand(let name):
            "\(name) is not allowed on a pooled connection; configure the database and credentials in "
                + "RedisConfiguration and use RedisSubscriber for pub/sub"
        case .closed:
            "the Redis client was shut down"
        }
    }
}
