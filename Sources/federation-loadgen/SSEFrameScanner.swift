/// Finds Server-Sent Events frames in a response body as its bytes arrive, however the chunks are
/// cut: a frame ends at a blank line (`\n\n`; `\r` is ignored). Counts the frames whose first line
/// is a `data:` field, other than the closing `data: [DONE]`, i.e. the tokens of a chat stream.
struct SSEFrameScanner {
    /// Complete data frames seen so far (excluding `[DONE]`).
    private(set) var dataFrames = 0
    /// True once `data: [DONE]` arrived.
    private(set) var sawDone = false

    private var previousWasNewline = false
    private var frameStart: [UInt8] = []
    private var atFrameStart = true
    private static let prefixLength = 13  // "data: [DONE]" and one byte more

    /// Feeds the next bytes of the body; returns how many data frames they completed.
    mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int {
        var completed = 0
        for byte in bytes {
            if byte == UInt8(ascii: "\r") { continue }
            if byte == UInt8(ascii: "\n") {
                if previousWasNewline {
                    if !atFrameStart { completed += finishFrame() }
                    previousWasNewline = false
                    continue
                }
                previousWasNewline = true
                continue
            }
            previousWasNewline = false
            atFrameStart = false
            if frameStart.count < Self.prefixLength { frameStart.append(byte) }
        }
        return completed
    }

    private mutating func finishFrame() -> Int {
        defer {
            frameStart.removeAll(keepingCapacity: true)
            atFrameStart = true
        }
        guard frameStart.starts(with: Array("data:".utf8)) else { return 0 }
        let value = frameStart.dropFirst(5).drop(while: { $0 == UInt8(ascii: " ") })
        if value.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return 0
        }
        dataFrames += 1
        return 1
    }
}
