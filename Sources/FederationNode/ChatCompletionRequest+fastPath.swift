import FederationHTTP
import NIOCore

/// The hot path for chat bodies: ``JSONParser`` plus a field-by-field read, about three times
/// cheaper than `JSONDecoder`. Anything unexpected returns nil and the caller decodes again with
/// `JSONDecoder`, whose errors name the field, so both paths accept and reject the same bodies.
extension ChatCompletionRequest {
    /// Decodes a chat body, fast when it is well-formed.
    static func decode(from buffer: ByteBuffer) throws -> ChatCompletionRequest {
        let fast = buffer.withUnsafeReadableBytes { bytes in
            JSONParser.parse(bytes).flatMap(ChatCompletionRequest.init(json:))
        }
        return try fast ?? decodeJSON(ChatCompletionRequest.self, from: buffer)
    }

    init?(json: JSONValue) {
        guard case .object(let fields) = json, let model = fields["model"]?.stringValue,
            let rawMessages = fields["messages"]?.arrayValue
        else { return nil }
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for raw in rawMessages {
            guard let message = Message(json: raw) else { return nil }
            messages.append(message)
        }
        guard let maxTokens = Self.optionalInt(fields["max_tokens"]),
            let maxCompletionTokens = Self.optionalInt(fields["max_completion_tokens"]),
            let stream = Self.optionalBool(fields["stream"])
        else { return nil }
        var streamOptions: StreamOptions?
        switch fields["stream_options"] {
        case nil, .null?:
            streamOptions = nil
        case .object(let options)?:
            guard let includeUsage = Self.optionalBool(options["include_usage"]) else { return nil }
            streamOptions = StreamOptions(includeUsage: includeUsage)
        default:
            return nil
        }
        self.init(
            model: model, messages: messages, maxTokens: maxTokens, maxCompletionTokens: maxCompletionTokens,
            stream: stream, streamOptions: streamOptions)
    }

    /// `.some(nil)` for absent or null, `.some(n)` for an integer, nil (fall back) for anything else.
    private static func optionalInt(_ value: JSONValue?) -> Int?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .number(let number)?:
            guard number == number.rounded(), abs(number) < 1e15 else { return nil }
            return .some(Int(number))
        default: return nil
        }
    }

    private static func optionalBool(_ value: JSONValue?) -> Bool?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .bool(let flag)?: return .some(flag)
        default: return nil
        }
    }
}

extension ChatCompletionRequest.Message {
    init?(json: JSONValue) {
        guard case .object(let fields) = json, let role = fields["role"]?.stringValue else { return nil }
        switch fields["content"] {
        case nil, .null?:
            self.init(role: role, content: nil)
        case .string(let text)?:
            self.init(role: role, content: .text(text))
        case .array(let rawParts)?:
            var parts: [MessageContent.Part] = []
            for raw in rawParts {
                guard case .object(let part) = raw, let type = part["type"]?.stringValue else { return nil }
                switch part["text"] {
                case nil, .null?: parts.append(.init(type: type, text: nil))
                case .string(let text)?: parts.append(.init(type: type, text: text))
                default: return nil
                }
            }
            self.init(role: role, content: .parts(parts))
        default:
            return nil
        }
    }
}
