import HTTPTypes
import Hummingbird
import NIOCore

/// Server-Sent Events the way OpenAI streams them: `data: {json}\n\n` frames, then `data: [DONE]\n\n`.
///
/// Every write is awaited, so a slow client pushes back on the generator; a closed connection
/// makes the write throw, which ends the stream.
public enum SSEWriter {
    /// Headers for an event stream response.
    public static var headers: HTTPFields {
        [
            .contentType: "text/event-stream", .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
    }

    /// One `data:` frame.
    public static func frame(_ json: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.utf8.count + 8)
        buffer.writeStaticString("data: ")
        buffer.writeString(json)
        buffer.writeStaticString("\n\n")
        return buffer
    }

    /// Sends one `data:` frame.
    public static func send(_ json: String, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(frame(json))
    }

    /// Sends the terminating `data: [DONE]` frame and ends the body.
    public static func finish(_ writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(staticString: "data: [DONE]\n\n"))
        try await writer.finish(nil)
    }
}
