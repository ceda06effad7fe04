import Foundation

/// One model of a registration: `name=cap+cap` on the command line (as `federation-node --model`).
public struct ModelSpec: Sendable, Equatable {
    public var name: String
    public var capabilities: [String]

    /// Parses `llama-3-8b=generate+code` (`,` also separates capabilities); nil when there is no
    /// name or no capability.
    public init?(argument: String) {
        guard let equals = argument.lastIndex(of: "=") else { return nil }
        let name = String(argument[..<equals]).trimmingCharacters(in: .whitespaces)
        let capabilities = argument[argument.index(after: equals)...]
            .split(whereSeparator: { $0 == "+" || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !name.isEmpty, !capabilities.isEmpty else { return nil }
        self.name = name
        self.capabilities = capabilities
    }
}

/// What `fedctl register` sends to `POST /v1/deployments`.
public struct Registration: Sendable, Equatable {
    public var node: String
    public var region: String
    public var endpoint: String
    public var models: [ModelSpec]
    public var gpu = false
    public var privacy: String?
    public var cost: Double?
    public var labels: [String: String] = [:]
    public var leaseSeconds: Double?

    public init(node: String, region: String, endpoint: String, models: [ModelSpec]) {
        self.node = node
        self.region = region
        self.endpoint = endpoint
        self.models = models
    }

    /// The request body (docs/CATALOG.md).
    public var body: JSON {
        var object: [String: JSON] = [
            "node_id": .string(node), "region": .string(region), "endpoint": .string(endpoint),
            "gpu": .bool(gpu),
            "models": .array(
                models.map {
                    ["name": .string($0.name), "capabilities": .array($0.capabilities.map(JSON.string))]
                }),
        ]
        if let privacy { object["privacy"] = .string(privacy) }
        if let cost { object["cost"] = .number(cost) }
        if !labels.isEmpty { object["labels"] = .object(labels.mapValues(JSON.string)) }
        if let leaseSeconds { object["lease_seconds"] = .number(leaseSeconds) }
        return .object(object)
    }
}

extension Ctl {
    /// `fedctl register`: registers (or renews) a node with its models.
    public func register(_ body: JSON) async throws -> String {
        let response = try await client.call(
            .catalog, .POST, "/v1/deployments", body: Self.bytes(body), admin: true)
        let answer = try self.body(response, from: .catalog)
        if json { return answer.text() }
        let node = answer["node"]
        let models = node?["models"]?.array?.compactMap { $0["name"]?.string } ?? []
        var lines = [
            "registered \(node?["id"]?.cellText ?? "?") (\(node?["region"]?.cellText ?? "?"), "
                + "\(node?["endpoint"]?.cellText ?? "?")) with \(models.count) model(s): \(models.joined(separator: ", "))"
        ]
        if let expires = node?["lease_expires_at"]?.int64 {
            lines.append("lease expires \(Format.relative(expires, now: now()))")
        }
        let removed = answer["removed_models"]?.strings ?? []
        if !removed.isEmpty { lines.append("no longer serves: \(removed.joined(separator: ", "))") }
        lines.append("catalog version \(answer["version"]?.cellText ?? "-")")
        return lines.joined(separator: "\n")
    }

    /// `fedctl deregister NODE [--model M]`.
    public func deregister(node: String, model: String?) async throws -> String {
        let path =
            if let model {
                "/v1/deployments/\(Self.segment(model))/\(Self.segment(node))"
            } else {
                "/v1/nodes/\(Self.segment(node))"
            }
        let answer = try body(try await client.call(.catalog, .DELETE, path, admin: true), from: .catalog)
        if json { return answer.text() }
        let removed = answer["removed"]?.strings ?? []
        return model == nil
            ? "removed node \(node) (models: \(removed.isEmpty ? "-" : removed.joined(separator: ", ")))"
            : "removed \(removed.isEmpty ? model! : removed.joined(separator: ", ")) from \(node)"
    }

    /// `fedctl nodes [--capability C]`.
    public func nodes(capability: String?) async throws -> String {
        let query = capability.map {
            "?capability=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)"
        }
        let answer = try body(
            try await client.call(.catalog, .GET, "/v1/nodes" + (query ?? "")), from: .catalog)
        return json ? answer.text() : Self.renderNodes(answer, now: now())
    }

    /// `fedctl models`.
    public func models() async throws -> String {
        let answer = try body(try await client.call(.catalog, .GET, "/v1/models"), from: .catalog)
        return json ? answer.text() : Self.renderModels(answer)
    }

    /// The `GET /v1/nodes` table.
    public static func renderNodes(_ answer: JSON, now: Int64) -> String {
        let nodes = answer["nodes"]?.array ?? []
        guard !nodes.isEmpty else {
            return "no nodes registered (catalog version \(answer["version"]?.cellText ?? "-"))"
        }
        var table = Table([
            .init("NODE"), .init("REGION"), .init("ENDPOINT"), .init("GPU"), .init("PRIVACY"),
            .init("COST", .right),
            .init("MODELS", maxWidth: 50), .init("LEASE"),
        ])
        for node in nodes {
            let models = node["models"]?.array?.map { model in
                let name = model["name"]?.string ?? "?"
                let capabilities = model["capabilities"]?.strings ?? []
                return capabilities.isEmpty ? name : "\(name)[\(capabilities.joined(separator: "+"))]"
            }
            let lease =
                node["lease_expires_at"]?.int64.map { "expires " + Format.relative($0, now: now) }
                ?? "permanent"
            table.add([
                node["id"]?.cellText ?? "-", node["region"]?.cellText ?? "-",
                node["endpoint"]?.cellText ?? "-",
                node["gpu"]?.cellText ?? "-", node["privacy"]?.cellText ?? "-", node["cost"]?.cellText ?? "-",
                models?.joined(separator: " ") ?? "-", lease,
            ])
        }
        return table.render()
            + "\n\(nodes.count) node(s), catalog version \(answer["version"]?.cellText ?? "-")"
    }

    /// The `GET /v1/models` table.
    public static func renderModels(_ answer: JSON) -> String {
        let models = answer["models"]?.array ?? []
        guard !models.isEmpty else { return "no models registered" }
        var table = Table([
            .init("MODEL"), .init("VERSION"), .init("CAPABILITIES"), .init("PARAMS", .right), .init("QUANT"),
            .init("NODES", maxWidth: 60),
        ])
        for model in models {
            let deployments = model["deployments"]?.array?.compactMap { $0["node"]?.string } ?? []
            table.add([
                model["id"]?.cellText ?? "-", model["version"]?.cellText ?? "-",
                (model["capabilities"]?.strings ?? []).joined(separator: ","),
                model["parameters"]?.double.map(Format.count) ?? "-", model["quantization"]?.cellText ?? "-",
                deployments.isEmpty ? "(none)" : deployments.joined(separator: ","),
            ])
        }
        return table.render()
    }
}

extension Format {
    /// `8000000000` → `8B`, `350000000` → `350M`, `1200` → `1.2K`.
    public static func count(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        for (limit, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where abs(value) >= limit {
            return number((value / limit * 10).rounded() / 10) + suffix
        }
        return number(value)
    }
}
