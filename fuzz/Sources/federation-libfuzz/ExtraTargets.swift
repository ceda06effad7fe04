import FederationFuzzing
import FederationGatewayService
import FederationHTTP
import FederationOpenAI
import Foundation

/// Decoders FederationFuzzing reaches only indirectly, as focused targets of their own.
enum ExtraTargets {
    static let all: [FuzzTarget] = [gatewayHeaders, jsonParser]

    /// The X-Federation-* headers (and X-Request-Id) of a client request: every input line
    /// `Name: value` is one header, read as the gateway does before routing. `gateway-request`
    /// passes only its first line, to one header at a time; this one sees any combination.
    static let gatewayHeaders = FuzzTarget(name: "gateway-headers") { bytes in
        var headers: [(String, String)] = []
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            let name = String(text[..<colon])
            let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        do {
            try GatewayDecoders.clientRequest(
                endpoint: .chatCompletions, headers: headers, body: Array("{\"model\":\"m\"}".utf8),
                contentType: nil)
            return .accepted
        } catch {
            // `clientRequest` throws only OpenAIError (typed throws): a refusal, a 400.
            return .rejected
        }
    }

    /// The hot-path JSON parser (FederationOpenAI) on its own: it reads client bodies in the
    /// gateway and node, and every node answer and stream frame the gateway relays. A value it
    /// accepts, written again by JSONEncoder, must parse again (else it refuses valid JSON).
    static let jsonParser = FuzzTarget(name: "json-parser") { bytes in
        guard let value = bytes.withUnsafeBytes({ JSONParser.parse($0) }) else { return .rejected }
        // Non-finite numbers cannot be written; that is the encoder's refusal, not the parser's.
        guard let written = try? JSONEncoder().encode(value) else { return .accepted }
        if Array(written).withUnsafeBytes({ JSONParser.parse($0) }) == nil {
            return .failure("JSONParser refused JSONEncoder's \(String(decoding: written, as: UTF8.self))")
        }
        return .accepted
    }
}
