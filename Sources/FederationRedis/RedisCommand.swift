/// One Redis command as its argument vector (binary-safe: any argument may hold any bytes).
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// The arguments, the command name first.
    public var arguments: [[UInt8]]

    /// A command from raw byte arguments.
    public init(arguments: [[UInt8]]) { self.arguments = arguments }

    /// A command from text arguments, e.g. `RedisCommand("HSET", key, "field", "value")`.
    public init(_ arguments: String...) { self.arguments = arguments.map { Array($0.utf8) } }

    /// A command from a name and text arguments.
    public init(_ name: String, _ arguments: [String]) {
        self.arguments = [Array(name.utf8)] + arguments.map { Array($0.utf8) }
    }

    /// This command with `bytes` appended as one more argument.
    public func appending(_ bytes: [UInt8]) -> RedisCommand {
        RedisCommand(arguments: arguments + [bytes])
    }

    /// This command with text arguments appended.
    public func appending(_ texts: String...) -> RedisCommand {
        RedisCommand(arguments: arguments + texts.map { Array($0.utf8) })
    }

    /// The command name in upper case (for messages).
    public var name: String {
        arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? "(empty)"
    }

    /// The command name and first key, never the values (which may be secret or huge).
    public var description: String {
        if name == "AUTH" { return "AUTH ***" }
        guard arguments.count > 1 else { return name }
        return name + " " + String(decoding: arguments[1].prefix(80), as: UTF8.self)
    }
}

/// A Lua script run with `EVALSHA`; the SHA1 is computed locally, and the script is loaded with
/// `SCRIPT LOAD` only when Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// Lower-case hex SHA1 of the source, as Redis names scripts.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(Array(source.utf8))
    }

    /// The `EVALSHA` command for these keys and arguments.
    public func evalsha(keys: [[UInt8]], arguments: [[UInt8]]) -> RedisCommand {
        RedisCommand(
            arguments: [Array("EVALSHA".utf8), Array(sha1.utf8), Array(String(keys.count).utf8)] + keys
                + arguments)
    }

    /// The `SCRIPT LOAD` command.
    public var loadCommand: RedisCommand { RedisCommand("SCRIPT", "LOAD", source) }
}

/// SHA-1 (FIPS 180-4), only to name Lua scripts the way Redis does; not used for security.
enum SHA1 {
    static func hexDigest(_ message: [UInt8]) -> String {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (
            0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0
        )
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] =
                    UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8
                    | UInt32(data[b + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = (x << 1) | (x >> 31)
            }
            var (a, b, c, d, e) = h
            for i in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, temp)
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4] {
            for shift in stride(from: 28, through: 0, by: -4) {
                out.append(digits[Int((word >> UInt32(shift)) & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
