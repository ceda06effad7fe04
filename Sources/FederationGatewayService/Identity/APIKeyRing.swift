import Crypto
import FederationHTTP
import HTTPTypes

/// The gateway's API keys, as SHA-256 hashes only, each mapped to its tenant.
///
/// Built from `gateway.api_keys` (key → tenant): a plain key is hashed at once and forgotten; an
/// entry written `sha256:<64 hex digits>` is already the key's hash (so the configuration file need
/// not hold the secret; ``hash(_:)`` makes one). A presented key is hashed and compared with every
/// stored hash in constant time — all 32 bytes of every entry, whatever matched — so the time an
/// answer takes says nothing about which bytes or which entry matched. Neither keys nor hashes ever
/// appear in an error, a log line or a metric.
public struct APIKeyRing: Sendable {
    struct Entry: Sendable {
        /// The SHA-256 of the key as four words (compared word-wise, without an early exit).
        let hash: (UInt64, UInt64, UInt64, UInt64)
        let tenant: String
    }

    private let entries: [Entry]

    /// - Throws: ``APIKeyRingError`` for an empty key or tenant, a malformed `sha256:` entry, or two
    ///   entries that are the same key; the error names the tenant and the entry's position among
    ///   that tenant's entries, never the key.
    public init(_ keys: [String: String]) throws(APIKeyRingError) {
        var entries: [Entry] = []
        var seen: [Hash: String] = [:]
        // Sorted by tenant (then by hash) so that errors name entries reproducibly.
        let byTenant = Dictionary(grouping: keys, by: \.value).sorted { $0.key < $1.key }
        for (tenant, tenantKeys) in byTenant {
            if tenant.isEmpty {
                throw APIKeyRingError("gateway.api_keys: an API key maps to an empty tenant")
            }
            var hashes: [Hash] = []
            for entry in tenantKeys { hashes.append(try Self.hash(ofEntry: entry.key, tenant: tenant)) }
            for (position, hash) in hashes.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) })
                .enumerated()
            {
                if let other = seen[hash] {
                    throw APIKeyRingError(
                        "gateway.api_keys: tenant '\(tenant)' (entry \(position + 1)) and tenant '\(other)' "
                            + "have the same key (one may be its sha256: form); give each key one tenant")
                }
                seen[hash] = tenant
                entries.append(Entry(hash: hash.words, tenant: tenant))
            }
        }
        self.entries = entries
    }

    /// Whether no key is configured: then every request is anonymous.
    public var isEmpty: Bool { entries.isEmpty }

    /// How many keys the ring holds.
    public var count: Int { entries.count }

    /// The tenants that have at least one key.
    public var tenants: Set<String> { Set(entries.map(\.tenant)) }

    /// `sha256:<64 lowercase hex digits>` of `key`: what to write in `gateway.api_keys` instead of
    /// the key itself.
    public static func hash(_ key: String) -> String {
        "sha256:" + Hash(SHA256.hash(data: Array(key.utf8))).hex
    }

    /// The tenant of the key in an `Authorization: Bearer <key>` header (the scheme in any case),
    /// or the 401 error the client receives: the header is missing, is not Bearer, or names no
    /// configured key. The error never repeats the key.
    public func tenant(for authorization: String?) -> Result<String, OpenAIError> {
        guard let authorization, let key = Self.bearerToken(authorization) else {
            return .failure(authorization == nil ? .missingAPIKey : .malformedAuthorization)
        }
        let words = Hash(SHA256.hash(data: Array(key.utf8))).words
        var found = -1
        for (index, entry) in entries.enumerated() {
            let difference =
                (entry.hash.0 ^ words.0) | (entry.hash.1 ^ words.1) | (entry.hash.2 ^ words.2)
                | (entry.hash.3 ^ words.3)
            // Every entry is compared in full; the index is selected without leaving the loop.
            found = difference == 0 ? index : found
        }
        return found >= 0 ? .success(entries[found].tenant) : .failure(.incorrectAPIKey)
    }

    /// The key after `Bearer ` (scheme case-insensitive, surrounding spaces ignored); nil when the
    /// header is another scheme or carries no key.
    static func bearerToken(_ header: String) -> Substring? {
        let trimmed = header.drop(while: { $0 == " " || $0 == "\t" })
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "bearer",
            let separator = trimmed.dropFirst(6).first, separator == " " || separator == "\t"
        else { return nil }
        var key = trimmed.dropFirst(7).drop(while: { $0 == " " || $0 == "\t" })
        while let last = key.last, last == " " || last == "\t" { key = key.dropLast() }
        return key.isEmpty ? nil : key
    }

    static func hash(ofEntry key: String, tenant: String) throws(APIKeyRingError) -> Hash {
        if key.isEmpty {
            throw APIKeyRingError("gateway.api_keys: tenant '\(tenant)' has an empty API key")
        }
        guard key.hasPrefix("sha256:") else { return Hash(SHA256.hash(data: Array(key.utf8))) }
        let hex = Array(key.utf8.dropFirst(7))
        guard hex.count == 64, let hash = Hash(hex: hex) else {
            let shape =
                hex.count == 64
                ? "contains a character that is not a hexadecimal digit"
                : "has \(hex.count) characters"
            throw APIKeyRingError(
                "gateway.api_keys: an entry of tenant '\(tenant)' starts with 'sha256:' but what follows "
                    + "\(shape); write 'sha256:' and the 64 hexadecimal digits of the key's SHA-256 "
                    + "(e.g. `printf %s KEY | sha256sum`), or the plain key")
        }
        return hash
    }
}

/// A SHA-256 digest as 32 bytes.
struct Hash: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ digest: SHA256.Digest) { bytes = Array(digest) }

    /// From 64 hex digits (either case); nil when one is not a hex digit.
    init?(hex: [UInt8]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index + 1 < hex.count {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(
            decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }

    var words: (UInt64, UInt64, UInt64, UInt64) {
        func word(_ at: Int) -> UInt64 {
            bytes[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        return (word(0), word(8), word(16), word(24))
    }
}

/// `gateway.api_keys` is not usable; the message names the tenant, never the key.
public struct APIKeyRingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension OpenAIError {
    /// 401: keys are configured and the request has no `Authorization` header.
    public static let missingAPIKey = OpenAIError.unauthorized(
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
            + "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")

    /// 401: the `Authorization` header is not `Bearer <key>`.
    public static let malformedAuthorization = OpenAIError.unauthorized(
        "The Authorization header is not in the form 'Bearer YOUR_KEY'; provide your API key using "
            + "Bearer auth.")

    /// 401: the key is not one of the gateway's (the key is not repeated).
    public static let incorrectAPIKey = OpenAIError.unauthorized(
        "Incorrect API key provided. Ask the gateway's operator for a valid key and send it as "
            + "'Authorization: Bearer YOUR_KEY'.")

    static func unauthorized(_ message: String) -> OpenAIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return OpenAIError(
            status: .unauthorized, message: message, type: "invalid_request_error", code: "invalid_api_key",
            headers: headers)
    }
}
