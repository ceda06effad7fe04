import FederationCore
import FederationGatewayService
import FederationHTTP
import Synchronization
import Testing

@Suite struct MiddlewareChainTests {
    final class Recorder: Sendable {
        let calls = Mutex<[String]>([])
        func add(_ call: String) { calls.withLock { $0.append(call) } }
        var all: [String] { calls.withLock { $0 } }
    }

    struct Step: GatewayMiddleware {
        let name: String
        let recorder: Recorder
        var rejects = false
        func beforeRouting(_ request: inout GatewayRequest) async throws {
            recorder.add("before:\(name)")
            request.routing.qos.privacy = .confidential
            if rejects {
                throw OpenAIError(status: .tooManyRequests, message: "slow down", code: "rate_limit_exceeded")
            }
        }
        func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async {
            recorder.add("after:\(name)")
        }
        func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async {
            recorder.add("error:\(name):\(error.code ?? "")")
        }
    }

    func request() -> GatewayRequest {
        GatewayRequest(
            id: "r1", path: "/v1/chat/completions",
            routing: InferenceRequest(requestId: "r1", capability: .generate))
    }

    @Test func runsBeforeInOrderAndAfterInReverse() async throws {
        let recorder = Recorder()
        let chain = GatewayMiddlewareChain([
            Step(name: "a", recorder: recorder), Step(name: "b", recorder: recorder),
        ])
        var request = request()
        let ran = try await chain.prepare(&request)
        #expect(ran == 2)
        #expect(request.routing.qos.privacy == .confidential)
        await chain.finish(request, ran: ran, outcome: GatewayOutcome(status: 200), error: nil)
        #expect(recorder.all == ["before:a", "before:b", "after:b", "after:a"])
    }

    @Test func aRejectionStopsTheChainAndOnlyThoseThatRanSeeTheError() async throws {
        let recorder = Recorder()
        let chain = GatewayMiddlewareChain([
            Step(name: "log", recorder: recorder), Step(name: "limit", recorder: recorder, rejects: true),
            Step(name: "never", recorder: recorder),
        ])
        var request = request()
        do {
            _ = try await chain.prepare(&request)
            Issue.record("the chain did not reject")
        } catch {
            #expect(error.ran == 2)
            #expect(error.error.status == .tooManyRequests)
            await chain.finish(
                request, ran: error.ran, outcome: GatewayOutcome(status: 429), error: error.error)
        }
        #expect(
            recorder.all == [
                "before:log", "before:limit", "error:limit:rate_limit_exceeded",
                "error:log:rate_limit_exceeded",
            ])
    }
}
