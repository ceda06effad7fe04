import FederationCore
import FederationHTTP
import FederationOpenAI
import NIOCore

/// The client endpoints the gateway serves and what each needs from a body: the capability
/// follows from the path, the model (and `stream`, `max_tokens`) from the body.
public enum GatewayEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    case transcriptions = "/v1/audio/transcriptions"
    case speech = "/v1/audio/speech"
    case images = "/v1/images/generations"
    /// The native endpoint: any capability, `custom:<name>` included, named in the body.
    case infer = "/v1/infer"

    /// The path on the client side, forwarded as is to `{node endpoint}{path}`.
    public var path: String { rawValue }

    /// The capability of the endpoint; nil for `/v1/infer` (the body names it). Chat and
    /// completions are `generate`, or `code` when the model is deployed only for code.
    var capability: Capability? {
        switch self {
        case .chatCompletions, .completions: .generate
        case .embeddings: .embed
        case .transcriptions: .transcribe
        case .speech: .synthesize
        case .images: .imageGen
        case .infer: nil
        }
    }
}

/// What routing needs from a request body, read without decoding the whole request into a model
/// type (the node validates the rest and the gateway passes its 400 through).
struct RequestBodyFacts: Sendable, Equatable {
    var model: ModelId?
    var capability: Capability?
    var stream = false
    var maxTokens: Int?

    /// Reads `body` for `endpoint`.
    /// - Throws: a 400 ``OpenAIError`` naming what is wrong (not JSON, `model` not a string …).
    init(endpoint: GatewayEndpoint, body: ByteBuffer, contentType: String?) throws(OpenAIError) {
        if endpoint == .transcriptions {
            try self.init(multipart: body, contentType: contentType)
            return
        }
        guard body.readableBytes > 0 else {
            throw OpenAIError.invalid(
                "The request body is empty; send a JSON object.", param: nil, code: "invalid_json")
        }
        if let problem = JSONNesting.problem(in: body.readableBytesView) {
            throw OpenAIError.invalid(
                "The body is not accepted: \(problem).", param: nil, code: "invalid_json")
        }
        let parsed = body.withUnsafeReadableBytes { JSONParser.parse($0) }
        guard let parsed else {
            throw OpenAIError.invalid(
                "We could not parse the JSON body of your request. The body must be valid JSON.", param: nil,
                code: "invalid_json")
        }
        guard case .object(let fields) = parsed else {
            throw OpenAIError.invalid(
                "The request body must be a JSON object.", param: nil, code: "invalid_json")
        }
        try self.init(fields: fields, endpoint: endpoint)
    }

    private init(fields: [String: JSONValue], endpoint: GatewayEndpoint) throws(OpenAIError) {
        switch fields["model"] {
        case nil, .null?:
            if endpoint != .images && endpoint != .infer {
                throw OpenAIError.invalid(
                    "You must provide a model parameter.", param: "model", code: "missing_required_parameter")
            }
        case .string(let text)?:
            model = try Self.modelId(text)
        default:
            throw OpenAIError.invalid(
                "Invalid type for 'model': expected a string.", param: "model", code: "invalid_type")
        }
        switch fields["stream"] {
        case nil, .null?: stream = false
        case .bool(let value)?: stream = value
        default:
            throw OpenAIError.invalid(
                "Invalid type for 'stream': expected a boolean.", param: "stream", code: "invalid_type")
        }
        for key in ["max_tokens", "max_completion_tokens"] {
            if let number = fields[key]?.doubleValue, number >= 0, number <= 1e9, number == number.rounded() {
                maxTokens = Int(exactly: number)
            }
        }
        if endpoint == .infer {
            guard case .string(let text)? = fields["capability"] else {
                throw OpenAIError.invalid(
                    "You must provide a capability (e.g. \"generate\" or \"custom:rerank\").",
                    param: "capability",
                    code: "missing_required_parameter")
            }
            do {
                capability = try Capability(parsing: text)
            } catch {
                throw OpenAIError.invalid(error.message, param: "capability", code: "invalid_value")
            }
        }
    }

    private init(multipart body: ByteBuffer, contentType: String?) throws(OpenAIError) {
        guard let contentType, let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
            throw OpenAIError.invalid(
                "A transcription must be sent as multipart/form-data with a boundary.", param: nil,
                code: "invalid_content_type")
        }
        let form: MultipartFormData
        do {
            form = try MultipartFormData(body: Array(body.readableBytesView), boundary: boundary)
        } catch {
            throw OpenAIError.invalid(
                "Malformed multipart body: \(error.message).", param: nil, code: "invalid_multipart")
        }
        guard let model = form["model"]?.text, !model.isEmpty else {
            throw OpenAIError.invalid(
                "You must provide a model parameter.", param: "model", code: "missing_required_parameter")
        }
        self.model = try Self.modelId(model)
        stream = form["stream"]?.text == "true"
    }

    static func modelId(_ text: String) throws(OpenAIError) -> ModelId {
        if let problem = Identifier.problem(with: text, kind: "model") {
            throw OpenAIError.invalid(problem, param: "model", code: "invalid_value")
        }
        return ModelId(text)
    }
}
