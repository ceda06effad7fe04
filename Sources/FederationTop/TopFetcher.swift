import AsyncHTTPClient
import FederationCtl
import Foundation
import NIOCore
import NIOHTTP1

/// Fills a ``TopSnapshot`` from the services over HTTP, every source at once with short
/// timeouts. A source that is down, slow or answers nonsense becomes an entry in
/// ``TopSnapshot/errors`` (saying which service, at which URL, and how to start it) — never a
/// thrown error, never a crash.
public final class TopFetcher: Sendable {
    public let options: TopOptions
    let http: HTTPClient

    init(options: TopOptions, http: HTTPClient) {
        self.options = options
        self.http = http
    }

    /// Runs `body` with a fetcher whose HTTP client is shut down afterwards.
    public static func with<T: Sendable>(
        _ options: TopOptions, _ body: (TopFetcher) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        let timeout = TimeAmount.milliseconds(max(1, options.timeout.wholeMs))
        configuration.timeout = .init(connect: timeout, read: timeout)
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let fetcher = TopFetcher(options: options, http: http)
        do {
            let result = try await body(fetcher)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    enum Part: Sendable {
        case nodes(Result<[TopSnapshot.Node], FetchFailure>)
        case models(Result<[TopSnapshot.Model], FetchFailure>)
        case health(Result<(leader: String?, nodes: [TopSnapshot.Health]), FetchFailure>)
        case circuits(Result<[TopSnapshot.Circuit], FetchFailure>)
        case policy(Result<TopSnapshot.Policy, FetchFailure>)
        case decisions(index: Int, Result<[TopSnapshot.Decision], FetchFailure>)
        case stats(
            index: Int, Result<(cluster: TopSnapshot.Stats, replicas: [TopSnapshot.Stats]), FetchFailure>)
    }

    /// One snapshot of every source.
    public func fetch() async -> TopSnapshot {
        let started = ContinuousClock.now
        var snapshot = TopSnapshot()
        snapshot.sources[.catalog] = options.catalog
        snapshot.sources[.health] = options.health
        snapshot.sources[.router] = options.router
        for gateway in options.gateways { snapshot.sources[.gateway(gateway)] = gateway }
        let parts = await withTaskGroup(of: Part.self, returning: [Part].self) { group in
            group.addTask {
                .nodes(await self.get(.catalog, self.options.catalog, "/v1/nodes", TopDecoding.nodes))
            }
            group.addTask {
                .models(await self.get(.catalog, self.options.catalog, "/v1/models", TopDecoding.models))
            }
            group.addTask {
                .health(await self.get(.health, self.options.health, "/v1/health", TopDecoding.health))
            }
            group.addTask {
                .circuits(await self.get(.health, self.options.health, "/v1/circuits", TopDecoding.circuits))
            }
            group.addTask {
                .policy(await self.get(.router, self.options.router, "/v1/policy", TopDecoding.policy))
            }
            for (index, gateway) in self.options.gateways.enumerated() {
                group.addTask {
                    .decisions(
                        index: index,
                        await self.get(.gateway(gateway), gateway, "/v1/decisions?limit=256") {
                            try TopDecoding.decisions($0, gatewayURL: gateway)
                        })
                }
                group.addTask {
                    .stats(
                        index: index,
                        await self.get(
                            .gateway(gateway), gateway, "/v1/stats?scope=cluster", TopDecoding.clusterStats))
                }
            }
            var parts: [Part] = []
            for await part in group { parts.append(part) }
            return parts
        }
        var statsByGateway: [Int: (cluster: TopSnapshot.Stats, replicas: [TopSnapshot.Stats])] = [:]
        for part in parts {
            switch part {
            case .nodes(let result): snapshot.nodes = snapshot.take(result) ?? []
            case .models(let result): snapshot.models = snapshot.take(result) ?? []
            case .health(let result):
                if let health = snapshot.take(result) {
                    snapshot.health = health.nodes
                    snapshot.healthLeader = health.leader
                }
            case .circuits(let result): snapshot.circuits = snapshot.take(result) ?? []
            case .policy(let result): snapshot.policy = snapshot.take(result)
            case .decisions(_, let result): snapshot.decisions += snapshot.take(result) ?? []
            case .stats(let index, let result): statsByGateway[index] = snapshot.take(result)
            }
        }
        if let first = statsByGateway.keys.sorted().first, let stats = statsByGateway[first] {
            snapshot.cluster = stats.cluster
            snapshot.replicas = stats.replicas
        }
        snapshot.decisions.sort {
            $0.timeMs != $1.timeMs
                ? $0.timeMs > $1.timeMs : ($0.gateway, $0.requestId) < ($1.gateway, $1.requestId)
        }
        snapshot.fetchedAtMs = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        snapshot.fetchDurationMs = Double((ContinuousClock.now - started).wholeMs)
        return snapshot
    }

    /// What went wrong asking one source.
    struct FetchFailure: Error, Sendable {
        var source: TopSnapshot.Source
        var message: String
    }

    /// `GET base + path`, decoded by `decode`; any failure becomes a ``FetchFailure`` naming the
    /// service, its URL and what to do.
    func get<T: Sendable>(
        _ source: TopSnapshot.Source, _ base: String, _ path: String,
        _ decode: @Sendable (JSON) throws -> T
    ) async -> Result<T, FetchFailure> {
        let url = base.hasSuffix("/") ? String(base.dropLast()) + path : base + path
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        if let token = options.adminToken, !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        let timeout = TimeAmount.milliseconds(max(1, options.timeout.wholeMs))
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 8 << 20)
            let tree = JSON.parse(Array(body.readableBytesView))
            guard response.status == .ok else {
                let detail = TopDecoding.errorMessage(tree).map { ": " + $0 } ?? ""
                return .failure(
                    FetchFailure(
                        source: source,
                        message:
                            "\(source.service) at \(base) answered HTTP \(response.status.code) to GET \(path)\(detail)"
                    ))
            }
            guard let tree else {
                return .failure(
                    FetchFailure(
                        source: source,
                        message: "\(source.service) at \(base) answered GET \(path) with no JSON"))
            }
            return .success(try decode(tree))
        } catch let error as TopDecoding.ShapeError {
            return .failure(FetchFailure(source: source, message: "\(source.service) at \(base): \(error)"))
        } catch {
            return .failure(FetchFailure(source: source, message: Self.unreachable(source, base, error)))
        }
    }

