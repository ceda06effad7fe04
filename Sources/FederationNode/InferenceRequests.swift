import FederationHTTP

/// `POST /v1/chat/completions` body (the fields this node reads; others are ignored). Decoding
/// checks types; ``validate()`` (ChatCompletionRequest+validation.swift) checks values.
struct ChatCompletionRequest: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        let role: String
        let content: MessageContent?
        /// Whether the message carries `tool_calls` or `function_call` (an assistant message may
        /// then have no content).
        let hasCalls: Bool

        enum CodingKeys: String, CodingKey {
            case role, content
            case toolCalls = "tool_calls"
            case functionCall = "function_call"
        }

        init(role: String, content: MessageContent?, hasCalls: Bool = false) {
            self.role = role
            self.content = content
            self.hasCalls = hasCalls
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            content = try container.decodeIfPresent(MessageContent.self, forKey: .content)
            hasCalls = try [CodingKeys.toolCalls, .functionCall].contains { key in
                try container.contains(key) && !container.decodeNil(forKey: key)
            }
        }
    }

    struct StreamOptions: Decodable, Sendable {
        let includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    let model: String
    let messages: [Message]
    /// Numbers stay `Double` until ``requestInteger(_:param:range:)`` checks them.
    let maxTokens: Double?
    let maxCompletionTokens: Double?
    let stream: Bool?
    let streamOptions: StreamOptions?
    let sampling: SamplingParameters

    enum CodingKeys: String, CodingKey {
        case model, messages, stream
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case streamOptions = "stream_options"
    }

    init(
        model: String, messages: [Message], maxTokens: Double?, maxCompletionTokens: Double?, stream: Bool?,
        streamOptions: StreamOptions?, sampling: SamplingParameters = .init()
    ) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.stream = stream
        self.streamOptions = streamOptions
        self.sampling = sampling
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([Message].self, forKey: .messages)
        maxTokens = try container.decodeIfPresent(Double.self, forKey: .maxTokens)
        maxCompletionTokens = try container.decodeIfPresent(Double.self, forKey: .maxCompletionTokens)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try container.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        sampling = try SamplingParameters(from: decoder)
    }

    /// The text the answer is derived from: every message's role and content.
    var prompt: String {
        messages.map { "\($0.role): \($0.content?.text ?? "")" }.joined(separator: "\n")
    }
}

/// A message's content: a string, or an array of parts of which the `text` ones count.
enum MessageContent: Decodable, Sendable {
    case text(String)
    case parts([Part])

    struct Part: Decodable, Sendable {
        let type: String
        let text: String?
    }

    init(from decoder: any Decoder) throws {
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

    var text: String {
        switch self {
        case .text(let text): text
        case .parts(let parts): parts.compactMap(\.text).joined(separator: " ")
        }
    }
}

/// `POST /v1/completions` body.
struct CompletionRequest: Decodable, Sendable {
    let model: String
    let prompt: StringOrStrings
    let maxTokens: Double?
    let stream: Bool?
    let streamOptions: ChatCompletionRequest.StreamOptions?
    let sampling: SamplingParameters

    enum CodingKeys: String, CodingKey {
        case model, prompt, stream
        case maxTokens = "max_tokens"
        case streamOptions = "stream_options"
    }

    init(from decoder: any Decoder) throws {
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
enum StringOrStrings: Decodable, Sendable, Equatable {
    case one(String)
    case many([String])

    init(from decoder: any Decoder) throws {
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

    var texts: [String] {
        switch self {
        case .one(let text): [text]
        case .many(let texts): texts
        }
    }
}

/// `POST /v1/embeddings` body.
struct EmbeddingRequest: Decodable, Sendable {
    let model: String
    let input: StringOrStrings
    let encodingFormat: String?
    let dimensions: Double?

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions
        case encodingFormat = "encoding_format"
    }
}

/// `POST /v1/audio/speech` body.
struct SpeechRequest: Decodable, Sendable {
    let model: String
    let input: String
    let voice: String?
    let responseFormat: String?

    enum CodingKeys: String, CodingKey {
        case model, input, voice
        case responseFormat = "response_format"
    }
}

/// `POST /v1/images/generations` body.
struct ImageRequest: Decodable, Sendable {
    let prompt: String
    let model: String?
    let n: Double?
    let size: String?
    let responseFormat: String?

    enum CodingKeys: String, CodingKey {
        case prompt, model, n, size
        case responseFormat = "response_format"
    }
}
