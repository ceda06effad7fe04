import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Synchronization

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Runs redis-benchmark against the port and returns its HSET line.
func redisBenchmark(port: Int, requests: Int) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-benchmark")
    process.arguments = ["-p", String(port), "-t", "hset", "-P", "16", "-q", "-n", String(requests)]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { return "redis-benchmark not runnable: \(error)" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let line = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last { $0.contains("HSET") }
    return line.map { $0.trimmingCharacters(in: .whitespaces) } ?? text
}

/// Lines from a file handle, read on a thread of its own.
final class LineReader: Sendable {
    private let lines = Mutex<[String]>([])
    private let available = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    self.lines.withLock { $0.append(line) }
                    self.available.signal()
                }
            }
        }
        thread.start()
    }

    func next(timeout: Duration) -> String? {
        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout.components.seconds * 1_000_000_000))
        guard available.wait(timeout: deadline) == .success else { return nil }
        return lines.withLock { $0.removeFirst() }
    }
}

/// The second process: a FederationView that prints when it applied each health version.
func runViewChild(port: Int, namespace: String) async throws {
    let configuration = RedisConfiguration(port: port)
    try await RedisClient.withClient(configuration: configuration) { client in
        let view = FederationView(
            redis: client, keys: FederationKeys(namespace: namespace),
            configuration: .init(
                backstopInterval: .seconds(60), inFlightInterval: nil,
                onUpdate: { snapshot in
                    guard let sent = snapshot.health["bench"]?.reason.flatMap({ UInt64($0) }) else { return }
                    let line = "applied \(snapshot.versions.health) \(monotonicNanoseconds() - sent)\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                }))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await view.run() }
            _ = await view.waitUntil { _ in view.status.connected }
            FileHandle.standardOutput.write(Data("ready\n".utf8))
            try await group.next()
        }
    }
}

/// ns per snapshot read (`view.snapshot` copy, `view.withSnapshot` borrow, and a
/// `candidates(for:)` lookup through the borrow): one thread, then two threads at once.
func snapshotReadCost(_ view: FederationView) -> String {
    [
        "view.snapshot (value copy)": 0, "view.currentSnapshot (reference)": 1,
        "currentSnapshot + candidates(for:)": 2,
    ]
    .sorted { $0.value < $1.value }
    .map { name, mode in "\(name): " + readCost(view, mode: mode) }.joined(separator: "\n")
}

func readCost(_ view: FederationView, mode: Int) -> String {
    let reads = 3_000_000
    @Sendable func readLoop() -> Double {
        let start = monotonicNanoseconds()
        var total = 0
        for _ in 0..<reads {
            switch mode {
            case 0: total &+= view.snapshot.versions.catalog == 0 ? 0 : 1
            case 1: total &+= view.currentSnapshot.snapshot.versions.catalog == 0 ? 0 : 1
            default: total &+= view.currentSnapshot.snapshot.candidates(for: .generate).count
            }
        }
        precondition(total >= 0)
        return Double(monotonicNanoseconds() - start) / Double(reads)
    }
    let single = readLoop()
    let results = Mutex<[Double]>([])
    let group = DispatchGroup()
    for _ in 0..<2 {
        group.enter()
        Thread {
            let cost = readLoop()
            results.withLock { $0.append(cost) }
            group.leave()
        }.start()
    }
    group.wait()
    let contended = results.withLock { $0 }
    return String(
        format: "%.1f ns (1 thread), %.1f / %.1f ns (2 threads at once)", single, contended[0],
        contended[1])
}

/// Spawns this executable as a second process running a view, then writes `events` health records
/// one at a time and collects how long each took to be applied there (ms).
func measureEventLatency(server: RedisServerProcess, events: Int) async throws -> [Double] {
    let namespace = uniqueNamespace("bench")
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["--view-child", String(server.port), namespace]
    let output = Pipe()
    child.standardOutput = output
    try child.run()
    defer {
        child.terminate()
        child.waitUntilExit()
    }
    let lines = LineReader(output.fileHandleForReading)
    guard lines.next(timeout: .seconds(10)) == "ready" else { fatalError("child view did not start") }
    var latencies: [Double] = []
    try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) { client in
        let health = RedisHealthStore(client: client, keys: FederationKeys(namespace: namespace))
        for _ in 0..<events {
            let sent = monotonicNanoseconds()
            let version = try await health.putHealth(
                NodeHealth(node: "bench", state: .healthy, reason: String(sent)))
            while let line = lines.next(timeout: .seconds(5)) {
                let parts = line.split(separator: " ")
                if parts.count == 3, parts[0] == "applied", UInt64(parts[1]) == version {
                    latencies.append(Double(UInt64(parts[2])!) / 1e6)
                    break
                }
            }
        }
    }
    return latencies
}

final class PlainBox: Sendable { let value: Int; init(_ value: Int) { self.value = value } }

/// The cost of the lock itself: Mutex<reference> read with a trivial payload.
func mutexCost() -> String {
    let mutex = Mutex(PlainBox(1))
    let reads = 3_000_000
    let start = monotonicNanoseconds()
    var total = 0
    for _ in 0..<reads { total &+= mutex.withLock { $0 }.value }
    precondition(total > 0)
    return String(
        format: "Mutex<reference> read alone: %.1f ns", Double(monotonicNanoseconds() - start) / Double(reads)
    )
}
