import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error answered in OpenAI's shape:
/// `{"error":{"message":…,"type":…,"param":…,"code":…}}`.
public struct OpenAIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    public var headers: HTTPFields

    public init(
        status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
        param: String? = nil, code: String? = nil, headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    /// 400 for a request that is wrong; names the field.
    public static func invalid(_ message: String, param: String?, code: String? = nil) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, param: param, code: code)
    }

    /// 404 for a model this node does not serve.
    public static func modelNotFound(_ model: String) -> OpenAIError {
        OpenAIError(
            status: .notFound,
            message: "The model '\(model)' does not exist on this node; GET /v1/models lists them.",
            param: "model", code: "model_not_found")
    }

    /// 413 for a body over the limit.
    public static func tooLarge(limit: Int) -> OpenAIError {
        OpenAIError(
            status: .contentTooLarge,
            message: "Request body is larger than the node's limit of \(limit) bytes.",
            code: "request_too_large")
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)  // explicit null, as OpenAI does
                try container.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The JSON response for this error.
    public func response() -> Response {
        let body = Body(error: .init(message: message, type: type, param: param, code: code))
        let data =
            (try? JSONEncoder().encode(body)) ?? Data("{\"error\":{\"message\":\"internal error\"}}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension OpenAIError {
    /// Turns a `DecodingError` into a 400 that names the field, e.g. `messages[0].content`.
    init(decoding error: any Error) {
        guard let error = error as? DecodingError else {
            self = .invalid("Could not parse the JSON body: \(error)", param: nil, code: "invalid_json")
            return
        }
        switch error {
        case .keyNotFound(let key, let context):
            let param = Self.path(context.codingPath + [key])
            self = .invalid(
                "Missing required parameter: '\(param)'.", param: param, code: "missing_required_parameter")
        case .typeMismatch(let type, let context):
            let param = Self.path(context.codingPath)
            self = .invalid(
                "Invalid type for '\(param)': expected \(Self.describe(type)).", param: param,
                code: "invalid_type")
        case .valueNotFound(let type, let context):
            let param = Self.path(context.codingPath)
            self = .invalid(
                "Invalid value for '\(param)': expected \(Self.describe(type)), got null.", param: param,
                code: "invalid_type")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self = .invalid(
                    "We could not parse the JSON body of your request: it is not valid JSON.", param: nil,
                    code: "invalid_json")
            } else {
                let param = Self.path(context.codingPath)
                self = .invalid(
                    "Invalid value for '\(param)': \(context.debugDescription)", param: param,
                    code: "invalid_value")
            }
        @unknown default:
            self = .invalid("Could not decode the request: \(error)", param: nil, code: "invalid_json")
        }
    }

    /// `messages[0].content` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var result = ""
        for key in keys {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return result
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default:
            "\(type)".contains("Array")
                ? "an array" : (("\(type)".contains("Dictionary")) ? "an object" : "\(type)")
        }
    }
}

/// Decodes a collected body as JSON: 400 naming the field when it does not fit.
func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    guard buffer.readableBytes > 0 else {
        throw OpenAIError.invalid(
            "The request body is empty; send a JSON object.", param: nil, code: "invalid_json")
    }
    do {
        return try JSONDecoder().decode(T.self, from: buffer)
    } catch {
        throw OpenAIError(decoding: error)
    }
}

extension Request {
    /// Collects and decodes a JSON body (for the non-inference routes).
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        try FederationNode.decodeJSON(T.self, from: try await collectBody(limit: limit))
    }

    /// Collects the body up to `limit` bytes (else 413) without replacing `request.body`.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw OpenAIError.tooLarge(limit: limit)
        }
        return try await NodeRuntime.collect(body, limit: limit)
    }
}
