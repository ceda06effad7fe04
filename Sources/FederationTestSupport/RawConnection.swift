import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection for tests that must control every byte a client sends (a slowloris
/// trickling its headers, an idle keep-alive connection, connections beyond a server's cap).
/// What the server sends is collected; whether the server closed the connection is recorded.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: Received

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
    }

    /// Connects to `host:port` (the TCP handshake only: a server that is not accepting still
    /// completes it from its listen backlog).
    public static func connect(port: Int, host: String = "127.0.0.1") async throws -> RawConnection {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(host: host, port: port).get()
        return RawConnection(channel: channel, received: received)
    }

    /// Connects and sends `text`. When the server closed the connection before the bytes were
    /// written — a test starved of CPU for longer than a short header timeout between connecting
    /// and its first bytes — it connects again, `attempts` times in all, so a server that closes
    /// every connection at once still fails the test.
    public static func connectAndSend(
        port: Int, host: String = "127.0.0.1", _ text: String, attempts: Int = 3
    ) async throws -> RawConnection {
        var attempt = 1
        while true {
            let connection = try await connect(port: port, host: host)
            do {
                try await connection.send(text)
                return connection
            } catch  where attempt < attempts && connection.isClosed {
                attempt += 1
            }
        }
    }

    /// Sends `text` as it is (throws once the connection is closed).
    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Everything the server sent so far.
    public var text: String { received.state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    /// Whether the server (or this side) closed the connection.
    public var isClosed: Bool { received.state.withLock { $0.closed } }

    /// Closes the connection from this side.
    public func close() async {
        try? await channel.close()
    }

    /// Polls until the connection is closed or `timeout` passed; returns whether it closed.
    public func waitUntilClosed(timeout: Duration) async throws -> Bool {
        try await eventually(timeout: timeout) { isClosed }
    }

    /// Polls until the server sent `substring` (`occurrences` times) or `timeout` passed; returns
    /// whether it arrived.
    public func waitFor(_ substring: String, occurrences: Int = 1, timeout: Duration) async throws -> Bool {
        try await eventually(timeout: timeout) {
            text.components(separatedBy: substring).count - 1 >= occurrences
        }
    }
}

private final class Received: Sendable {
    let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: Received

    init(received: Received) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.state.withLock { $0.bytes.append(contentsOf: buffer.readableBytesView) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.state.withLock { $0.closed = true }
        context.fireChannelInactive()
    }
}
