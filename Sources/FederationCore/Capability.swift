/// What a model can do. The wire form is a lowercase string: `transcribe`, `synthesize`, `generate`,
/// `code`, `embed`, `image_gen`, or `custom:<name>` for anything else.
public enum Capability: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Speech recognition (audio → text).
    case transcribe
    /// Text to speech.
    case synthesize
    /// Text generation (chat and completions).
    case generate
    /// Code generation.
    case code
    /// Embeddings.
    case embed
    /// Image generation.
    case imageGen
    /// Any other capability, named by the operator.
    case custom(String)

    /// The built-in capabilities, in a stable order.
    public static let builtIn: [Capability] = [.transcribe, .synthesize, .generate, .code, .embed, .imageGen]

    /// The wire form.
    public var description: String {
        switch self {
        case .transcribe: "transcribe"
        case .synthesize: "synthesize"
        case .generate: "generate"
        case .code: "code"
        case .embed: "embed"
        case .imageGen: "image_gen"
        case .custom(let name): "custom:\(name)"
        }
    }

    /// Parses the wire form; a bare unknown word is not accepted (use `custom:<name>`), so that a
    /// typo like `generat` is an error rather than a new capability. Built-in names and the
    /// `custom:` prefix ignore case, like every enum-like field (``WireEnum``); a custom name is an
    /// identifier and keeps its case.
    public init(parsing text: String) throws(FederationError) {
        switch WireText.lowercased(text) {
        case "transcribe": self = .transcribe
        case "synthesize": self = .synthesize
        case "generate": self = .generate
        case "code": self = .code
        case "embed": self = .embed
        case "image_gen": self = .imageGen
        case let lowered:
            if lowered.hasPrefix("custom:") {
                let name = String(text.utf8.dropFirst("custom:".utf8.count)) ?? ""
                if let problem = Identifier.problem(with: name, kind: "custom capability name") {
                    throw .invalidInput(problem)
                }
                self = .custom(name)
            } else {
                throw .invalidInput(
                    "unknown capability '\(WireText.quoted(text))'; expected one of "
                        + Capability.builtIn.map(\.description).joined(separator: ", ") + " or custom:<name>")
            }
        }
    }

    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.description < rhs.description }
}

extension Capability: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Capability(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
