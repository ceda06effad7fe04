/// How a node declares, in the catalog, that it can continue a stream another node broke off:
/// the label `federation.resume` lists the capabilities (comma-separated, e.g. `generate,code`)
/// for which it accepts a chat request whose last message is the partial assistant answer with
/// `continue_final_message: true` (vLLM's convention) and continues that text (docs/GATEWAY.md,
/// "Streams that survive their node").
extension NodeInfo {
    public static let resumeLabel = "federation.resume"

    /// The capabilities of the node's `federation.resume` label; the catalog refuses a label with
    /// an entry that is not a capability.
    public var resumableCapabilities: Set<Capability> {
        guard let text = labels[Self.resumeLabel] else { return [] }
        return Set(Self.resumeEntries(text).compactMap { try? Capability(parsing: $0) })
    }

    /// The label's entries, trimmed, empty ones dropped.
    public static func resumeEntries(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        var view = self
        while let first = view.first, first == " " { view = view.dropFirst() }
        while let last = view.last, last == " " { view = view.dropLast() }
        return String(view)
    }
}
