import FederationCore
import FederationHTTP
import Foundation
import Hummingbird
import Logging
import Synchronization

/// The node's live state shared by every route: configuration, faults, the admission queue and counters.
public final class NodeRuntime: Sendable {
    public let configuration: NodeConfiguration
    public let faults: FaultInjector
    public let admission: AdmissionQueue
    let random: SeededRandomSource
    let logger: Logger
    /// Requests currently held by the hang fault.
    let hangingCount = Atomic<Int>(0)
    /// Source of response ids.
    private let sequence = Atomic<UInt64>(0)
    /// Inference requests received, per path (`GET /health` shows them as `requests`).
    private let received = Mutex<[String: Int]>([:])
    private let idSalt: UInt64

    public init(configuration: NodeConfiguration, logger: Logger) {
        self.configuration = configuration
        let random = SeededRandomSource(seed: configuration.seed)
        self.random = random
        self.faults = FaultInjector(settings: configuration.faults, random: random)
        self.admission = AdmissionQueue(limit: configuration.maxConcurrency)
        self.logger = logger
        self.idSalt = DeterministicText.hash(configuration.nodeId, seed: configuration.seed)
    }

    /// Counts an inference request received on `path`.
    func countRequest(_ path: String) { received.withLock { $0[path, default: 0] += 1 } }

    /// Inference requests received so far, per path.
    public var requestsReceived: [String: Int] { received.withLock { $0 } }

    /// Requests the hang fault is holding right now.
    public var hanging: Int { hangingCount.load(ordering: .relaxed) }

    /// A fresh response id such as `chatcmpl-0123456789abcdef01234567`.
    func makeId(prefix: String) -> String {
        let n = sequence.add(1, ordering: .relaxed).newValue
        var mix = SplitMix64(seed: idSalt ^ n)
        let hex = String(mix.next(), radix: 16) + String(mix.next() >> 32, radix: 16)
        return prefix + "-" + hex
    }

    /// Seconds since 1970, for `created`.
    var now: Int { Int(Date().timeIntervalSince1970) }

    /// The served model called `name` if it can do one of `capabilities`.
    func model(named name: String, for capabilities: [Capability]) throws -> ServedModel {
        guard let model = configuration.models.first(where: { $0.name == name }) else {
            throw OpenAIError.modelNotFound(name)
        }
        guard model.capabilities.contains(where: capabilities.contains) else {
            throw OpenAIError.invalid(
                "The model '\(name)' cannot serve this endpoint: it has \(model.capabilities.map(\.description)), "
                    + "this endpoint needs \(capabilities.map(\.description).joined(separator: " or ")).",
                param: "model", code: "model_not_supported")
        }
        return model
    }

    /// The first model that can do `capability` (for requests that may omit `model`).
    func defaultModel(for capability: Capability) throws -> ServedModel {
        guard let model = configuration.models.first(where: { $0.capabilities.contains(capability) }) else {
            throw OpenAIError(
                status: .notFound, message: "This node serves no model with capability '\(capability)'.",
                param: "model", code: "model_not_found")
        }
        return model
    }
}
