import FederationOpenAI
import NIOCore
import Testing

@Suite("Reading an upstream event stream")
struct SSEParserTests {
    @Test("what SSEWriter writes reads back frame by frame, however the bytes are split")
    func roundTrip() throws {
        var bytes = SSEWriter.frame(#"{"a":1}"#)
        var second = SSEWriter.frame(#"{"b":"x y"}"#)
        bytes.writeBuffer(&second)
        bytes.writeString("data: [DONE]\n\n")
        let whole = Array(bytes.readableBytesView)
        for split in 0...whole.count {
            var parser = SSEParser()
            let events =
                try parser.feed(ByteBuffer(bytes: whole[..<split]))
                + parser.feed(ByteBuffer(bytes: whole[split...]))
            #expect(events.map(\.data) == [#"{"a":1}"#, #"{"b":"x y"}"#, "[DONE]"], "split at \(split)")
            #expect(events.last?.isDone == true)
        }
    }

    @Test("CRLF and CR line ends, comments, multi-line data, event and id fields")
    func fields() throws {
        var parser = SSEParser()
        let events = try parser.feed(
            ByteBuffer(
                string: ": keep-alive\r\n\r\nevent: error\r\nid: 7\r\ndata: a\r\ndata:b\r\n\r\ndata: c\r\r"))
        #expect(events == [SSEEvent(event: "error", data: "a\nb", id: "7"), SSEEvent(data: "c", id: "7")])
    }

    @Test("an event that never ends is an error, not unbounded memory")
    func tooLarge() {
        var parser = SSEParser(maxEventBytes: 16)
        #expect(throws: SSEParser.EventTooLarge.self) {
            try parser.feed(ByteBuffer(string: "data: " + String(repeating: "x", count: 32)))
        }
    }
}
