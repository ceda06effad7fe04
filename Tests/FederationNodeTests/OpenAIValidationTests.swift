import FederationHTTP
import FederationOpenAI
import Foundation
import NIOCore
import Testing

@testable import FederationNode

/// Chat bodies OpenAI rejects, with the `param` and `code` it answers.
let rejectedChatBodies: [(body: String, param: String, code: String)] = {
    func chat(_ extra: String, messages: String = #"[{"role":"user","content":"hi"}]"#) -> String {
        #"{"model":"fed-chat","messages":"# + messages + (extra.isEmpty ? "" : "," + extra) + "}"
    }
    return [
        (chat("", messages: #"[{"role":"wizard","content":"hi"}]"#), "messages[0].role", "invalid_value"),
        (
            chat("", messages: #"[{"role":"user","content":"a"},{"role":"user"}]"#), "messages[1].content",
            "missing_required_parameter"
        ),
        (
            chat("", messages: #"[{"role":"system","content":null}]"#), "messages[0].content",
            "missing_required_parameter"
        ),
        (chat("", messages: #"[{"role":"user","content":[]}]"#), "messages[0].content", "empty_array"),
        (
            chat("", messages: #"[{"role":"user","content":[{"type":"video","text":"x"}]}]"#),
            "messages[0].content[0].type", "invalid_value"
        ),
        (
            chat("", messages: #"[{"role":"user","content":[{"type":"text"}]}]"#),
            "messages[0].content[0].text",
            "missing_required_parameter"
        ),
        (chat(#""temperature":"hot""#), "temperature", "invalid_type"),
        (chat(#""temperature":99"#), "temperature", "decimal_above_max_value"),
        (chat(#""temperature":-0.5"#), "temperature", "decimal_below_min_value"),
        (chat(#""top_p":1.5"#), "top_p", "decimal_above_max_value"),
        (chat(#""presence_penalty":-3"#), "presence_penalty", "decimal_below_min_value"),
        (chat(#""frequency_penalty":2.5"#), "frequency_penalty", "decimal_above_max_value"),
        (chat(#""n":0"#), "n", "integer_below_min_value"),
        (chat(#""n":129"#), "n", "integer_above_max_value"),
        (chat(#""n":1.5"#), "n", "invalid_type"),
        (chat(#""n":"2""#), "n", "invalid_type"),
        (chat(#""stop":["a","b","c","d","e"]"#), "stop", "array_above_max_length"),
        (chat(#""stop":7"#), "stop", "invalid_type"),
        (chat(#""max_tokens":1e20"#), "max_tokens", "integer_above_max_value"),
        (chat(#""max_tokens":-1e300"#), "max_tokens", "integer_below_min_value"),
        (chat(#""max_tokens":2.5"#), "max_tokens", "invalid_type"),
        (chat(#""max_completion_tokens":20000"#), "max_completion_tokens", "integer_above_max_value"),
    ]
}()

/// Chat bodies OpenAI accepts (some only through the slow path).
let acceptedChatBodies: [String] = [
    #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"temperature":0,"top_p":1,"n":1}"#,
    #"{"model":"fed-chat","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]}"#,
    #"{"model":"fed-chat","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","content":"42"}]}"#,
    #"{"model":"fed-chat","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
    #"{"model":"fed-chat","messages":[{"role":"function","content":"r","name":"f"}],"stop":"\n","presence_penalty":-2,"frequency_penalty":2}"#,
    #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d"],"temperature":2}"#,
    #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"n":128,"max_tokens":1}"#,
]

@Suite("OpenAI's validation and n on the node")
struct OpenAIValidationTests {
    @Test("bodies OpenAI rejects are 400 naming the field, in OpenAI's words", arguments: rejectedChatBodies)
    func rejected(body: String, param: String, code: String) async throws {
        try await withNode { node in
            let reply = try await node.post("/v1/chat/completions", json: body)
            #expect(reply.status == 400, "\(body): \(reply.text)")
            #expect(reply.errorParam == param, "\(body): \(reply.text)")
            #expect(reply.errorCode == code, "\(body): \(reply.text)")
            #expect(reply.json["error"]?["type"]?.stringValue == "invalid_request_error")
        }
    }

    @Test("a bad role lists the supported roles")
    func roleMessage() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/chat/completions",
                json: #"{"model":"fed-chat","messages":[{"role":"wizard","content":"x"}]}"#)
            #expect(
                reply.json["error"]?["message"]?.stringValue
                    == "Invalid value: 'wizard'. Supported values are: 'system', 'user', 'assistant', 'tool', "
                    + "'developer', and 'function'.")
        }
    }

    @Test("bodies OpenAI accepts are answered", arguments: acceptedChatBodies)
    func accepted(body: String) async throws {
        try await withNode { node in
            let reply = try await node.post("/v1/chat/completions", json: body)
            #expect(reply.status == 200, "\(body): \(reply.text)")
        }
    }

    @Test("the fast path and JSONDecoder accept and reject the same bodies, with the same fields")
    func fastPathAgrees() throws {
        for body in rejectedChatBodies.map(\.body) + acceptedChatBodies + [
            #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"n":2.0}"#
        ] {
            let buffer = ByteBuffer(string: body)
            let both = (
                Result { try ChatCompletionRequest.decode(from: buffer) },
                Result { () throws -> ChatCompletionRequest in
                    let request = try decodeSlowly(buffer)
                    try request.validate()
                    return request
                }
            )
            switch both {
            case (.success(let fast), .success(let slow)):
                #expect(fast.sampling == slow.sampling, "\(body)")
                #expect(fast.prompt == slow.prompt, "\(body)")
                #expect(fast.maxTokens == slow.maxTokens && fast.stream == slow.stream, "\(body)")
                #expect(fast.messages.map(\.hasCalls) == slow.messages.map(\.hasCalls), "\(body)")
            case (.failure(let fast), .failure(let slow)):
                #expect((fast as? OpenAIError)?.param == (slow as? OpenAIError)?.param, "\(body)")
                #expect("\(fast)" == "\(slow)", "\(body)")
            default:
                Issue.record("the two paths disagree on \(body): \(both)")
            }
        }
    }

    @Test("n chat choices: indexed, different, and all counted in usage")
    func chatChoices() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"n":3,"max_tokens":4}"#)
            #expect(reply.status == 200, "\(reply.text)")
            let choices = reply.json["choices"]?.arrayValue ?? []
            #expect(choices.map { $0["index"]?.intValue } == [0, 1, 2])
            let texts = choices.compactMap { $0["message"]?["content"]?.stringValue }
            #expect(Set(texts).count == 3, "\(texts)")
            #expect(reply.json["usage"]?["completion_tokens"]?.intValue == 12)
            // Choice 0 is what the same request without n answers.
            let single = try await node.post(
                "/v1/chat/completions",
                json: #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#)
            #expect(single.json["choices"]?[0]?["message"]?["content"]?.stringValue == texts.first)
        }
    }

    @Test("n streamed: every choice's chunks carry its index, and the usage chunk counts all")
    func streamedChoices() async throws {
        try await withNode { node in
            let body =
                #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"n":2,"max_tokens":3,"#
                + #""stream":true,"stream_options":{"include_usage":true}}"#
            let (status, _, frames) = try await node.stream("/v1/chat/completions", json: body)
            #expect(status == 200)
            let chunks = frames.filter { $0.data != "[DONE]" }.map(\.json)
            let indexed = chunks.compactMap { $0["choices"]?[0] }
            for index in [0, 1] {
                let mine = indexed.filter { $0["index"]?.intValue == index }
                // role chunk + 3 tokens + finish chunk
                #expect(mine.count == 5, "choice \(index): \(mine)")
                #expect(mine.last?["finish_reason"]?.stringValue == "length")
            }
            #expect(chunks.last?["usage"]?["completion_tokens"]?.intValue == 6)
        }
    }

    @Test(
        "outside numbers on the other endpoints are 400s naming the field, never a crash",
        arguments: [
            ("/v1/embeddings", #"{"model":"fed-embed","input":"x","dimensions":1e20}"#, "dimensions"),
            ("/v1/embeddings", #"{"model":"fed-embed","input":"x","dimensions":0.5}"#, "dimensions"),
            ("/v1/images/generations", #"{"prompt":"x","n":1e300}"#, "n"),
            ("/v1/completions", #"{"model":"fed-chat","prompt":"x","max_tokens":-1e20}"#, "max_tokens"),
            ("/v1/completions", #"{"model":"fed-chat","prompt":"x","n":9e18}"#, "n"),
        ])
    func outsideNumbers(path: String, body: String, param: String) async throws {
        try await withNode { node in
            let reply = try await node.post(path, json: body)
            #expect(reply.status == 400, "\(body): \(reply.text)")
            #expect(reply.errorParam == param, "\(body): \(reply.text)")
        }
    }

    @Test("text completions honour n and validate sampling fields too")
    func completions() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/completions", json: #"{"model":"fed-chat","prompt":"hi","n":2,"max_tokens":2}"#)
            #expect(reply.json["choices"]?.arrayValue?.map { $0["index"]?.intValue } == [0, 1])
            #expect(reply.json["usage"]?["completion_tokens"]?.intValue == 4)
            let hot = try await node.post(
                "/v1/completions", json: #"{"model":"fed-chat","prompt":"hi","temperature":3}"#)
            #expect(hot.status == 400)
            #expect(hot.errorParam == "temperature")
        }
    }
}

/// The slow path alone: `JSONDecoder` with the node's error translation.
func decodeSlowly(_ buffer: ByteBuffer) throws -> ChatCompletionRequest {
    try FederationHTTP.decodeJSON(ChatCompletionRequest.self, from: buffer)
}
