import ArgumentParser
import FederationCtl
import Testing

@testable import fedctl

/// Every subcommand's arguments through ArgumentParser, as the shell hands them over.
@Suite struct ParsingTests {
    func parse<T: ParsableCommand>(_ type: T.Type, _ arguments: [String]) throws -> T {
        let command = try Fedctl.parseAsRoot(arguments)
        return try #require(command as? T, "parsed as \(Swift.type(of: command))")
    }

    /// The exit status fedctl ends with for these arguments when they do not parse.
    func failure(_ arguments: [String]) -> (status: Int32, message: String)? {
        do {
            _ = try Fedctl.parseAsRoot(arguments)
            return nil
        } catch {
            return Fedctl.outcome(of: error)
        }
    }

    @Test func globalOptionsDefaultToTheLocalCluster() throws {
        let nodes = try parse(Nodes.self, ["nodes"])
        #expect(nodes.endpoints.urls(environment: [:]) == .localCluster)
        #expect(nodes.output.json == false)
        let urls = try parse(
            Nodes.self, ["nodes", "--catalog", "10.0.0.1:7101/", "--json", "--timeout", "2"]
        )
        .endpoints.urls(environment: [:])
        #expect(urls.catalog == "http://10.0.0.1:7101")
        #expect(urls.timeout == .seconds(2))
        #expect(try parse(Nodes.self, ["nodes", "--json"]).output.json)
    }

