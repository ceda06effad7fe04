import FederationCore
import FederationHTTP
import Foundation

/// Turns the JSON of `PUT /v1/policy` (a whole document) and `PATCH /v1/policy` (a JSON merge
/// patch, RFC 7396) into a `RoutingPolicyDocument`, or a 400 that names every problem found:
/// unknown fields (a typo must not be silently ignored by the one writer of the policy), wrong
/// types, and every range problem of `validationProblem`.
enum PolicyDocumentInput {
    static let documentFields: Set<String> = [
        "version", "strategy", "min_score", "max_candidates", "panic_threshold", "weights", "regions",
        "default_privacy", "default_cost", "max_latency_ms", "locality_boost", "cross_region_penalty",
        "tenant_affinity", "hash_load_factor",
    ]
    static let weightFields: Set<String> = [
        "health", "latency", "privacy", "locality", "cost", "qos", "tenant_affinity",
    ]
    static let regionFields: Set<String> = ["privacy", "cost"]

    /// Parses a whole document.
    static func document(from data: Data) throws -> RoutingPolicyDocument {
        try document(fromObject: try object(from: data), data: data)
    }

    /// Applies a merge patch to `current`: objects merge recursively, `null` removes a field (it
    /// takes its default), anything else replaces.
    static func patched(_ current: RoutingPolicyDocument, with data: Data) throws -> RoutingPolicyDocument {
        let patch = try object(from: data)
        let encoded = try JSONEncoder().encode(current)
        guard let base = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            throw OpenAIError(FederationError.internal("the current policy did not encode as a JSON object"))
        }
        let merged = merge(base, patch)
        return try document(fromObject: merged, data: try JSONSerialization.data(withJSONObject: merged))
    }

    static func merge(_ target: [String: Any], _ patch: [String: Any]) -> [String: Any] {
        var result = target
        for (key, value) in patch {
            if value is NSNull {
                result[key] = nil
            } else if let patchObject = value as? [String: Any] {
                result[key] = merge(result[key] as? [String: Any] ?? [:], patchObject)
            } else {
                result[key] = value
            }
        }
        return result
    }

    private static func object(from data: Data) throws -> [String: Any] {
        guard !data.isEmpty else {
            throw OpenAIError.invalid(
                "The request body is empty; send the policy document as a JSON object.", param: nil,
                code: "invalid_json")
        }
        if let problem = JSONNesting.problem(in: data) {
            throw OpenAIError.invalid(
                "The policy document is not accepted: \(problem).", param: nil, code: "invalid_json")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw OpenAIError.invalid(
                "We could not parse the JSON body of your request: it is not valid JSON.", param: nil,
                code: "invalid_json")
        }
        guard let object = parsed as? [String: Any] else {
            throw OpenAIError.invalid(
                "The policy document must be a JSON object.", param: nil, code: "invalid_json")
        }
        return object
    }

    /// Decodes `data` (whose parsed form is `object`), collecting every problem.
    private static func document(fromObject object: [String: Any], data: Data) throws -> RoutingPolicyDocument
    {
        var problems = unknownFields(in: object)
        var firstField = problems.first?.field
        do {
            let document = try JSONDecoder().decode(RoutingPolicyDocument.self, from: data)
            if problems.isEmpty { return document }
        } catch {
            let (field, message) = describe(error)
            problems.append((field, message))
            firstField = firstField ?? field
        }
        let message = problems.map(\.message).joined(separator: "; ")
        throw OpenAIError.invalid(
            "Invalid policy document: \(message). Nothing was changed.", param: firstField,
            code: "invalid_policy")
    }

    private static func unknownFields(in object: [String: Any]) -> [(field: String?, message: String)] {
        var problems: [(field: String?, message: String)] = []
        for key in object.keys.sorted() where !documentFields.contains(key) {
            problems.append(
                (key, "unknown field '\(key)' (known: \(documentFields.sorted().joined(separator: ", ")))"))
        }
        if let weights = object["weights"] as? [String: Any] {
            for key in weights.keys.sorted() where !weightFields.contains(key) {
                problems.append(
                    (
                        "weights.\(key)",
                        "unknown field 'weights.\(key)' (known: \(weightFields.sorted().joined(separator: ", ")))"
                    ))
            }
        }
        if let regions = object["regions"] as? [String: Any] {
            for (region, settings) in regions.sorted(by: { $0.key < $1.key }) {
                guard let settings = settings as? [String: Any] else { continue }
                for key in settings.keys.sorted() where !regionFields.contains(key) {
                    problems.append(
                        (
                            "regions.\(region).\(key)",
                            "unknown field 'regions.\(region).\(key)' (known: cost, privacy)"
                        ))
                }
            }
        }
        return problems
    }

    /// The field (dotted path) and a sentence for a decoding error, through the shared translator
    /// (``DecodingProblem``). A document that decodes but fails `validationProblem` arrives here as
    /// `dataCorrupted` at the root, its description listing every range problem; its first word
    /// names the first field.
    static func describe(_ error: any Error) -> (field: String?, message: String) {
        let problem = DecodingProblem(error, bodyIsJSON: true)
        if problem.field == nil, problem.kind == .invalidValue {
            let first = problem.detail.split(separator: " ").first.map(String.init)
            return (first.flatMap { documentFields.contains($0) ? $0 : nil }, problem.detail)
        }
        var message = problem.message
        if message.hasSuffix(".") { message.removeLast() }
        return (problem.field, message)
    }
}

/// `PUT` and `PATCH /v1/policy` bodies as functions of bytes, for the fuzz target.
public enum PolicyDocumentDecoder {
    /// A whole document; throws the 400 `PUT /v1/policy` would answer.
    public static func document(_ bytes: [UInt8]) throws -> RoutingPolicyDocument {
        try PolicyDocumentInput.document(from: Data(bytes))
    }

    /// A merge patch applied to the default document; throws the 400 `PATCH` would answer.
    public static func patched(_ bytes: [UInt8]) throws -> RoutingPolicyDocument {
        try PolicyDocumentInput.patched(RoutingPolicyDocument(), with: Data(bytes))
    }
}