    /// "catalog at http://… is not reachable (connection refused); start it: …".
    static func unreachable(_ source: TopSnapshot.Source, _ base: String, _ error: any Error) -> String {
        let text = String(describing: error)
        let lowered = text.lowercased()
        let why: String
        if lowered.contains("refused") {
            why = "connection refused"
        } else if lowered.contains("timeout") || lowered.contains("deadline") {
            why = "no answer in time"
        } else if lowered.contains("responsetoolarge") || lowered.contains("toolarge") {
            why = "the answer is too large"
        } else {
            why = String(text.prefix(120))
        }
        return "\(source.service) at \(base) is not reachable (\(why)); start it with ./scripts/cluster up"
            + " (or .build/debug/\(source.executable) --config config/federation.yaml)"
    }
}

extension TopSnapshot.Source {
    /// The service's name in messages.
    var service: String {
        switch self {
        case .catalog: return "the catalog"
        case .health: return "the health service"
        case .router: return "the router"
        case .gateway: return "the gateway"
        }
    }

    var executable: String {
        switch self {
        case .catalog: return "federation-catalog"
        case .health: return "federation-health"
        case .router: return "federation-router"
        case .gateway: return "federation-gateway"
        }
    }
}

extension TopSnapshot {
    /// The value of `result`, or nil after keeping its error (the first per source).
    fileprivate mutating func take<T>(_ result: Result<T, TopFetcher.FetchFailure>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let failure):
            if errors[failure.source] == nil { errors[failure.source] = failure.message }
            return nil
        }
    }
}
