import FederationCtl

/// The Policies tab's rendering of a policy document (FederationCtl's schema-less `JSON`, which the
/// fetcher decodes every answer into).
extension JSON {
    /// Indented, key-sorted text lines (the Policies tab).
    public func prettyLines(indent: String = "") -> [String] {
        switch self {
        case .object(let object) where !object.isEmpty:
            var lines = ["{"]
            let keys = object.keys.sorted()
            for (index, key) in keys.enumerated() {
                let comma = index == keys.count - 1 ? "" : ","
                var inner = object[key]!.prettyLines(indent: indent + "  ")
                inner[0] = indent + "  " + Self.quote(key) + ": " + inner[0]
                inner[inner.count - 1] += comma
                lines += inner
            }
            lines.append(indent + "}")
            return lines
        case .array(let array) where !array.isEmpty:
            var lines = ["["]
            for (index, item) in array.enumerated() {
                var inner = item.prettyLines(indent: indent + "  ")
                inner[0] = indent + "  " + inner[0]
                if index < array.count - 1 { inner[inner.count - 1] += "," }
                lines += inner
            }
            lines.append(indent + "]")
            return lines
        default:
            return [scalarText]
        }
    }

    var scalarText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        case .string(let value): return Self.quote(value)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
