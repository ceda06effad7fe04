import NIOCore

/// One Server-Sent Event as read from an upstream stream: its `data:` lines joined by `\n`, and
/// its `event:` and `id:` fields when present.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field (OpenAI sends none; some upstreams send `error`).
    public var event: String?
    /// The `data:` lines joined by `\n`.
    public var data: String
    /// The last `id:` seen so far in the stream (it carries over to later events, as in browsers).
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }

    /// Whether this is OpenAI's terminating `data: [DONE]`.
    public var isDone: Bool { data == "[DONE]" }
}

/// Reads an event stream (the WHATWG `text/event-stream` format that ``SSEWriter`` writes)
/// incrementally: feed it the body's buffers as they arrive and it returns each event once its
/// blank line has arrived. Lines may end in `\n`, `\r\n` or `\r`; `:` lines are comments; an event
/// with no `data:` line is not dispatched; `retry:` and unknown fields are ignored.
public struct SSEParser: Sendable {
    /// The bytes one unfinished line or event may hold before the stream counts as garbage.
    public let maxEventBytes: Int

    private var line: [UInt8] = []
    private var eventBytes = 0
    private var lastWasCR = false
    private var event: String?
    private var data: [String] = []
    private var id: String?

    /// Thrown when an event grows past ``maxEventBytes`` without ending.
    public struct EventTooLarge: Error, CustomStringConvertible {
        public let limit: Int
        public var description: String {
            "an upstream event stream sent more than \(limit) bytes without ending an event"
        }
    }

    public init(maxEventBytes: Int = 1 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    /// The events completed by `buffer`, in order.
    public mutating func feed(_ buffer: ByteBuffer) throws -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in buffer.readableBytesView {
            if lastWasCR {
                lastWasCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                lastWasCR = byte == UInt8(ascii: "\r")
                if let finished = endLine() { events.append(finished) }
            default:
                line.append(byte)
                eventBytes += 1
                guard eventBytes <= maxEventBytes else { throw EventTooLarge(limit: maxEventBytes) }
            }
        }
        return events
    }

    /// Handles one complete line; returns an event when the line was the blank one ending it.
    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else { return dispatch() }
        guard line[0] != UInt8(ascii: ":") else { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon == line.endIndex ? colon : colon + 1
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "data": data.append(value)
        case "event": event = value
        case "id": id = value
        default: break
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            event = nil
            data.removeAll()
            eventBytes = 0
        }
        guard !data.isEmpty else { return nil }
        return SSEEvent(event: event, data: data.joined(separator: "\n"), id: id)
    }
}
