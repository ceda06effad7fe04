import FederationOpenAI
import Foundation
import NIOCore
import Testing

@Suite("The hot-path JSON parser")
struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? {
        Array(text.utf8).withUnsafeBytes { JSONParser.parse($0) }
    }

    @Test("valid documents parse to the same values Foundation reads")
    func valid() throws {
        for text in [
            #"{"a":[1,-2.5,3e2,0,true,false,null],"b":{"c":"d"},"e":"ü ✓"}"#, " [ ] ", "{}", "\"x\"",
            "-0.5E-3",
            "[[[[1]]]]",
            #""a\nb\t\"q\" \\ \/ \b\f\r""#, #""\u00fc\u2713 \uD83D\uDE00 \u0041""#,
            #"{"say \"hi\"":"line 1\nline 2"}"#,
        ] {
            let ours = try #require(parse(text), "\(text)")
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(ours == foundation, "\(text)")
        }
    }

    @Test("invalid documents give nil")
    func invalid() {
        for text in [
            "", "{", #"{"a":1,}"#, "[1,]", "01", "1.", "-", "tru", #"{"a" 1}"#, #"{a:1}"#, "[1] x",
            #""a\xb""#, #""\u12""#, #""\u12G4""#, #""end\"#,
            "\"tab\there\"", String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
        ] {
            #expect(parse(text) == nil, "\(text)")
        }
    }

    @Test("a lone surrogate escape is read as Foundation reads it")
    func loneSurrogates() throws {
        for text in [#""\uD800""#, #""a\uDC00b""#, #""\uD800\u0041""#] {
            let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(parse(text) == foundation, "\(text)")
        }
    }

    @Test("the chat fast path reads what JSONDecoder reads, and hands anything odd to it")
    func chatFastPathAgrees() throws {
        let bodies = [
            #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
            #"{"model":"m","messages":[{"role":"system","content":null},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true},"temperature":0.2}"#,
            #"{"model":"m","messages":[],"max_completion_tokens":3,"stream":null,"stream_options":null}"#,
            // Numbers are read as numbers by both paths; requestInteger rejects 1.5 for both.
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}"#,
            #"{"model":"m","messages":[{"role":"user","content":"say \"hi\"\nand go"}]}"#,
        ]
        for body in bodies {
            let fast = try #require(parse(body).flatMap(ChatCompletionRequest.init(json:)), "\(body)")
            let slow = try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(body.utf8))
            #expect(String(describing: fast) == String(describing: slow))
        }
        for odd in [
            #"{"model":"m","messages":[{"role":"user","content":42}]}"#, #"{"model":"m"}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":"5"}"#,
        ] {
            #expect(parse(odd).flatMap(ChatCompletionRequest.init(json:)) == nil, "\(odd)")
        }
        // An escaped body end to end.
        let escaped = #"{"model":"m","messages":[{"role":"user","content":"say \"hi\""}]}"#
        let decoded = try ChatCompletionRequest.decode(from: ByteBuffer(string: escaped))
        #expect(decoded.messages.first?.content?.text == "say \"hi\"")
    }
}
