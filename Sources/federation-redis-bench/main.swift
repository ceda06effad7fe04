// federation-redis-bench: throughput of our hiredis client (pipelined vs not) next to
// redis-benchmark, cross-process event→view latency, and the cost of a snapshot read.
// Usage: swift run -c release federation-redis-bench [--events 1000] [--commands 200000]
import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Logging

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return Int(arguments[index + 1]) ?? fallback
}

if arguments.count >= 4 && arguments[1] == "--view-child" {
    try await runViewChild(port: Int(arguments[2])!, namespace: arguments[3])
    exit(0)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}
let commands = option("--commands", 200_000)
let events = option("--events", 1000)
let server = try RedisServerProcess()
defer { server.stopAndRemove() }
print("redis-server \(server.port), \(ProcessInfo.processInfo.activeProcessorCount) cores")

// 1. Throughput
try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) { client in
    let unpipelined = min(commands, 50_000)
    var start = ContinuousClock.now
    for index in 0..<unpipelined {
        try await client.command("HSET", "bench:plain", "f\(index % 1000)", "value")
    }
    let plainRate = Double(unpipelined) / (ContinuousClock.now - start).seconds
    print(String(format: "HSET unpipelined (1 connection, await each): %10.0f commands/s", plainRate))
    for depth in [16, 128, 1000] {
        let batch = (0..<depth).map { RedisCommand("HSET", "bench:pipe", "f\($0)", "value") }
        start = ContinuousClock.now
        var done = 0
        while done < commands {
            _ = try await client.pipeline(batch)
            done += depth
        }
        let rate = Double(done) / (ContinuousClock.now - start).seconds
        print(String(format: "HSET pipelined -P %4d (1 connection):       %10.0f commands/s", depth, rate))
    }
    // 50 concurrent callers, each awaiting one HSET at a time, on the default pool (2 connections):
    // automatic pipelining batches what they send at the same moment.
    try await RedisClient.withClient(configuration: server.configuration(poolSize: 2)) { pool in
        start = ContinuousClock.now
        let perTask = min(commands, 100_000) / 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<50 {
                group.addTask {
                    for i in 0..<perTask { try await pool.command("HSET", "bench:auto", "f\(task)", "\(i)") }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(perTask * 50) / (ContinuousClock.now - start).seconds
        print(
            String(
                format: "HSET 50 concurrent callers (2 connections, auto-pipelined): %7.0f commands/s", rate))
    }
    // Several connections in parallel, as redis-benchmark uses 50 clients.
    try await RedisClient.withClient(configuration: server.configuration(poolSize: 4)) { pool in
        let batch = (0..<16).map { RedisCommand("HSET", "bench:pool", "f\($0)", "value") }
        start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<(commands / 16 / 8) { _ = try await pool.pipeline(batch) } }
            }
            try await group.waitForAll()
        }
        let rate = Double(commands / 16 / 8 * 16 * 8) / (ContinuousClock.now - start).seconds
        print(String(format: "HSET pipelined -P   16 (4 connections, 8 tasks): %7.0f commands/s", rate))
    }
}
print(
    "redis-benchmark -t hset -P 16 -q -n \(commands): \(redisBenchmark(port: server.port, requests: commands))"
)

// 2. Latency: writer HSET+INCR+PUBLISH (one Lua call) → a second process's FederationView applied it.
let latencies = try await measureEventLatency(server: server, events: events).sorted()
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
print(
    String(
        format: "event → second process's view applied (%d events): p50 %.3f ms, p99 %.3f ms, max %.3f ms",
        latencies.count, percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.last ?? 0))

// 3. Snapshot read cost
try await RedisClient.withClient(configuration: server.configuration()) { client in
    let keys = FederationKeys(namespace: uniqueNamespace("read"))
    let catalog = RedisCatalogStore(client: client, keys: keys)
    for index in 0..<100 {
        try await catalog.register(
            node: NodeInfo(id: NodeId("n\(index)"), region: "r", endpoint: "http://n\(index):1"), model: "m",
            capabilities: [.generate])
    }
    let view = FederationView(redis: client, keys: keys)
    _ = await view.syncNow()
    print(snapshotReadCost(view))
    print(mutexCost())
}
