import Foundation

/// Checks the `endpoint` a node registers: an absolute `http://` or `https://` URL with a host,
/// optional port and path, no query, fragment or credentials. A trailing `/` is removed (the
/// gateway appends `/v1/…` to it).
enum EndpointURL {
    /// Why an endpoint was refused.
    struct Problem: Error {
        let message: String
    }

    static let maximumLength = 2048

    static func normalize(_ text: String) -> Result<String, Problem> {
        if text.isEmpty { return .failure(Problem(message: "endpoint is empty")) }
        if text.utf8.count > maximumLength {
            return .failure(Problem(message: "endpoint is longer than \(maximumLength) bytes"))
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else {
            return .failure(
                Problem(message: "'\(text)' is not an http:// or https:// URL (e.g. http://10.0.0.7:8000)"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(Problem(message: "'\(text)' has no host"))
        }
        if components.user != nil || components.password != nil {
            return .failure(Problem(message: "'\(text)' must not carry credentials"))
        }
        if components.query != nil || components.fragment != nil {
            return .failure(Problem(message: "'\(text)' must not have a query or fragment"))
        }
        if let port = components.port, !(1...65535).contains(port) {
            return .failure(Problem(message: "'\(text)' has port \(port) outside 1…65535"))
        }
        if text.contains(where: { $0.isWhitespace }) {
            return .failure(Problem(message: "'\(text)' contains whitespace"))
        }
        var normalized = text
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return .success(normalized)
    }
}
