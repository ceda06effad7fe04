/// A key the dashboard understands.
public enum TopKey: Sendable, Equatable {
    /// `1`…`6`: a tab.
    case tab(Int)
    case help
    case nextTab, previousTab
    case down, up
    case pageDown, pageUp
    case quit
    /// Ctrl-C (byte 0x03 while the terminal is raw).
    case interrupt
}

/// Bytes from the terminal → keys. Pure and total: any byte sequence decodes (unknown bytes and
/// escape sequences are dropped), and an escape sequence split across reads is completed by the
/// next ``feed(_:)``. Keys: `1`–`6`, `?`, Tab, Shift-Tab (`ESC [ Z`), `j`/`k`, arrows
/// (`ESC [ A`/`B`, also `ESC O A`/`B`), PgUp/PgDn (`ESC [ 5~`/`6~`), `q`, Ctrl-C.
public struct InputDecoder: Sendable {
    /// Bytes of an escape sequence not complete yet.
    private var pending: [UInt8] = []
    /// The longest escape sequence kept while waiting for its end.
    static let maximumSequence = 16

    public init() {}

    /// Decodes `bytes` (plus what an earlier call left pending).
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [TopKey] {
        var keys: [TopKey] = []
        for byte in bytes {
            if !pending.isEmpty {
                pending.append(byte)
                switch Self.match(pending) {
                case .incomplete:
                    if pending.count >= Self.maximumSequence { pending.removeAll() }
                case .key(let key):
                    keys.append(key)
                    pending.removeAll()
                case .unknown:
                    // ESC then an ordinary key (a lone Escape): the key still counts.
                    let reread = pending.count == 2 ? byte : nil
                    pending.removeAll()
                    if let reread { keys += feed([reread]) }
                case .restart:
                    // ESC ESC: the first one was a lone Escape; the second may begin a sequence.
                    pending = [0x1B]
                }
                continue
            }
            switch byte {
            case 0x1B: pending = [0x1B]
            case UInt8(ascii: "1")...UInt8(ascii: "6"): keys.append(.tab(Int(byte - UInt8(ascii: "0"))))
            case UInt8(ascii: "?"), UInt8(ascii: "h"): keys.append(.help)
            case 0x09: keys.append(.nextTab)
            case UInt8(ascii: "j"): keys.append(.down)
            case UInt8(ascii: "k"): keys.append(.up)
            case UInt8(ascii: " "): keys.append(.pageDown)
            case UInt8(ascii: "q"), UInt8(ascii: "Q"): keys.append(.quit)
            case 0x03: keys.append(.interrupt)
            default: break
            }
        }
        return keys
    }

    /// Whether an escape sequence is waiting for more bytes (the caller may ``reset()`` after a
    /// pause: a lone Escape).
    public var isPending: Bool { !pending.isEmpty }

    /// Drops a pending, incomplete sequence.
    public mutating func reset() { pending.removeAll() }

    enum Match {
        case incomplete, key(TopKey), unknown, restart
    }

    static func match(_ bytes: [UInt8]) -> Match {
        guard bytes.count >= 2 else { return .incomplete }
        let introducer = bytes[1]
        if introducer == 0x1B { return .restart }
        guard introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") else { return .unknown }
        guard bytes.count >= 3 else { return .incomplete }
        let last = bytes[bytes.count - 1]
        // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E.
        if (0x20...0x3F).contains(last) {
            return introducer == UInt8(ascii: "[") ? .incomplete : .unknown
        }
        guard (0x40...0x7E).contains(last) else { return .unknown }
        let parameters = bytes[2..<(bytes.count - 1)]
        if parameters.isEmpty {
            switch last {
            case UInt8(ascii: "A"): return .key(.up)
            case UInt8(ascii: "B"): return .key(.down)
            case UInt8(ascii: "Z"): return introducer == UInt8(ascii: "[") ? .key(.previousTab) : .unknown
            default: return .unknown
            }
        }
        if last == UInt8(ascii: "~"), introducer == UInt8(ascii: "[") {
            if Array(parameters) == [UInt8(ascii: "5")] { return .key(.pageUp) }
            if Array(parameters) == [UInt8(ascii: "6")] { return .key(.pageDown) }
        }
        return .unknown
    }
}
