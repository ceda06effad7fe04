/// The one translation of a decoding failure into something a person can act on: which field (as
/// a path such as `models[0].parameters`), what was expected and, for enum-like fields, the valid
/// values. Every decoder of outside input reports through it: the HTTP APIs (as the OpenAI error's
/// `message` and `param`), channel payloads (health reports, events), stored documents and the
/// configuration file.
public struct DecodingProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem; the raw value is the OpenAI-style error `code`.
    public enum Kind: String, Sendable {
        /// A required field is absent.
        case missing = "missing_required_parameter"
        /// A field has the wrong JSON type (a string where a number belongs, null…).
        case wrongType = "invalid_type"
        /// A field has the right type but a value that is not allowed (out of range, unknown enum value).
        case invalidValue = "invalid_value"
        /// The bytes are not JSON (or not the JSON value expected at the top).
        case notJSON = "invalid_json"
    }

    public var kind: Kind
    /// The field's path (`qos.max_latency_ms`, `models[1].name`); nil for the whole document.
    public var field: String?
    /// What is wrong, without the field: "expected a number", "unknown strategy 'x'; expected one of …".
    public var detail: String

    public init(kind: Kind, field: String?, detail: String) {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    /// Translates any error thrown while decoding. `bodyIsJSON`, when known, lets the translator
    /// tell bytes that are not JSON from valid JSON with a number Foundation's decoder refuses (it
    /// reports both as "not valid JSON", without a field; our own decoders use `CheckedDecoding`,
    /// which names the field).
    public init(_ error: any Error, bodyIsJSON: Bool? = nil) {
        if let problem = error as? DecodingProblem {
            self = problem
            return
        }
        guard let error = error as? DecodingError else {
            self.init(kind: .notJSON, field: nil, detail: "could not be decoded: \(error)")
            return
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(kind: .missing, field: Self.path(context.codingPath + [key]), detail: "is required")
        case .typeMismatch(let type, let context):
            self.init(
                kind: .wrongType, field: Self.path(context.codingPath),
                detail: "expected \(Self.describe(type))\(Self.found(context.debugDescription))")
        case .valueNotFound(let type, let context):
            self.init(
                kind: .wrongType, field: Self.path(context.codingPath),
                detail: "expected \(Self.describe(type)), got null")
        case .dataCorrupted(let context):
            if let field = Self.path(context.codingPath) {
                self.init(kind: .invalidValue, field: field, detail: context.debugDescription)
            } else if context.debugDescription.hasPrefix("The given data was not valid JSON") {
                if bodyIsJSON == true {
                    self.init(
                        kind: .invalidValue, field: nil,
                        detail:
                            "a number does not fit its field (a whole number was expected, or it is out of range)"
                    )
                } else {
                    self.init(kind: .notJSON, field: nil, detail: "is not valid JSON")
                }
            } else {
                self.init(kind: .invalidValue, field: nil, detail: context.debugDescription)
            }
        @unknown default:
            self.init(kind: .notJSON, field: nil, detail: "could not be decoded: \(error)")
        }
    }

    /// One sentence naming the field: "Invalid value for 'qos.max_latency_ms': must be …".
    public var message: String {
        guard let field else {
            switch kind {
            case .notJSON: return "The body \(detail)."
            default: return "Invalid document: \(detail)."
            }
        }
        switch kind {
        case .missing: return "Missing required field '\(field)'."
        case .wrongType: return "Invalid type for '\(field)': \(detail)."
        case .invalidValue, .notJSON: return "Invalid value for '\(field)': \(detail)."
        }
    }

    public var description: String { message }

    /// `messages[0].content` from a coding path; nil for the empty path.
    public static func path(_ keys: [any CodingKey]) -> String? {
        var result = ""
        for key in keys {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return result.isEmpty ? nil : result
    }

    /// "a string", "a number"… for the type a decoder expected.
    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type:
            return "a whole number"
        case is Bool.Type: return "a boolean"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            if name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") { return "an object" }
            return name
        }
    }

    /// ", found a string" from Foundation's "Expected to decode Int but found a string instead.".
    static func found(_ debugDescription: String) -> String {
        guard let range = debugDescription.firstRange(of: "but found ") else { return "" }
        var rest = debugDescription[range.upperBound...]
        if let end = rest.firstRange(of: " instead") { rest = rest[..<end.lowerBound] }
        return rest.isEmpty ? "" : ", found \(rest)"
    }
}
