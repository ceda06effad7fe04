import FederationConfig
import FederationCore
import Foundation
import NIOCore
import Testing

@testable import FederationGatewayService

/// `gateway.resume_streams`: a chat stream whose node breaks off goes on on another node that
/// declares `federation.resume`, and the client's text is the text of an uninterrupted run.
@Suite struct StreamResumeTests {
    static let resumable = [NodeInfo.resumeLabel: "generate,code"]

    /// The content of a chat event stream (choice 0's deltas), whether it ended with `[DONE]`,
    /// and whether it carried an error event.
    static func content(_ stream: String) -> (text: String, done: Bool, error: String?) {
        var text = ""
        var done = false
        var error: String?
        for line in stream.split(separator: "\n") where line.hasPrefix("data: ") {
            let data = line.dropFirst("data: ".count)
            if data == "[DONE]" {
                done = true
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            else { continue }
            if let failure = object["error"] as? [String: Any] {
                error = "\(failure["code"] ?? "")"
            }
            for choice in object["choices"] as? [[String: Any]] ?? [] {
                text += ((choice["delta"] as? [String: Any])?["content"] as? String) ?? ""
            }
        }
        return (text, done, error)
    }

    func resumingGateway(_ world: GatewayWorld) -> FederationConfiguration {
        world.configuration { $0.gateway.resumeStreams = true }
    }

    @Test(
        "a node that crashes after 5 tokens: another node continues, and the client's text equals an uninterrupted run's, with no token lost or repeated"
    )
    func crashedStreamIsContinued() async throws {
        try await withGatewayWorld { world in
            let specs = [
                NodeSpec(id: "a", labels: Self.resumable), NodeSpec(id: "b", labels: Self.resumable),
            ]
            try await world.withNodes(specs) { nodes in
                try await world.withGateway(resumingGateway(world), expectNodes: 2) { base in
                    let (_, whole, _) = try await world.chat(base, stream: true, maxTokens: 20)
                    let reference = Self.content(whole)
                    #expect(reference.done && reference.error == nil)
                    #expect(reference.text.split(separator: " ").count == 20)
                    try await world.setFaults(nodes[0], #"{"crash_after_tokens":5}"#)
                    // Round robin: of two requests, one starts on the crashing node.
                    for _ in 0..<2 {
                        let (status, stream, _) = try await world.chat(base, stream: true, maxTokens: 20)
                        let got = Self.content(stream)
                        #expect(status == 200)
                        #expect(got.error == nil, "\(stream.suffix(400))")
                        #expect(got.done)
                        #expect(got.text == reference.text)
                    }
                    let (_, faults, _) = try await world.request(.GET, nodes[0].url + "/admin/faults")
                    #expect(faults.contains("\"crashes\":1"), "\(faults)")
                    let (_, metrics, _) = try await world.request(.GET, base + "/metrics")
                    #expect(metrics.contains("federation_gateway_streams_resumed_total 1"))
                }
            }
        }
    }

    @Test(
        "a stream is not continued on a node without federation.resume, nor when the request says X-Federation-Resume: false"
    )
    func resumeNeedsTheDeclarationAndConsent() async throws {
        try await withGatewayWorld { world in
            let specs = [
                NodeSpec(id: "crasher", labels: Self.resumable), NodeSpec(id: "plain"),
            ]
            try await world.withNodes(specs) { nodes in
                try await world.setFaults(nodes[0], #"{"crash_after_tokens":3}"#)
                try await world.withGateway(resumingGateway(world), expectNodes: 2) { base in
                    var interrupted: [String] = []
                    for _ in 0..<2 {
                        let (_, stream, _) = try await world.chat(base, stream: true, maxTokens: 10)
                        let got = Self.content(stream)
                        if got.error != nil { interrupted.append(stream) }
                    }
                    #expect(interrupted.count == 1, "the plain node cannot continue the crasher's stream")
                    #expect(interrupted.first?.contains("could not be continued") == true)
                    #expect(try await world.received(nodes[1], "/v1/chat/completions") == 1)
                }
            }
        }
        try await withGatewayWorld { world in
            let specs = [
                NodeSpec(id: "crasher", labels: Self.resumable), NodeSpec(id: "b", labels: Self.resumable),
            ]
            try await world.withNodes(specs) { nodes in
                try await world.setFaults(nodes[0], #"{"crash_after_tokens":3}"#)
                try await world.withGateway(resumingGateway(world), expectNodes: 2) { base in
                    var errors = 0
                    for _ in 0..<2 {
                        let (_, stream, _) = try await world.chat(
                            base, stream: true, maxTokens: 10, headers: [("X-Federation-Resume", "false")])
                        if Self.content(stream).error == "stream_interrupted" { errors += 1 }
                    }
                    #expect(errors == 1)
                    let (status, text, _) = try await world.chat(
                        base, stream: true, headers: [("X-Federation-Resume", "maybe")])
                    #expect(status == 400 && text.contains("X-Federation-Resume"))
                }
            }
        }
    }

    @Test("the continuation body: the relayed text as the assistant's partial answer, limits lowered")
    func continuationBody() throws {
        func parse(_ buffer: ByteBuffer?) throws -> [String: Any] {
            let buffer = try #require(buffer)
            return try #require(
                JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
        }
        let body = ByteBuffer(
            string:
                #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":20,"stream":true}"#)
        let next = try parse(StreamResume.continuation(of: body, text: "the model", tokens: 2))
        let messages = try #require(next["messages"] as? [[String: Any]])
        #expect(messages.count == 2)
        #expect(messages[1]["role"] as? String == "assistant")
        #expect(messages[1]["content"] as? String == "the model")
        #expect(next["continue_final_message"] as? Bool == true)
        #expect(next["add_generation_prompt"] as? Bool == false)
        #expect(next["max_tokens"] as? Int == 18)
        #expect(next["stream"] as? Bool == true)
        // A client that itself continues a partial answer: the relayed text extends that one.
        let own = ByteBuffer(
            string:
                #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Once"}],"continue_final_message":true}"#
        )
        let extended = try parse(StreamResume.continuation(of: own, text: " upon", tokens: 1))
        let extendedMessages = try #require(extended["messages"] as? [[String: Any]])
        #expect(extendedMessages.count == 2)
        #expect(extendedMessages[1]["content"] as? String == "Once upon")
        // Not continued: several choices, no tokens left, not a chat body.
        let two = ByteBuffer(string: #"{"model":"m","messages":[],"n":2}"#)
        #expect(StreamResume.continuation(of: two, text: "x", tokens: 1) == nil)
        #expect(StreamResume.continuation(of: body, text: "x", tokens: 20) == nil)
        #expect(StreamResume.continuation(of: ByteBuffer(string: "[1]"), text: "x", tokens: 1) == nil)
    }

    @Test("the aligner passes whole events only, however the bytes are split")
    func alignerPassesWholeEvents() {
        let events = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(events.utf8)
        for cut in 1..<bytes.count {
            var aligner = SSEEventAligner()
            var out: [UInt8] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                if let whole = aligner.complete(ByteBuffer(bytes: part)) {
                    out += whole.readableBytesView
                    #expect(SSEEventAligner.lastEventEnd(whole) == whole.readableBytes, "cut at \(cut)")
                }
            }
            #expect(out == bytes, "cut at \(cut)")
        }
        var aligner = SSEEventAligner()
        #expect(aligner.complete(ByteBuffer(string: "data: {\"a\":")) == nil)
        #expect(aligner.rest().map { String(buffer: $0) } == "data: {\"a\":")
    }
}
