import FederationNode
import Foundation
import Testing

@Suite("Bad input gets OpenAI-style errors naming the field")
struct BadInputTests {
    @Test(
        "malformed or incomplete chat bodies are 400 with the right param",
        arguments: [
            (
                #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}"#, nil as String?,
                "invalid_json"
            ),
            (#"not json"#, nil, "invalid_json"),
            (#"{"messages":[{"role":"user","content":"hi"}]}"#, "model", "missing_required_parameter"),
            (#"{"model":"fed-chat"}"#, "messages", "missing_required_parameter"),
            (#"{"model":"fed-chat","messages":"hi"}"#, "messages", "invalid_type"),
            (
                #"{"model":"fed-chat","messages":[{"role":"user","content":42}]}"#, "messages[0].content",
                "invalid_type"
            ),
            (
                #"{"model":"fed-chat","messages":[{"content":"hi"}]}"#, "messages[0].role",
                "missing_required_parameter"
            ),
            (#"{"model":7,"messages":[]}"#, "model", "invalid_type"),
            (#"{"model":"fed-chat","messages":[]}"#, "messages", "empty_array"),
            (
                #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":0}"#,
                "max_tokens", "integer_below_min_value"
            ),
            (
                #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":"5"}"#,
                "max_tokens", "invalid_type"
            ),
            (
                #"{"model":"fed-chat","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, "stream",
                "invalid_type"
            ),
        ])
    func badChat(body: String, param: String?, code: String) async throws {
        try await withNode { node in
            let reply = try await node.post("/v1/chat/completions", json: body)
            #expect(reply.status == 400)
            #expect(reply.json["error"]?["type"]?.stringValue == "invalid_request_error")
            #expect(reply.errorParam == param)
            #expect(reply.errorCode == code)
            #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false)
        }
    }

    @Test("an empty body is 400")
    func emptyBody() async throws {
        try await withNode { node in
            let reply = try await node.request(.POST, "/v1/embeddings", body: [])
            #expect(reply.status == 400)
        }
    }

    @Test("an unknown model is 404 model_not_found; a model without the capability is 400")
    func models() async throws {
        try await withNode { node in
            let unknown = try await node.post("/v1/chat/completions", json: chatBody(model: "gpt-17"))
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "model_not_found")
            #expect(unknown.errorParam == "model")
            let wrong = try await node.post("/v1/embeddings", json: #"{"model":"fed-chat","input":"x"}"#)
            #expect(wrong.status == 400)
            #expect(wrong.errorParam == "model")
            #expect(wrong.errorCode == "model_not_supported")
        }
    }

    @Test("a body over the limit is 413")
    func oversize() async throws {
        try await withNode({ $0.maxBodyBytes = 2048 }) { node in
            let big = #"{"model":"fed-embed","input":""# + String(repeating: "x", count: 4096) + #""}"#
            let reply = try await node.post("/v1/embeddings", json: big)
            #expect(reply.status == 413)
            #expect(reply.errorCode == "request_too_large")
            // The node still serves normal requests afterwards.
            #expect(
                try await node.post("/v1/embeddings", json: #"{"model":"fed-embed","input":"x"}"#).status
                    == 200)
        }
    }

    @Test("media endpoints validate their fields")
    func mediaFields() async throws {
        try await withNode { node in
            let size = try await node.post("/v1/images/generations", json: #"{"prompt":"x","size":"big"}"#)
            #expect(size.status == 400)
            #expect(size.errorParam == "size")
            let prompt = try await node.post("/v1/images/generations", json: #"{"size":"8x8"}"#)
            #expect(prompt.errorParam == "prompt")
            let format = try await node.post(
                "/v1/embeddings", json: #"{"model":"fed-embed","input":"x","encoding_format":"hex"}"#)
            #expect(format.errorParam == "encoding_format")
            let input = try await node.post("/v1/embeddings", json: #"{"model":"fed-embed","input":[1,2]}"#)
            #expect(input.errorParam == "input")
            let speech = try await node.post("/v1/audio/speech", json: #"{"model":"fed-tts"}"#)
            #expect(speech.errorParam == "input")
            let boundary = "b0"
            let noFile = Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nfed-whisper\r\n--\(boundary)--\r\n"
                    .utf8)
            let reply = try await node.request(
                .POST, "/v1/audio/transcriptions", body: noFile,
                contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(reply.status == 400)
            #expect(reply.errorParam == "file")
        }
    }
}
