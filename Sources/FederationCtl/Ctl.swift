import Foundation

/// The logic of every fedctl subcommand over one ``ServiceClient``: each returns the text to print
/// (a table by default, the service's JSON with `json`), so tests check exactly what a user sees.
/// The `Ctl+…` files hold the subcommands by service; rendering is in static `render…` functions
/// that take the services' JSON.
public struct Ctl: Sendable {
    public let client: ServiceClient
    /// Machine output (the service's JSON, or the shape docs/FEDCTL.md documents).
    public let json: Bool
    /// Milliseconds since the epoch (fixed in tests of rendering).
    public let now: @Sendable () -> Int64

    public init(client: ServiceClient, json: Bool, now: @escaping @Sendable () -> Int64 = Format.nowMs) {
        self.client = client
        self.json = json
        self.now = now
    }

    var urls: ServiceURLs { client.urls }

    /// The answer's JSON; a 2xx whose body is not JSON is a failure naming the service.
    func body(_ response: ServiceResponse, from service: ServiceKind) throws -> JSON {
        guard let json = response.json else {
            throw CtlError.failed(
                "the \(CtlError.name(service)) at \(urls.url(of: service)) answered \(response.status) with a body "
                    + "that is not JSON: \(String(response.text.prefix(200)))")
        }
        return json
    }

    /// `value` as JSON request bytes.
    static func bytes(_ value: JSON) -> [UInt8] { Array(value.text(pretty: false).utf8) }

    /// A path segment with `/`, `%`, `?`, `#` and spaces percent-encoded (ids may contain `/`).
    static func segment(_ id: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/%?#")
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id
    }
}
