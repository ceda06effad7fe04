import HTTPTypes
import Hummingbird

/// Guards admin routes with `Authorization: Bearer <token>` when a token is configured (and lets
/// everything through when none is). Read-only methods can be left open with `protectReads: false`.
public struct AdminTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    private let expected: [UInt8]?
    private let protectReads: Bool

    public init(token: String?, protectReads: Bool = false) {
        self.expected = token.map { Array("Bearer \($0)".utf8) }
        self.protectReads = protectReads
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let expected else { return try await next(request, context) }
        let isRead = request.method == .get || request.method == .head
        if isRead && !protectReads { return try await next(request, context) }
        guard let given = request.headers[.authorization] else {
            throw OpenAIError(
                status: .unauthorized, message: "This admin API needs 'Authorization: Bearer <admin token>'.",
                type: "authentication_error", code: "missing_admin_token")
        }
        guard Self.constantTimeEqual(Array(given.utf8), expected) else {
            throw OpenAIError(
                status: .forbidden, message: "The admin token is not valid.", type: "permission_error",
                code: "invalid_admin_token")
        }
        return try await next(request, context)
    }

    /// Compares without returning early on the first differing byte (no timing side channel).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<min(a.count, b.count) { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
