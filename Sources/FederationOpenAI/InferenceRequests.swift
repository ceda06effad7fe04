import FederationHTTP

/// `POST /v1/chat/completions` body (the fields the federation reads; others are ignored). Decoding
/// checks types; ``validate()`` (ChatCompletionRequest+validation.swift) checks values.
public struct ChatCompletionRequest: Decodable, Sendable {
    public struct Message: Decodable, Sendable {
        public let role: String
        public let content: MessageContent?
        /// Whether the message carries `tool_calls` or `function_call` (an assistant message may
        /// then have no content).
        public let hasCalls: Bool

        enum CodingKeys: String, CodingKey {
            case role, content
            case toolCalls = "tool_calls"
            case functionCall = "function_call"
        }

        public init(role: String, content: MessageContent?, hasCalls: Bool = false) {
            self.role = role
            self.content = content
            self.hasCalls = hasCalls
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            content = try container.decodeIfPresent(MessageContent.self, forKey: .content)
            hasCalls = try [CodingKeys.toolCalls, .functionCall].contains { key in
                try container.contains(key) && !container.decodeNil(forKey: key)
            }
        }
    }

    public struct StreamOptions: Decodable, Sendable {
        public let includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public let model: String
    public let messages: [Message]
    /// Numbers stay `Double` until ``requestInteger(_:param:range:)`` checks them.
    public let maxTokens: Double?
    public let maxCompletionTokens: Double?
    public let stream: Bool?
    public let streamOptions: StreamOptions?
    public let sampling: SamplingParameters
    /// vLLM's `continue_final_message`: the last message is a partial assistant answer to be
    /// continued, not answered (how a gateway resumes a stream on another node).
    public let continueFinalMessage: Bool?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case streamOptions = "stream_options"
        case continueFinalMessage = "continue_final_message"
    }

    public init(
        model: String, messages: [Message], maxTokens: Double?, maxCompletionTokens: Double?, stream: Bool?,
        streamOptions: StreamOptions?, sampling: SamplingParameters = .init(),
        continueFinalMessage: Bool? = nil
    ) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.stream = stream
        self.streamOptions = streamOptions
        self.sampling = sampling
        self.continueFinalMessage = continueFinalMessage
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([Message].self, forKey: .messages)
        maxTokens = try container.decodeIfPresent(Double.self, forKey: .maxTokens)
        maxCompletionTokens = try container.decodeIfPresent(Double.self, forKey: .maxCompletionTokens)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try container.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        sampling = try SamplingParameters(from: decoder)
        continueFinalMessage = try container.decodeIfPresent(Bool.self, forKey: .continueFinalMessage)
    }

    /// The text the answer is derived from: every message's role and content (with
    /// `continue_final_message`, every message but the partial answer being continued).
    public var prompt: String {
        let asked = continuation != nil ? messages.dropLast() : messages[...]
        return asked.map { "\($0.role): \($0.content?.text ?? "")" }.joined(separator: "\n")
    }

    /// The partial assistant answer to continue: the last message's text when
    /// `continue_final_message` is true and that message is the assistant's, else nil.
    public var continuation: String? {
        guard continueFinalMessage == true, let last = messages.last, last.role == "assistant" else {
            return nil
        }
        return last.content?.text ?? ""
    }
}

/// A message's content: a string, or an array of parts of which the `text` ones count.
public enum MessageContent: Decodable, Sendable {
    case text(String)
    case parts([Part])

    public struct Part: Decodable, Sendable {
        public let type: String
        public let text: String?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let parts = try? container.decode([Part].self) {
            self = .parts(parts)
        } else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "content must be a string or an array of content parts"))
        }
    }

    public var text: String {
        switch self {
        case .text(let text): text
        case .parts(let parts): parts.compactMap(\.text).joined(separator: " ")
        }
    }
}

/// `POST /v1/completions` body.
public struct CompletionRequest: Decodable, Sendable {
    public let model: String
    public let prompt: StringOrStrings
    public let maxTokens: Double?
    public let stream: Bool?
    public let streamOptions: ChatCompletionRequest.StreamOptions?
    public let sampling: SamplingParameters

    enum CodingKeys: String, CodingKey {
        case model, prompt, stream
        case maxTokens = "max_tokens"
        case streamOptions = "stream_options"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        prompt = try container.decode(StringOrStrings.self, forKey: .prompt)
        maxTokens = try container.decodeIfPresent(Double.self, forKey: .maxTokens)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try container.decodeIfPresent(
            ChatCompletionRequest.StreamOptions.self, forKey: .streamOptions)
        sampling = try SamplingParameters(from: decoder)
    }
}

/// A string, or an array of strings, as `prompt`, `input` and `stop` accept.
public enum StringOrStrings: Decodable, Sendable, Equatable {
    case one(String)
    case many([String])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .one(text)
        } else if let texts = try? container.decode([String].self) {
            self = .many(texts)
        } else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "expected a string or an array of strings"))
        }
    }

    public var texts: [String] {
        switch self {
        case .one(let text): [text]
        case .many(let texts): texts
        }
    }
}

/// `POST /v1/embeddings` body.
public struct EmbeddingRequest: Decodable, Sendable {
    public let model: String
    public let input: StringOrStrings
    public let encodingFormat: String?
    public let dimensions: Double?

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions
        case encodingFormat = "encoding_format"
    }
}

/// `POST /v1/audio/speech` body.
public struct SpeechRequest: Decodable, Sendable {
    public let model: String
    public let input: String
    public let voice: String?
    public let responseFormat: String?

    enum CodingKeys: String, CodingKey {
        case model, input, voice
        case responseFormat = "response_format"
    }
}

/// `POST /v1/images/generations` body.
public struct ImageRequest: Decodable, Sendable {
    public let prompt: String
    public let model: String?
    public let n: Double?
    public let size: String?
    public let responseFormat: String?

    enum CodingKeys: String, CodingKey {
        case prompt, model, n, size
        case responseFormat = "response_format"
    }
}
