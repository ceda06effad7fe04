import HTTPTypes
import Hummingbird

/// Answers Hummingbird's own errors in the OpenAI shape every service uses: an unknown route (or a
/// known path with another method) is a 404 `{"error":{"message":"No route for GET /v1/nope …",
/// "type":"not_found_error","code":"unknown_route"}}` instead of an empty body, and any other
/// `HTTPError` keeps its status with a JSON body.
///
/// Hummingbird wraps its not-found responder in every router middleware, whenever it was added;
/// add this one first (``Router/addOpenAIErrors()``) so that it also covers the routes' own
/// `HTTPError`s.
public struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw OpenAIError(error, method: request.method, path: request.uri.path)
        }
    }
}

extension OpenAIError {
    /// The OpenAI-style form of a Hummingbird `HTTPError` for `method path`.
    public init(_ error: HTTPError, method: HTTPRequest.Method, path: String) {
        let shownPath = path.count > 256 ? String(path.prefix(256)) + "…" : path
        switch error.status {
        case .notFound:
            self.init(
                status: .notFound,
                message: error.body
                    ?? "No route for \(method) \(shownPath) on this service; check the method and the path.",
                type: "not_found_error", code: error.body == nil ? "unknown_route" : "not_found",
                headers: error.headers)
        default:
            let code = error.status.reasonPhrase.lowercased().split(separator: " ").joined(separator: "_")
            self.init(
                status: error.status,
                message: error.body ?? "\(error.status.code) \(error.status.reasonPhrase)",
                type: error.status.code < 500 ? "invalid_request_error" : "server_error",
                code: code.isEmpty ? nil : code, headers: error.headers)
        }
    }
}

extension Router {
    /// Adds ``OpenAIErrorMiddleware``: call it right after creating the router, before any route.
    public func addOpenAIErrors() {
        add(middleware: OpenAIErrorMiddleware())
    }
}
