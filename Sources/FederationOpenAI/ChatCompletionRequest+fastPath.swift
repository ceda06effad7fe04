import FederationHTTP
import NIOCore

/// The hot path for chat bodies: ``JSONParser`` plus a field-by-field read, about three times
/// cheaper than `JSONDecoder`. Anything unexpected returns nil and the caller decodes again with
/// `JSONDecoder`, whose errors name the field. Both paths then run the same ``validate()``, so they
/// accept and reject the same bodies (FastPathAgreementTests checks a corpus of both kinds).
extension ChatCompletionRequest {
    /// Decodes a chat body, fast when it is well-formed.
    public static func decode(from buffer: ByteBuffer) throws -> ChatCompletionRequest {
        let fast = buffer.withUnsafeReadableBytes { bytes in
            JSONParser.parse(bytes).flatMap(ChatCompletionRequest.init(json:))
        }
        let request = try fast ?? decodeJSON(ChatCompletionRequest.self, from: buffer)
        try request.validate()
        return request
    }

    /// A parsed chat body; nil (fall back to `JSONDecoder`) when a field is missing or has another type.
    public init?(json: JSONValue) {
        guard case .object(let fields) = json, let model = fields["model"]?.stringValue,
            let rawMessages = fields["messages"]?.arrayValue
        else { return nil }
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for raw in rawMessages {
            guard let message = Message(json: raw) else { return nil }
            messages.append(message)
        }
        guard let maxTokens = Self.optionalNumber(fields["max_tokens"]),
            let maxCompletionTokens = Self.optionalNumber(fields["max_completion_tokens"]),
            let stream = Self.optionalBool(fields["stream"]),
            let continueFinalMessage = Self.optionalBool(fields["continue_final_message"]),
            let sampling = SamplingParameters(json: fields)
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
            stream: stream, streamOptions: streamOptions, sampling: sampling,
            continueFinalMessage: continueFinalMessage)
    }

    /// `.some(nil)` for absent or null, `.some(x)` for a finite number (checked later by
    /// ``requestInteger(_:param:range:)``, as on the slow path), nil (fall back) for anything else.
    public static func optionalNumber(_ value: JSONValue?) -> Double?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .number(let number)?: return number.isFinite ? .some(number) : nil
        default: return nil
        }
    }

    public static func optionalBool(_ value: JSONValue?) -> Bool?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .bool(let flag)?: return .some(flag)
        default: return nil
        }
    }
}

extension ChatCompletionRequest.Message {
    /// One message of a parsed body; nil (fall back to `JSONDecoder`) when a field has another type.
    public init?(json: JSONValue) {
        guard case .object(let fields) = json, let role = fields["role"]?.stringValue else { return nil }
        let hasCalls = [fields["tool_calls"], fields["function_call"]].contains { $0 != nil && $0 != .null }
        switch fields["content"] {
        case nil, .null?:
            self.init(role: role, content: nil, hasCalls: hasCalls)
        case .string(let text)?:
            self.init(role: role, content: .text(text), hasCalls: hasCalls)
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
            self.init(role: role, content: .parts(parts), hasCalls: hasCalls)
        default:
            return nil
        }
    }
}

extension SamplingParameters {
    /// The sampling fields of a parsed body; nil (fall back to `JSONDecoder`) when one has a type
    /// the fast path does not accept.
    public init?(json fields: [String: JSONValue]) {
        guard let n = ChatCompletionRequest.optionalNumber(fields["n"]),
            let temperature = ChatCompletionRequest.optionalNumber(fields["temperature"]),
            let topP = ChatCompletionRequest.optionalNumber(fields["top_p"]),
            let presencePenalty = ChatCompletionRequest.optionalNumber(fields["presence_penalty"]),
            let frequencyPenalty = ChatCompletionRequest.optionalNumber(fields["frequency_penalty"])
        else { return nil }
        var stop: Stop?
        switch fields["stop"] {
        case nil, .null?:
            stop = nil
        case .string(let text)?:
            stop = .one(text)
        case .array(let items)?:
            var texts: [String] = []
            for item in items {
                guard let text = item.stringValue else { return nil }
                texts.append(text)
            }
            stop = .many(texts)
        default:
            return nil
        }
        self.init(
            n: n, temperature: temperature, topP: topP, presencePenalty: presencePenalty,
            frequencyPenalty: frequencyPenalty, stop: stop)
    }
}
