import FederationCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Every HTTP service builds its Hummingbird server through these two, so that the header-read
/// timeout, the idle timeout and the connection cap of ``ServerLimits`` hold on every port:
///
/// ```swift
/// Application(router: router, server: limits.httpServer(logger: logger),
///             configuration: limits.applicationConfiguration(address: …, serverName: …, logger: logger), …)
/// ```
extension ServerLimits {
    /// HTTP/1 with Hummingbird's idle timeout, our header-read timeout, and a ``ClientDisconnect``
    /// signal on every connection.
    public func httpServer(logger: Logger) -> HTTPServerBuilder {
        let headerTimeout = TimeAmount(headerTimeout)
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    HeaderReadTimeoutHandler(timeout: headerTimeout, logger: logger),
                    ClientDisconnectHandler(),
                ],
                idleTimeout: TimeAmount(idleTimeout)))
    }

    /// The application configuration with the connection cap: beyond `maxConnections` the server
    /// stops accepting until a connection closes (new ones wait in the listen backlog).
    public func applicationConfiguration(
        address: BindAddress, serverName: String, logger: Logger
    ) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: address, serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: logger))
    }
}

/// Closes a connection whose first request head is not complete `timeout` after the connection
/// became active, however slowly its bytes trickle in (slowloris), answering `408 Request Timeout`
/// first. Once a head arrived it does nothing more: Hummingbird's idle timeout covers stalled
/// bodies and idle kept-alive connections (it counts complete HTTP parts, not bytes).
final class HeaderReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var headSeen = false

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headSeen, case .head = unwrapInboundIn(data) {
            headSeen = true
            disarm()
        }
        context.fireChannelRead(data)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard deadline == nil, !headSeen else { return }
        let timeout = timeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            guard !headSeen else { return }
            logger.debug(
                "closing a connection whose request head did not arrive in time",
                metadata: ["timeout_ms": "\(timeout.nanoseconds / 1_000_000)"])
            let head = HTTPResponse(
                status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
