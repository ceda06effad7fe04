import FederationCore
import FederationNode
import FederationOpenAI
import Foundation
import Testing

@Suite("Configuration, latency distributions and encoders")
struct ConfigurationTests {
    @Test("YAML, then environment, then flags: each overrides the one before")
    func layering() throws {
        var configuration = NodeConfiguration()
        try configuration.apply(
            yaml: """
                node:
                  id: us-gpu-1
                  region: us-west
                  port: 9001
                  gpu: true
                  latency: lognormal:40,400
                  tokens_per_second: 25
                  models:
                    - name: llama
                      capabilities: [generate, code]
                    - whisper=transcribe
                  faults:
                    error_rate: 0.25
                    error_status: 503
                """)
        #expect(configuration.nodeId == "us-gpu-1")
        #expect(configuration.port == 9001)
        #expect(configuration.gpu)
        #expect(configuration.latency == .logNormal(medianMilliseconds: 40, p99Milliseconds: 400))
        #expect(
            configuration.models == [
                ServedModel(name: "llama", capabilities: [.generate, .code]),
                ServedModel(name: "whisper", capabilities: [.transcribe]),
            ])
        #expect(configuration.faults.errorRate == 0.25)
        #expect(configuration.faults.errorStatus == 503)

        try configuration.apply(environment: [
            "FEDNODE_PORT": "9002", "FEDNODE_MODELS": "e=embed,img=image_gen", "PATH": "/bin",
        ])
        #expect(configuration.port == 9002)
        #expect(configuration.models.map(\.name) == ["e", "img"])
        try configuration.set("port", to: "9003")
        #expect(configuration.port == 9003)
        try configuration.validate()
    }

    @Test("mistakes are reported with the setting's name")
    func mistakes() {
        var configuration = NodeConfiguration()
        #expect(throws: NodeConfigurationError.self) {
            try configuration.apply(environment: ["FEDNODE_PROT": "1"])
        }
        #expect(throws: NodeConfigurationError.self) { try configuration.set("port", to: "eighty") }
        #expect(throws: NodeConfigurationError.self) { try configuration.set("models", to: "x=generat") }
        #expect(throws: NodeConfigurationError.self) { try configuration.set("latency", to: "pareto:50,10") }
        #expect(throws: NodeConfigurationError.self) { try configuration.apply(yaml: "node: [1, 2]") }
        configuration.faults.errorRate = 2
        #expect(throws: NodeConfigurationError.self) { try configuration.validate() }
    }

    @Test("latency distributions parse and their samples match the configured percentiles")
    func latency() throws {
        #expect(try LatencyDistribution(parsing: "25") == .fixed(milliseconds: 25))
        #expect(try LatencyDistribution(parsing: "normal:100,10").description == "normal:100,10")
        let random = SeededRandomSource(seed: 7)
        for text in ["lognormal:50,500", "pareto:20,400"] {
            let distribution = try LatencyDistribution(parsing: text)
            let samples = (0..<20_000).map { _ in distribution.sampleMilliseconds(using: random) }.sorted()
            let p99 = samples[samples.count * 99 / 100]
            let target = text.hasPrefix("lognormal") ? 500.0 : 400.0
            #expect(abs(p99 - target) / target < 0.15, "\(text): p99 \(p99)")
        }
        let normal = LatencyDistribution.normal(meanMilliseconds: 100, stddevMilliseconds: 10)
        let mean = (0..<10_000).map { _ in normal.sampleMilliseconds(using: random) }.reduce(0, +) / 10_000
        #expect(abs(mean - 100) < 1)
    }

    @Test("the PNG encoder writes stored zlib blocks with correct checksums, also over 64 KiB")
    func png() {
        let small = PNGEncoder.picture(for: "x", width: 3, height: 2)
        #expect(PNGCheck.isValid(small))
        // 200×200 RGB is 120 KB of scanlines: several stored blocks.
        let large = PNGEncoder.picture(for: "y", width: 200, height: 200)
        #expect(PNGCheck.isValid(large))
        #expect(PNGCheck.size(large) == (200, 200))
    }

    @Test("--print-registration's JSON names the node, endpoint and models")
    func registration() throws {
        var configuration = NodeConfiguration()
        configuration.nodeId = "n1"
        configuration.port = 8123
        configuration.models = [ServedModel(name: "m", capabilities: [.embed])]
        let json = try NodeRegistration(configuration: configuration).json()
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        #expect(value["node_id"]?.stringValue == "n1")
        #expect(value["endpoint"]?.stringValue == "http://127.0.0.1:8123")
        #expect(value["models"]?[0]?["capabilities"]?[0]?.stringValue == "embed")
        #expect(value["labels"] == nil, "an embedding node continues no stream")
        configuration.models.append(ServedModel(name: "c", capabilities: [.generate, .code]))
        let chat = try JSONDecoder().decode(
            JSONValue.self, from: Data(try NodeRegistration(configuration: configuration).json().utf8))
        #expect(chat["labels"]?["federation.resume"]?.stringValue == "code,generate")
        configuration.resume = false
        #expect(NodeRegistration(configuration: configuration).labels == nil)
    }
}