    @Test func topShowsBothLocalReplicasUnlessGatewaysAreNamed() throws {
        #expect(
            try parse(Top.self, ["top"]).gatewayURLs(environment: [:])
                == ["http://127.0.0.1:8080", "http://127.0.0.1:8081"])
        #expect(
            try parse(Top.self, ["top", "--gateway", "g:1", "--also-gateway", "h:2/"]).gatewayURLs(
                environment: [:])
                == ["http://g:1", "http://h:2"])
        #expect(
            try parse(Top.self, ["top"]).gatewayURLs(environment: ["FEDCTL_GATEWAY": "http://e:3"]) == [
                "http://e:3"
            ])
        #expect(try parse(Top.self, ["top", "--interval", "0.5"]).interval == 0.5)
        #expect(failure(["top", "--interval", "0"])?.status == 2)
        #expect(failure(["top", "--also-gateway", "ftp://x"])?.status == 2)
    }

    @Test func environmentFillsWhatFlagsLeaveOpen() throws {
        let endpoints = try parse(Nodes.self, ["nodes", "--router", "http://r:1"]).endpoints
        let urls = endpoints.urls(environment: [
            "FEDCTL_CATALOG": "http://c:2", "FEDCTL_ROUTER": "http://ignored:3",
            "FED_REDIS_URL": "redis://x:6379",
            "FED_NAMESPACE": "prod", "FED_ADMIN_TOKEN": "s3cret",
        ])
        #expect(urls.catalog == "http://c:2")
        #expect(urls.router == "http://r:1")  // the flag wins
        #expect(urls.redis == "redis://x:6379")
        #expect(urls.namespace == "prod")
        #expect(urls.adminToken == "s3cret")
        let preferred = endpoints.urls(environment: [
            "FEDCTL_REDIS": "redis://a:1", "FED_REDIS_URL": "redis://b:2",
        ])
        #expect(preferred.redis == "redis://a:1")
    }

    @Test func register() throws {
        let command = try parse(
            Register.self,
            [
                "register", "n1", "--region", "us-west", "--endpoint", "http://10.0.0.7:8000", "--model",
                "llama=generate+code", "--model", "bge=embed", "--gpu", "--privacy", "internal", "--cost",
                "0.4",
                "--label", "rack=a3", "--lease-seconds", "30",
            ])
        let body = try command.body()
        #expect(body["node_id"] == "n1")
        #expect(body["gpu"] == true)
        #expect(body["lease_seconds"] == 30)
        #expect(body["labels"]?["rack"] == "a3")
        #expect(body["models"]?.array?.count == 2)
        #expect(body["models"]?.array?[0]["capabilities"] == ["generate", "code"])
        #expect(failure(["register", "n1", "--region", "r", "--endpoint", "http://x"])?.status == 2)
        #expect(
            failure(["register", "n1", "--region", "r", "--endpoint", "http://x", "--model", "m"])?.message
                .contains("name=cap+cap") == true)
        #expect(
            failure(["register", "n1", "--region", "r", "--endpoint", "h", "--model", "m=a", "--cost", "2"])?
                .status == 2)
        #expect(failure(["register", "n1", "--file", "x.json"])?.status == 2)
    }

    @Test func deregisterNodesModelsHealth() throws {
        let deregister = try parse(Deregister.self, ["deregister", "n1", "--model", "meta/llama"])
        #expect(deregister.node == "n1" && deregister.model == "meta/llama")
        #expect(try parse(Nodes.self, ["nodes", "--capability", "embed"]).capability == "embed")
        _ = try parse(Models.self, ["models", "--json"])
        #expect(try parse(Health.self, ["health", "n1"]).node == "n1")
        #expect(try parse(Health.self, ["health"]).node == nil)
        _ = try parse(Circuits.self, ["circuits"])
        #expect(failure(["deregister"])?.status == 2)
    }

    @Test func circuitOverrides() throws {
        let open = try parse(Circuit.Open.self, ["circuit", "open", "n1", "--duration", "10m"])
        #expect(open.node == "n1" && open.duration == "10m")
        #expect(try parse(Circuit.Close.self, ["circuit", "close", "n1"]).node == "n1")
        #expect(
            failure(["circuit", "open", "n1", "--duration", "soon"])?.message.contains("--duration") == true)
        #expect(failure(["circuit", "open"])?.status == 2)
        #expect(failure(["circuit", "toggle", "n1"])?.status == 2)
    }

    @Test func routeQueries() throws {
        let route = try parse(
            Route.self,
            [
                "route", "--capability", "embed", "--model", "bge", "--privacy", "confidential",
                "--max-latency-ms",
                "500", "--no-prefer-gpu", "--cost-tolerance", "20", "--region", "eu-west", "--exclude", "a",
                "--exclude", "b", "--explain",
            ])
        #expect(route.explain)
        let body = route.query.query.body
        #expect(body["capability"] == "embed")
        #expect(body["qos"]?["privacy"] == "confidential")
        #expect(body["qos"]?["prefer_gpu"] == false)
        #expect(body["qos"]?["cost_tolerance"] == 20)
        #expect(body["origin_region"] == "eu-west")
        #expect(body["exclude"] == ["a", "b"])
        #expect(try parse(Route.self, ["route"]).query.query.body == ["capability": "generate"])
        #expect(failure(["route", "--cost-tolerance", "101"])?.status == 2)
        #expect(failure(["route", "--max-latency-ms", "1e400"])?.status == 2)
    }

    @Test func inferStreamReportStats() throws {
        let infer = try parse(
            Infer.self,
            ["infer", "--model", "m1", "--capability", "embed", "--privacy", "internal", "hello", "world"])
        let request = try infer.request.request(capability: infer.capability)
        #expect(request.input == "hello world")
        #expect(request.endpoint(stream: false).path == "/v1/embeddings")
        #expect(request.headers["X-Federation-Privacy"] == "internal")
        #expect(
            InferRequest(capability: "code", model: "m", input: "x").endpoint(stream: true).body["stream"]
                == true)
        #expect(
            InferRequest(capability: "custom:rerank", model: "m", input: "x").endpoint(stream: false).path
                == "/v1/infer")
        #expect(failure(["infer", "hi"])?.status == 2)  // --model is required
        let stream = try parse(Stream.self, ["stream", "--model", "m1", "--max-tokens", "8", "hi"])
        #expect(stream.request.maxTokens == 8)
        #expect(failure(["stream", "--model", "m1", "--idle-timeout", "0", "hi"])?.status == 2)

        let report = try parse(
            Report.self, ["report", "n1", "--fail", "--status", "503", "--count", "5", "--latency-ms", "12"])
        #expect(report.report.ok == false && report.report.status == 503 && report.count == 5)
        #expect(report.report.source == "fedctl")
        #expect(try parse(Report.self, ["report", "n1", "--ok"]).report.ok)
        #expect(failure(["report", "n1"])?.status == 2)  // --ok or --fail
        #expect(failure(["report", "n1", "--ok", "--fail"])?.status == 2)
        #expect(failure(["report", "n1", "--fail", "--status", "999"])?.message.contains("status") == true)
        #expect(failure(["report", "bad id!", "--fail"])?.status == 2)
        #expect(failure(["report", "n1", "--ok", "--gpu-utilization", "3"])?.status == 2)

        #expect(try parse(Stats.self, ["stats", "--replica"]).replica)
    }

    @Test func policyAndCluster() throws {
        _ = try parse(Policy.Get.self, ["policy", "get"])
        let set = try parse(
            Policy.Set.self, ["policy", "set", "--strategy", "round_robin", "weights.cost=2"])
        #expect(try set.change() == .patch(["strategy": "round_robin", "weights": ["cost": 2]]))
        #expect(failure(["policy", "set"])?.status == 2)
        #expect(
            failure(["policy", "set", "--file", "/nonexistent.json"])?.message.contains("cannot read") == true
        )
        #expect(failure(["policy", "set", "--file", "a.json", "min_score=1"])?.status == 2)
        #expect(failure(["policy", "set", "oops"])?.message.contains("KEY=VALUE") == true)
        #expect(try parse(Policy.Edit.self, ["policy", "edit", "--editor", "nano"]).editor == "nano")
        _ = try parse(Cluster.Up.self, ["cluster", "up"])
        #expect(
            try parse(Cluster.Status.self, ["cluster", "status", "--repo", "/src"]).location.repo == "/src")
        #expect(failure(["cluster", "sideways"])?.status == 2)
    }

    @Test func badServiceURLsAreUsageErrors() {
        #expect(failure(["nodes", "--catalog", "ftp://x"])?.status == 2)
        #expect(failure(["nodes", "--redis", "http://x"])?.status == 2)
        #expect(failure(["nodes", "--timeout", "-1"])?.status == 2)
        let help = Fedctl.helpMessage(for: Nodes.self)
        #expect(help.contains("--capability") && help.contains("--json") && help.contains("FEDCTL_CATALOG"))
    }
}
