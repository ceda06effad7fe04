import FederationCore
import FederationOpenAI
import Foundation
import NIOCore

/// Continuing a chat stream on another node when its node breaks off mid-stream
/// (`gateway.resume_streams`; docs/GATEWAY.md, "Streams that survive their node"): the next node
/// gets the original request plus the text already relayed as a partial assistant message with
/// `continue_final_message` (vLLM's convention), and the client's stream goes on from there.
enum StreamResume {
    /// The body for the node that continues: the client's chat body with the relayed `text`
    /// appended as the assistant's partial answer (to the client's own partial answer when it
    /// already asked to continue one), `continue_final_message: true`, `add_generation_prompt:
    /// false`, and its token limits lowered by the `tokens` already sent. Nil when the body cannot
    /// be continued: not a chat object, `n` other than 1, or no tokens left.
    static func continuation(of body: ByteBuffer, text: String, tokens: Int) -> ByteBuffer? {
        guard let json = body.withUnsafeReadableBytes({ JSONParser.parse($0) }),
            case .object(var fields) = json, case .array(var messages)? = fields["messages"]
        else { return nil }
        if let n = fields["n"], n != .null, n.doubleValue != 1 { return nil }
        for key in ["max_tokens", "max_completion_tokens"] {
            guard let limit = fields[key]?.doubleValue else { continue }
            let left = limit - Double(tokens)
            guard left >= 1 else { return nil }
            fields[key] = .number(left)
        }
        if fields["continue_final_message"] == .bool(true), case .object(var last)? = messages.last,
            last["role"] == .string("assistant"), case .string(let partial)? = last["content"]
        {
            last["content"] = .string(partial + text)
            messages[messages.count - 1] = .object(last)
        } else {
            messages.append(.object(["role": .string("assistant"), "content": .string(text)]))
        }
        fields["messages"] = .array(messages)
        fields["continue_final_message"] = .bool(true)
        fields["add_generation_prompt"] = .bool(false)
        guard let data = try? JSONEncoder().encode(JSONValue.object(fields)) else { return nil }
        return ByteBuffer(bytes: data)
    }

    /// The nodes that do not declare, in their catalog label `federation.resume`, that they can
    /// continue a stream of `capability`: never chosen to continue one.
    static func unable(_ capability: Capability, in catalog: CatalogState) -> Set<NodeId> {
        Set(catalog.nodes.values.lazy.filter { !$0.resumableCapabilities.contains(capability) }.map(\.id))
    }
}

/// Holds back the bytes after the last complete server-sent event, so that what reaches the
/// client is whole events only and a stream continued on another node never follows half an
/// event. Events end with a blank line (`\n\n` or `\r\n\r\n`).
struct SSEEventAligner: Sendable {
    private var pending = ByteBuffer()

    /// The complete events of what is pending plus `chunk`, or nil while none is complete.
    mutating func complete(_ chunk: ByteBuffer) -> ByteBuffer? {
        var chunk = chunk
        if pending.readableBytes == 0, let end = Self.lastEventEnd(chunk), end == chunk.readableBytes {
            return chunk
        }
        pending.writeBuffer(&chunk)
        guard let end = Self.lastEventEnd(pending), let events = pending.readSlice(length: end) else {
            return nil
        }
        pending.discardReadBytes()
        return events
    }

    /// What is left when the node ended its stream cleanly (an event without its blank line).
    mutating func rest() -> ByteBuffer? {
        defer { pending.clear() }
        return pending.readableBytes > 0 ? pending : nil
    }

    /// The length up to and including the last `\n\n` (or `\n\r\n`) in `buffer`.
    static func lastEventEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            var index = bytes.count - 1
            while index >= 1 {
                if bytes[index] == 0x0A {
                    if bytes[index - 1] == 0x0A { return index + 1 }
                    if index >= 2, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A { return index + 1 }
                }
                index -= 1
            }
            return nil
        }
    }
}
