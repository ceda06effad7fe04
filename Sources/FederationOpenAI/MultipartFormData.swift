/// A minimal `multipart/form-data` reader (RFC 7578): enough for an audio upload with a few text fields.
/// The node reads transcription uploads with it and the gateway takes `model` from the form with it
/// (one parser, fuzzed: docs/CORE.md § Fuzzing; multipart-kit was not needed for this).
public struct MultipartFormData: Sendable {
    public struct Part: Sendable {
        /// The `name` from `Content-Disposition`.
        public let name: String
        /// The `filename`, when the part is a file.
        public let filename: String?
        public let contentType: String?
        public let body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let parts: [Part]

    public subscript(name: String) -> Part? { parts.first { $0.name == name } }

    /// The boundary from a `Content-Type` header, or nil when it is not multipart/form-data.
    public static func boundary(fromContentType contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.multipartTrimmed }
        guard let kind = pieces.first, kind.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            var value = String(piece.dropFirst("boundary=".count))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// Parses a body; throws a description of what was malformed.
    public init(body: [UInt8], boundary: String) throws(MultipartError) {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [Part] = []
        guard var position = Self.find(delimiter, in: body, from: 0) else {
            throw MultipartError("no '--\(boundary)' boundary found in the body")
        }
        while true {
            position += delimiter.count
            // "--" after a delimiter ends the body.
            if position + 1 < body.count, body[position] == 0x2D, body[position + 1] == 0x2D { break }
            // Skip the CRLF after the delimiter.
            guard let headerStart = Self.skipLineBreak(in: body, at: position) else {
                throw MultipartError("boundary is not followed by a line break")
            }
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: headerStart) else {
                throw MultipartError("a part has no blank line after its headers")
            }
            let headers = String(decoding: body[headerStart..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = Self.find(Array("\r\n".utf8) + delimiter, in: body, from: contentStart) else {
                throw MultipartError("a part is not terminated by the boundary")
            }
            parts.append(try Self.part(headers: headers, body: Array(body[contentStart..<next])))
            position = next + 2
        }
        self.parts = parts
    }

    private static func part(headers: String, body: [UInt8]) throws(MultipartError) -> Part {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let field = pair[0].lowercased()
            let value = pair[1].multipartTrimmed
            if field == "content-type" { contentType = value }
            guard field == "content-disposition" else { continue }
            for attribute in value.split(separator: ";").map({ $0.multipartTrimmed }) {
                let kv = attribute.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { continue }
                let unquoted =
                    kv[1].hasPrefix("\"") && kv[1].hasSuffix("\"")
                    ? String(kv[1].dropFirst().dropLast()) : kv[1]
                if kv[0] == "name" { name = unquoted }
                if kv[0] == "filename" { filename = unquoted }
            }
        }
        guard let name else { throw MultipartError("a part has no Content-Disposition name") }
        return Part(name: name, filename: filename, contentType: contentType, body: body)
    }

    private static func skipLineBreak(in body: [UInt8], at index: Int) -> Int? {
        if index + 1 < body.count, body[index] == 0x0D, body[index + 1] == 0x0A { return index + 2 }
        return nil
    }

    /// First index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}

/// What was wrong with a multipart body.
public struct MultipartError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var multipartTrimmed: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
