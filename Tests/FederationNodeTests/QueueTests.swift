import FederationNode
import FederationTestSupport
import Foundation
import Testing

@Suite("Concurrency limit and FIFO queue")
struct QueueTests {
    @Test("with max concurrency 1 a second request waits, and /health shows queue depth 1 meanwhile")
    func secondRequestWaits() async throws {
        try await withNode({
            $0.maxConcurrency = 1
            $0.tokensPerSecond = 10
            $0.gpu = true
        }) { node in
            async let first = timed {
                // 4 s at 10 tokens/s: long enough that the second request surely arrives while it runs
                try await node.post("/v1/chat/completions", json: chatBody(prompt: "first", maxTokens: 40))
                    .status
            }
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 1 })
            let busy = try await node.health()
            #expect(busy["gpu_utilization"]?.doubleValue == 1)
            async let second = timed {
                try await node.post("/v1/chat/completions", json: chatBody(prompt: "second", maxTokens: 1))
                    .status
            }
            #expect(try await eventually { try await node.health()["queue_depth"]?.intValue == 1 })
            let (firstStatus, firstDone) = try await first
            let (secondStatus, secondDone) = try await second
            #expect(firstStatus == 200)
            #expect(secondStatus == 200)
            // FIFO with one slot: the short second request cannot finish before the long first one.
            #expect(firstDone <= secondDone)
            let idle = try await node.health()
            #expect(idle["queue_depth"]?.intValue == 0)
            #expect(idle["in_flight"]?.intValue == 0)
        }
    }

    @Test("a queued request whose client gives up leaves the queue")
    func abandonedWaiterLeaves() async throws {
        try await withNode({
            $0.maxConcurrency = 1
            $0.tokensPerSecond = 5
        }) { (node: NodeClient) async throws in
            async let first = node.post("/v1/chat/completions", json: chatBody(maxTokens: 5))
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 1 })
            let waiting = Task {
                try await node.post("/v1/chat/completions", json: chatBody(), timeout: .milliseconds(300))
            }
            #expect(await failed { _ = try await waiting.value })
            #expect(try await eventually { try await node.health()["queue_depth"]?.intValue == 0 })
            #expect(try await first.status == 200)
        }
    }

    @Test("a streamed response holds its slot until the stream ends")
    func streamHoldsSlot() async throws {
        try await withNode({
            $0.maxConcurrency = 1
            $0.tokensPerSecond = 20
        }) { node in
            async let stream = node.stream(
                "/v1/chat/completions", json: chatBody(maxTokens: 10, stream: true))
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 1 })
            let frames = try await stream.frames
            #expect(frames.last?.data == "[DONE]")
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 0 })
        }
    }

    @Test("the admission queue admits in arrival order and releases a dropped permit")
    func admissionQueueUnit() async throws {
        let queue = AdmissionQueue(limit: 1)
        var held = queue.tryAcquire()
        #expect(held != nil)
        #expect(queue.tryAcquire() == nil)
        let order = Recorder<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask {
                    let permit = try await queue.acquire()
                    order.append(index)
                    permit.release()
                }
                // Let each waiter enqueue before the next so arrival order is defined.
                while queue.queueDepth < index + 1 { await Task.yield() }
            }
            #expect(queue.queueDepth == 3)
            held = nil  // dropping the permit gives the slot back
            try await group.waitForAll()
        }
        _ = held
        #expect(order.all == [0, 1, 2])
        #expect(queue.inFlight == 0)
    }

    @Test("a cancelled waiter leaves the queue without taking a slot")
    func cancelledWaiter() async throws {
        let queue = AdmissionQueue(limit: 1)
        let permit = try #require(queue.tryAcquire())
        let waiter = Task { try await queue.acquire() }
        while queue.queueDepth < 1 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(queue.queueDepth == 0)
        permit.release()
        #expect(queue.inFlight == 0)
    }
}
