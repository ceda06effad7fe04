import FederationCore
import FederationHTTP
import HTTPTypes
import NIOCore

/// The gateway's decoders of outside bytes, for the fuzzer (docs/CORE.md § Fuzzing): what a
/// client sends (the `X-Federation-*` headers, the body facts routing needs, multipart forms) and
/// what a node answers (a body's usage and error code, an event stream's tokens).
public enum GatewayDecoders {
    /// Reads a client request the way the gateway does before routing.
    /// - Throws: only ``OpenAIError`` (a 400 naming what was wrong).
    public static func clientRequest(
        endpoint: GatewayEndpoint, headers: [(String, String)], body: [UInt8], contentType: String?
    ) throws(OpenAIError) {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        _ = try FederationHeaders(fields)
        _ = FederationHeaders.requestId(from: fields) { "generated" }
        _ = try RequestBodyFacts(endpoint: endpoint, body: ByteBuffer(bytes: body), contentType: contentType)
    }

    /// Reads a node's answer the way the gateway does: a non-streamed body's token count and error
    /// code, and the same bytes as an event stream split at `split` (frames may straddle chunks).
    /// - Returns: the tokens counted in the stream.
    @discardableResult
    public static func nodeAnswer(_ bytes: [UInt8], split: Int) -> Int {
        let body = ByteBuffer(bytes: bytes)
        _ = UsageCount.tokens(inBody: body)
        _ = UsageCount.errorCode(inBody: body)
        var counter = StreamTokenCounter()
        let cut = bytes.isEmpty ? 0 : min(max(0, split), bytes.count)
        counter.count(ByteBuffer(bytes: bytes[..<cut]))
        counter.count(ByteBuffer(bytes: bytes[cut...]))
        // A resumable stream: whole events only, the text kept, the continuation body built.
        var aligner = SSEEventAligner()
        var kept = StreamTokenCounter()
        kept.keepsText = true
        var passed: [UInt8] = []
        for part in [bytes[..<cut], bytes[cut...]] {
            if let events = aligner.complete(ByteBuffer(bytes: part)) {
                passed += events.readableBytesView
                kept.count(events)
            }
        }
        if let rest = aligner.rest() { passed += rest.readableBytesView }
        precondition(passed == bytes, "the aligner lost or reordered bytes")
        _ = StreamResume.continuation(
            of: resumableBody, text: kept.text, tokens: kept.tokens)
        return counter.usageTokens ?? counter.tokens
    }

    private static let resumableBody = ByteBuffer(
        string:
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":100000,"stream":true}"#)
}
