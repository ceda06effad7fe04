/// Hand-written JSON for the hot path (completions and their stream chunks): fewer allocations
/// than `JSONEncoder`, and explicit `null`s where OpenAI's clients expect them.
enum CompletionJSON {
    /// Which OpenAI endpoint a body is for.
    enum Kind: Sendable {
        case chat
        case text
    }

    /// The usage object.
    static func usage(prompt: Int, completion: Int) -> String {
        "{\"prompt_tokens\":\(prompt),\"completion_tokens\":\(completion),\"total_tokens\":\(prompt + completion)}"
    }

    /// A complete (non-streamed) response with one choice per text (`n`), indexed in order.
    static func response(
        kind: Kind, id: String, created: Int, model: String, texts: [String], finishReason: String,
        promptTokens: Int, completionTokens: Int
    ) -> String {
        var choices: [String] = []
        choices.reserveCapacity(texts.count)
        for (index, text) in texts.enumerated() {
            switch kind {
            case .chat:
                choices.append(
                    "{\"index\":\(index),\"message\":{\"role\":\"assistant\",\"content\":\(quoted(text))},"
                        + "\"logprobs\":null,\"finish_reason\":\"\(finishReason)\"}")
            case .text:
                choices.append(
                    "{\"index\":\(index),\"text\":\(quoted(text)),\"logprobs\":null,"
                        + "\"finish_reason\":\"\(finishReason)\"}")
            }
        }
        let object = kind == .chat ? "chat.completion" : "text_completion"
        return "{\"id\":\"\(id)\",\"object\":\"\(object)\",\"created\":\(created),\"model\":\(quoted(model)),"
            + "\"choices\":[\(choices.joined(separator: ","))],"
            + "\"usage\":\(usage(prompt: promptTokens, completion: completionTokens))}"
    }

    /// One stream chunk for choice `index`. `role` goes in each chat choice's first chunk only;
    /// `finishReason` in its last.
    static func chunk(
        kind: Kind, id: String, created: Int, model: String, index: Int = 0, content: String?,
        role: Bool = false, finishReason: String? = nil
    ) -> String {
        let finish = finishReason.map { "\"\($0)\"" } ?? "null"
        let choice: String
        switch kind {
        case .chat:
            var delta: [String] = []
            if role { delta.append("\"role\":\"assistant\"") }
            if let content { delta.append("\"content\":\(quoted(content))") }
            choice =
                "{\"index\":\(index),\"delta\":{\(delta.joined(separator: ","))},\"logprobs\":null,"
                + "\"finish_reason\":\(finish)}"
        case .text:
            choice =
                "{\"index\":\(index),\"text\":\(quoted(content ?? "")),\"logprobs\":null,\"finish_reason\":\(finish)}"
        }
        return "{\"id\":\"\(id)\",\"object\":\"\(chunkObject(kind))\",\"created\":\(created),"
            + "\"model\":\(quoted(model)),\"choices\":[\(choice)]}"
    }

    /// The extra usage chunk sent when `stream_options.include_usage` is true (empty choices).
    static func usageChunk(
        kind: Kind, id: String, created: Int, model: String, prompt: Int, completion: Int
    ) -> String {
        "{\"id\":\"\(id)\",\"object\":\"\(chunkObject(kind))\",\"created\":\(created),\"model\":\(quoted(model)),"
            + "\"choices\":[],\"usage\":\(usage(prompt: prompt, completion: completion))}"
    }

    static func chunkObject(_ kind: Kind) -> String {
        kind == .chat ? "chat.completion.chunk" : "text_completion"
    }

    /// A JSON string literal with the required escapes.
    static func quoted(_ text: String) -> String {
        var needsEscape = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
