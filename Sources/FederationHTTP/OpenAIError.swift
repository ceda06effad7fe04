import FederationCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

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

    /// The error for a federation failure, with its status and code.
    public init(_ error: FederationError, headers: HTTPFields = [:]) {
        let status = HTTPResponse.Status(code: error.httpStatus)
        let type: String
        switch error.httpStatus {
        case 400: type = "invalid_request_error"
        case 504: type = "timeout_error"
        default: type = "server_error"
        }
        self.init(status: status, message: error.message, type: type, code: error.code, headers: headers)
    }

    /// 404 for something that is not there (a node, a model, a route).
    public static func notFound(_ message: String, code: String = "not_found") -> OpenAIError {
        OpenAIError(status: .notFound, message: message, type: "not_found_error", code: code)
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
            message: "Request body is larger than the limit of \(limit) bytes.",
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

    /// The error object as JSON text, `{"error":{…}}` (also what an SSE error event carries).
    public var jsonText: String { String(decoding: jsonData, as: UTF8.self) }

    private var jsonData: Data {
        let body = Body(error: .init(message: message, type: type, param: param, code: code))
        return (try? JSONEncoder().encode(body)) ?? Data("{\"error\":{\"message\":\"internal error\"}}".utf8)
    }

    /// The JSON response for this error.
    public func response() -> Response {
        let data = jsonData
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension OpenAIError {
    /// A 400 for a body that did not decode, through the one translator (``DecodingProblem``): the
    /// message names the field path (`messages[0].content`), what was expected and, for enum-like
    /// fields, the valid values; `param` is the path, `code` the kind of problem.
    public init(decoding problem: DecodingProblem) {
        self = .invalid(problem.message, param: problem.field, code: problem.kind.rawValue)
    }

    /// A 400 for an error thrown while decoding `body`.
    public init(decoding error: any Error, body: ByteBuffer? = nil) {
        let isJSON = body.map { buffer in
            (try? JSONSerialization.jsonObject(
                with: Data(buffer.readableBytesView), options: [.fragmentsAllowed]))
                != nil
        }
        self.init(decoding: DecodingProblem(error, bodyIsJSON: isJSON))
    }
}

/// Decodes a collected body as JSON: 400 naming the field when it does not fit.
public func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    guard buffer.readableBytes > 0 else {
        throw OpenAIError.invalid(
            "The request body is empty; send a JSON object.", param: nil, code: "invalid_json")
    }
    if let problem = JSONNesting.problem(in: buffer.readableBytesView) {
        throw OpenAIError.invalid("The body is not accepted: \(problem).", param: nil, code: "invalid_json")
    }
    do {
        return try JSONDecoder().decode(T.self, from: buffer)
    } catch let error as OpenAIError {
        throw error
    } catch {
        throw OpenAIError(decoding: error, body: buffer)
    }
}

extension Request {
    /// Collects and decodes a JSON body: 413 over `limit`, 400 naming the field when it does not fit.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        try FederationHTTP.decodeJSON(T.self, from: try await collectBody(limit: limit))
    }

    /// Collects the body up to `limit` bytes (else 413) without replacing `request.body`.
    public func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw OpenAIError.tooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limit: limit)
        } catch let error as HTTPParserError {
            // Broken framing inside the body (a chunk size that is not hex…): the client's error.
            throw OpenAIError.invalid(
                "The request body is not valid HTTP/1.1 (\(error)).", param: nil, code: "invalid_request")
        }
    }
}
