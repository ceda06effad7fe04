import FederationFuzzing
import FederationGatewayService
import FederationHTTP
import Foundation

/// Decoders FederationFuzzing reaches only indirectly, as focused targets of their own.
enum ExtraTargets {
    static let all: [FuzzTarget] = [gatewayHeaders]

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
}
