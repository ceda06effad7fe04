import FederationNode
import Foundation
import Testing

@Suite("Chat and text completions")
struct GenerationTests {
    @Test("a non-streamed chat completion has the OpenAI shape and honours max_tokens")
    func chatCompletion() async throws {
        try await withNode { node in
            let reply = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: 7))
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type") == "application/json")
            let json = reply.json
            #expect(json["object"]?.stringValue == "chat.completion")
            #expect(json["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
            #expect(json["model"]?.stringValue == "fed-chat")
            #expect((json["created"]?.intValue ?? 0) > 1_600_000_000)
            let choice = try #require(json["choices"]?[0])
            #expect(choice["message"]?["role"]?.stringValue == "assistant")
            #expect(choice["finish_reason"]?.stringValue == "length")
            let content = try #require(choice["message"]?["content"]?.stringValue)
            #expect(content.split(separator: " ").count == 7)
            #expect(json["usage"]?["completion_tokens"]?.intValue == 7)
            #expect(json["usage"]?["prompt_tokens"]?.intValue == 3)  // "user: Hello there"
            #expect(json["usage"]?["total_tokens"]?.intValue == 10)
        }
    }

    @Test("the text is derived from the prompt: same prompt, same text; other prompt, other text")
    func deterministicText() async throws {
        try await withNode { node in
            func content(_ prompt: String) async throws -> String? {
                try await node.post("/v1/chat/completions", json: chatBody(prompt: prompt)).json["choices"]?[
                    0]?[
                        "message"]?["content"]?.stringValue
            }
            let first = try await content("tell me about rivers")
            let again = try await content("tell me about rivers")
            let other = try await content("tell me about mountains")
            #expect(first != nil)
            #expect(first == again)
            #expect(first != other)
            // The default max_tokens is 16 and ends naturally.
            let reply = try await node.post("/v1/chat/completions", json: chatBody())
            #expect(reply.json["usage"]?["completion_tokens"]?.intValue == 16)
            #expect(reply.json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        }
    }

    @Test(
        "continue_final_message: the node continues its own partial answer exactly where it stopped; a foreign partial gets other words; no assistant message is a 400"
    )
    func continuesAPartialAnswer() async throws {
        try await withNode { node in
            let ask = #"{"role":"user","content":"tell me about rivers"}"#
            func content(_ body: String) async throws -> String {
                try #require(
                    try await node.post("/v1/chat/completions", json: body).json["choices"]?[0]?["message"]?[
                        "content"]?.stringValue)
            }
            let whole = try await content(#"{"model":"fed-chat","messages":[\#(ask)],"max_tokens":12}"#)
            let words = whole.split(separator: " ")
            #expect(words.count == 12)
            for k in [1, 5, 11] {
                let partial = words.prefix(k).joined(separator: " ")
                let rest = try await content(
                    #"{"model":"fed-chat","messages":[\#(ask),{"role":"assistant","content":"\#(partial)"}],"continue_final_message":true,"max_tokens":\#(12 - k)}"#
                )
                #expect(partial + rest == whole, "continued after \(k) tokens")
            }
            let foreign = try await content(
                #"{"model":"fed-chat","messages":[\#(ask),{"role":"assistant","content":"zebra"}],"continue_final_message":true,"max_tokens":3}"#
            )
            #expect(foreign.hasPrefix(" ") && foreign.split(separator: " ").count == 3)
            let refused = try await node.post(
                "/v1/chat/completions",
                json: #"{"model":"fed-chat","messages":[\#(ask)],"continue_final_message":true}"#)
            #expect(refused.status == 400)
            #expect(refused.json["error"]?["param"]?.stringValue == "continue_final_message")
        }
    }

    @Test("a text completion has the text_completion shape")
    func textCompletion() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/completions", json: #"{"model":"fed-chat","prompt":["once","upon"],"max_tokens":4}"#)
            #expect(reply.status == 200)
            #expect(reply.json["object"]?.stringValue == "text_completion")
            #expect(reply.json["choices"]?[0]?["text"]?.stringValue?.split(separator: " ").count == 4)
            #expect(reply.json["usage"]?["completion_tokens"]?.intValue == 4)
        }
    }

    @Test("a streamed chat completion sends chunks, a final finish_reason and [DONE]")
    func streamedChat() async throws {
        try await withNode { node in
            let (status, contentType, frames) = try await node.stream(
                "/v1/chat/completions", json: chatBody(maxTokens: 5, stream: true))
            #expect(status == 200)
            #expect(contentType == "text/event-stream")
            #expect(frames.last?.data == "[DONE]")
            let chunks = frames.dropLast().map(\.json)
            #expect(chunks.count == 7)  // role, 5 tokens, finish
            #expect(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" })
            #expect(Set(chunks.compactMap { $0["id"]?.stringValue }).count == 1)
            #expect(chunks.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
            #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.stringValue == "length")
            #expect(chunks.dropLast().allSatisfy { $0["choices"]?[0]?["finish_reason"] == .null })
            let text = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            // The streamed text equals the non-streamed one.
            let whole = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: 5))
            #expect(text == whole.json["choices"]?[0]?["message"]?["content"]?.stringValue)
        }
    }

    @Test("tokens are paced at the configured rate: the first chunk arrives well before the last")
    func streamPacing() async throws {
        try await withNode({ $0.tokensPerSecond = 20 }) { node in
            let (_, _, frames) = try await node.stream(
                "/v1/chat/completions", json: chatBody(maxTokens: 8, stream: true))
            let tokens = frames.filter {
                $0.json["choices"]?[0]?["delta"]?["content"]?.stringValue?.isEmpty == false
            }
            #expect(tokens.count == 8)
            let arrivals = frames.map(\.arrival)
            #expect(arrivals == arrivals.sorted())
            // The server cannot send token 8 before 8/20 s after the role chunk: the spread has a floor.
            let spread = try #require(tokens.last).arrival - (try #require(frames.first)).arrival
            #expect(spread >= .milliseconds(200))
        }
    }

    @Test("stream_options.include_usage adds a usage chunk; streamed text completions work too")
    func streamUsage() async throws {
        try await withNode { node in
            let (_, _, frames) = try await node.stream(
                "/v1/completions",
                json:
                    #"{"model":"fed-chat","prompt":"hi","max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}"#
            )
            let chunks = frames.dropLast().map(\.json)
            #expect(frames.last?.data == "[DONE]")
            #expect(chunks.first?["object"]?.stringValue == "text_completion")
            #expect(chunks.last?["usage"]?["completion_tokens"]?.intValue == 3)
            #expect(chunks.last?["choices"]?.arrayValue?.isEmpty == true)
        }
    }
}
