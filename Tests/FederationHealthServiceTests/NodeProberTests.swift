import FederationCore
import FederationTestSupport
import Foundation
import Testing

@testable import FederationHealthService

@Suite struct NodeProberTests {
    /// Nothing listens on the port: the connect is refused at once, which is a
    /// `connection_error`, never a `timeout` (the probe deadline here is far away).
    @Test func aClosedPortIsAConnectionErrorNotATimeout() async throws {
        let port = try freeLoopbackPort()
        let prober = NodeProber(timeout: .seconds(30))
        let started = ContinuousClock.now
        let outcome = await prober.probe(endpoint: "http://127.0.0.1:\(port)")
        let took = ContinuousClock.now - started
        await prober.shutdown()
        guard case .failure(let kind, let reason, _, _) = outcome else {
            Issue.record("a closed port answered: \(outcome)")
            return
        }
        #expect(kind == "connection_error", "\(reason)")
        #expect(!reason.contains("no answer within"))
        // Far below the 30 s deadline (generous: the machine is shared).
        #expect(took < .seconds(15), "took \(took)")
        print("closed port classified \(kind) after \(took): \(reason)")
    }
}

@Suite struct NodeHealthBodyTests {
    func parse(_ text: String) throws -> NodeHealthBody { try NodeHealthBody.parse(Array(text.utf8)) }

    @Test func readsTheFieldsItKnows() throws {
        let body = try parse(#"{"status":"UNHEALTHY","queue_depth":3.7,"gpu_utilization":0.25,"x":[1]}"#)
        #expect(body == NodeHealthBody(unhealthy: true, queueDepth: 3, gpuUtilization: 0.25))
        #expect(try parse("") == NodeHealthBody())
        #expect(try parse(" \n") == NodeHealthBody())
        #expect(try parse(#"{"status":"ok"}"#) == NodeHealthBody())
    }

    @Test func outOfRangeNumbersNeverTrap() throws {
        #expect(try parse(#"{"queue_depth":1e30}"#).queueDepth == NodeHealthBody.maximumQueueDepth)
        #expect(try parse(#"{"queue_depth":-1}"#).queueDepth == nil)
        #expect(try parse(#"{"queue_depth":"NaN"}"#).queueDepth == nil)
        #expect(try parse(#"{"queue_depth":"Infinity","gpu_utilization":"nan"}"#) == NodeHealthBody())
        #expect((try? parse(#"{"queue_depth":1e400}"#))?.queueDepth == nil)
        #expect(try parse(#"{"gpu_utilization":-3e300}"#).gpuUtilization == 0)
        #expect(try parse(#"{"gpu_utilization":7}"#).gpuUtilization == 1)
        #expect(try parse(#"{"queue_depth":true,"status":5}"#) == NodeHealthBody())
    }

    @Test func whatIsNotAJSONObjectIsAnError() {
        for text in [
            "{", "[1,2]", "42", "\"unhealthy\"", "nul", String(repeating: "[", count: 10_000),
            // Foundation's JSONDecoder traps on a body that ends after its 513th '[' (nesting guard)
            String(repeating: "[", count: 513),
        ] {
            #expect(throws: NodeHealthBodyError.self, "\(text.prefix(20))") { try parse(text) }
        }
        #expect(throws: NodeHealthBodyError.self) { try NodeHealthBody.parse([0xFF, 0xFE, 0x00]) }
    }

    /// Seeded random bytes and mutated bodies: parse returns or throws, never traps.
    @Test func randomBytesNeverTrap() {
        let random = SeededRandomSource(seed: 8)
        let seeds = [#"{"status":"ok","queue_depth":1,"gpu_utilization":0.5}"#, #"{"queue_depth":-1e308}"#]
        var parsed = 0
        for i in 0..<3000 {
            var bytes = Array(seeds[i % seeds.count].utf8)
            for _ in 0..<(1 + random.next(below: 4)) {
                let index = random.next(below: bytes.count)
                bytes[index] = UInt8(truncatingIfNeeded: random.nextUInt64())
            }
            if (try? NodeHealthBody.parse(bytes)) != nil { parsed += 1 }
        }
        #expect(parsed > 0)
    }
}
