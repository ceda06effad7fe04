import FederationCore
import FederationRedis
import Foundation

/// ``PolicyStore`` on Redis: `{ns}:policy` holds the JSON document; its `version` field (not the
/// one inside the JSON) is authoritative.
public struct RedisPolicyStore: PolicyStore {
    public let client: RedisClient
    public let keys: FederationKeys
    let clock: any FederationClock

    public init(
        client: RedisClient, keys: FederationKeys = .init(), clock: any FederationClock = SystemClock()
    ) {
        self.client = client
        self.keys = keys
        self.clock = clock
    }

    @discardableResult
    public func putPolicy(_ document: RoutingPolicyDocument) async throws -> UInt64 {
        if let problem = document.validationProblem { throw FederationError.invalidInput(problem) }
        let reply = try await client.evalScript(
            FederationScripts.putPolicy, keys: [keys.policy],
            arguments: [keys.namespace, RecordEncoding.json(document), String(clock.now().milliseconds)])
        return try version(reply, "putPolicy")
    }

    public func loadPolicy() async throws -> Versioned<RoutingPolicyDocument> {
        let reply = try await client.command("HMGET", keys.policy, "document", "version")
        guard let parts = reply.array, parts.count == 2 else {
            throw RedisError.unexpectedReply(command: "HMGET policy", reply: reply.description)
        }
        guard let json = parts[0].bytes, let version = parts[1].int else {
            return Versioned(value: RoutingPolicyDocument(), version: 0)
        }
        if let problem = JSONNesting.problem(in: json) {
            throw FederationError.invalidInput("stored policy document is invalid: \(problem)")
        }
        do {
            var document = try JSONDecoder().decode(RoutingPolicyDocument.self, from: Data(json))
            document.version = UInt64(max(0, version))
            return Versioned(value: document, version: document.version)
        } catch {
            throw FederationError.invalidInput(
                "stored policy document is invalid: \(DecodingProblem(error).message)")
        }
    }
}
