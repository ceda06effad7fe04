import NIOCore
import NIOHTTP1

/// One endpoint to load: `name=http://host:port/path` (only plain HTTP/1.1 on a host and port).
struct Target: Sendable, Equatable {
    var name: String
    var host: String
    var port: Int
    var path: String

    var url: String { "http://\(host):\(port)\(path)" }

    /// Parses `name=http://host:port/path` (the name defaults to `host:port`). Throws a message
    /// naming what was wrong.
    init(parsing argument: String) throws(LoadgenError) {
        var spec = Substring(argument)
        var name: Substring?
        if let equals = spec.firstIndex(of: "="), !spec[..<equals].contains("/") {
            name = spec[..<equals]
            spec = spec[spec.index(after: equals)...]
        }
        guard spec.hasPrefix("http://") else {
            throw LoadgenError("target '\(argument)': the URL must start with http:// (no TLS here)")
        }
        let rest = spec.dropFirst("http://".count)
        let authority = rest.prefix(while: { $0 != "/" })
        let path = rest.dropFirst(authority.count)
        guard let colon = authority.lastIndex(of: ":"), !authority[..<colon].isEmpty else {
            throw LoadgenError(
                "target '\(argument)': give the port explicitly, e.g. http://127.0.0.1:8080/path")
        }
        let portText = authority[authority.index(after: colon)...]
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw LoadgenError("target '\(argument)': port '\(portText)' is not a number in 1…65535")
        }
        self.host = String(authority[..<colon])
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
        self.name = String(name ?? authority)
        guard !self.name.isEmpty else {
            throw LoadgenError("target '\(argument)': the name before '=' is empty")
        }
    }

    init(name: String, host: String, port: Int, path: String) {
        self.name = name
        self.host = host
        self.port = port
        self.path = path
    }
}

/// A request as sent over and over: its head is built once, the body is shared (copy on write).
struct RequestTemplate: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?

    init(method: HTTPMethod, target: Target, headers: [(String, String)], body: [UInt8]?) {
        var fields = HTTPHeaders()
        fields.add(name: "Host", value: "\(target.host):\(target.port)")
        for (name, value) in headers { fields.add(name: name, value: value) }
        if let body {
            if !fields.contains(name: "Content-Type") {
                fields.add(name: "Content-Type", value: "application/json")
            }
            fields.replaceOrAdd(name: "Content-Length", value: String(body.count))
            self.body = ByteBuffer(bytes: body)
        } else {
            self.body = nil
            if method == .POST { fields.replaceOrAdd(name: "Content-Length", value: "0") }
        }
        head = HTTPRequestHead(version: .http1_1, method: method, uri: target.path, headers: fields)
    }
}

/// A header flag `Name: value`.
func parseHeader(_ text: String) throws(LoadgenError) -> (String, String) {
    guard let colon = text.firstIndex(of: ":") else {
        throw LoadgenError("header '\(text)' has no ':' (write it as 'Name: value')")
    }
    let name = text[..<colon].trimmingSpaces
    let value = text[text.index(after: colon)...].trimmingSpaces
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
        throw LoadgenError("header '\(text)': '\(name)' is not a header name")
    }
    return (name, value)
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// An error the user can act on: what was wrong, with which input.
struct LoadgenError: Error, CustomStringConvertible, Sendable {
    var description: String
    init(_ description: String) { self.description = description }
}
