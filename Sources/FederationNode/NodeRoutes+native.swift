import FederationCore
import FederationHTTP
import FederationOpenAI
import Hummingbird
import NIOCore

/// `POST /v1/infer`: the federation's native protocol for any capability, `custom:<name>`
/// included — `{"capability": "custom:rerank", "model": "…", "input": <any JSON>}` →
/// `{"object": "inference", "capability", "model", "output": <deterministic text>, "usage"}`.
extension NodeRuntime {
    func infer(_ request: Request, gone: @autoclosure () -> ClientDisconnect?) async throws -> Response {
        try await serveInference(request, gone: gone()) { buffer in
            if let problem = JSONNesting.problem(in: buffer.readableBytesView) {
                throw OpenAIError.invalid(
                    "The body is not accepted: \(problem).", param: nil, code: "invalid_json")
            }
            guard let json = buffer.withUnsafeReadableBytes({ JSONParser.parse($0) }),
                case .object(let fields) = json
            else {
                throw OpenAIError.invalid("The body must be a JSON object.", param: nil, code: "invalid_json")
            }
            guard case .string(let text)? = fields["capability"] else {
                throw OpenAIError.invalid(
                    "You must provide a capability.", param: "capability", code: "missing_required_parameter")
            }
            let capability: Capability
            do throws(FederationError) {
                capability = try Capability(parsing: text)
            } catch {
                throw OpenAIError.invalid(error.message, param: "capability", code: "invalid_value")
            }
            guard case .string(let name)? = fields["model"] else {
                throw OpenAIError.invalid(
                    "You must provide a model parameter.", param: "model", code: "missing_required_parameter")
            }
            let model = try self.model(named: name, for: [capability])
            let input = fields["input"].map { "\($0)" } ?? ""
            return NativeRequest(capability: capability, model: model.name, input: input)
        } respond: { (parsed: NativeRequest, permit) in
            defer { permit.release() }
            let (capability, model, input) = (parsed.capability, parsed.model, parsed.input)
            let output = DeterministicText.tokens(for: "\(capability)|\(input)", count: 8).joined()
            return try self.jsonResponse([
                "object": "inference", "capability": .string(capability.description), "model": .string(model),
                "output": .string(output),
                "usage": [
                    "prompt_tokens": .number(1), "completion_tokens": .number(8), "total_tokens": .number(9),
                ],
            ])
        }
    }
}

struct NativeRequest: Sendable {
    var capability: Capability
    var model: String
    var input: String
}
