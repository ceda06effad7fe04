import FederationHTTP

/// What OpenAI accepts in a chat body beyond its types: known roles, content where it is
/// required, content parts of known types. Both decoding paths (fast and `JSONDecoder`) produce a
/// ``ChatCompletionRequest`` and then run this one check, so they accept and reject the same bodies.
extension ChatCompletionRequest {
    /// The roles OpenAI's chat endpoint accepts.
    public static let roles = ["system", "user", "assistant", "tool", "developer", "function"]
    /// The content part types OpenAI's chat endpoint accepts.
    public static let partTypes = ["text", "image_url", "input_audio", "refusal", "audio", "file"]

    /// Throws a 400 naming the first field that OpenAI would reject (`messages[0].role`).
    public func validate() throws {
        guard !messages.isEmpty else {
            throw OpenAIError.invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                    + "but got an empty array instead.", param: "messages", code: "empty_array")
        }
        for (index, message) in messages.enumerated() {
            try message.validate(at: "messages[\(index)]")
        }
        if continueFinalMessage == true, messages.last?.role != "assistant" {
            throw OpenAIError.invalid(
                "continue_final_message is true but the last message is not the assistant's: there is no answer to continue.",
                param: "continue_final_message", code: "invalid_value")
        }
    }
}

extension ChatCompletionRequest.Message {
    public func validate(at path: String) throws {
        guard ChatCompletionRequest.roles.contains(role) else {
            throw OpenAIError.invalid(
                "Invalid value: '\(role)'. Supported values are: "
                    + Self.list(ChatCompletionRequest.roles) + ".", param: "\(path).role",
                code: "invalid_value")
        }
        switch content {
        case nil:
            // Only an assistant message that calls a tool may come without content.
            guard role == "assistant", hasCalls else {
                throw OpenAIError.invalid(
                    "Missing required parameter: '\(path).content'.", param: "\(path).content",
                    code: "missing_required_parameter")
            }
        case .text:
            break
        case .parts(let parts):
            guard !parts.isEmpty else {
                throw OpenAIError.invalid(
                    "Invalid '\(path).content': empty array. Expected an array with minimum length 1, "
                        + "but got an empty array instead.", param: "\(path).content", code: "empty_array")
            }
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).content[\(index)]"
                guard ChatCompletionRequest.partTypes.contains(part.type) else {
                    throw OpenAIError.invalid(
                        "Invalid value: '\(part.type)'. Supported values are: "
                            + Self.list(ChatCompletionRequest.partTypes) + ".", param: "\(partPath).type",
                        code: "invalid_value")
                }
                if part.type == "text", part.text == nil {
                    throw OpenAIError.invalid(
                        "Missing required parameter: '\(partPath).text'.", param: "\(partPath).text",
                        code: "missing_required_parameter")
                }
            }
        }
    }

    /// `'a', 'b', and 'c'`, as OpenAI lists valid values.
    public static func list(_ values: [String]) -> String {
        let quoted = values.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.joined() }
        return quoted.dropLast().joined(separator: ", ") + ", and " + quoted[quoted.count - 1]
    }
}
