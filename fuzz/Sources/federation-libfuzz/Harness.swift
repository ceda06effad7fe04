import FederationFuzzing
import Foundation
import Synchronization

/// One decoder under libFuzzer: runs FederationFuzzing's async target to completion for each input
/// (on Swift's concurrency pool, while libFuzzer's thread waits) and turns a contract failure
/// into a crash, so libFuzzer saves the input like any trap's.
final class Harness: Sendable {
    let target: FuzzTarget

    init(target: FuzzTarget) {
        self.target = target
    }

    /// The harness of this process, chosen from FUZZ_TARGET on first use.
    static let current = Harness.fromEnvironment()

    /// Runs one input; aborts the process on a contract failure (an error of the wrong kind, a
    /// node's 5xx), after printing why.
    func fuzzOneInput(_ bytes: [UInt8]) {
        let outcome = Self.runBlocking(target, bytes)
        if case .failure(let why) = outcome {
            let prefix = String(decoding: bytes.prefix(300), as: UTF8.self)
            printError("federation-libfuzz: contract failure in \(target.name): \(why) — input: \(prefix)\n")
            abort()
        }
    }

    /// Chooses the target named by FUZZ_TARGET; `FUZZ_TARGET=list` prints every name and exits.
    static func fromEnvironment() -> Harness {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        let inProcess = FuzzTarget.controlPlane + ExtraTargets.all
        if let target = inProcess.first(where: { $0.name == name }) { return Harness(target: target) }
        // The node's targets need a node application alive for the whole run.
        let nodeTargets = NodeApplication.start()
        if let target = nodeTargets.first(where: { $0.name == name }) { return Harness(target: target) }
        let names = (inProcess + nodeTargets).map(\.name)
        if name == "list" {
            print(names.joined(separator: "\n"))
            exit(0)
        }
        printError(
            "federation-libfuzz: FUZZ_TARGET='\(name)' is not a decoder; set FUZZ_TARGET to one of: "
                + names.joined(separator: ", ") + " (FUZZ_TARGET=list prints them)\n")
        exit(2)
    }

    /// Runs an async target from libFuzzer's (non-pool) thread and waits for its outcome.
    static func runBlocking(_ target: FuzzTarget, _ bytes: [UInt8]) -> FuzzOutcome {
        let box = OutcomeBox()
        Task {
            let outcome = await target.run(bytes)
            box.finish(outcome)
        }
        return box.wait()
    }
}

/// Hands one outcome from the task that computed it to the thread that waits for it.
final class OutcomeBox: Sendable {
    private let outcome = Mutex<FuzzOutcome?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ value: FuzzOutcome) {
        outcome.withLock { $0 = value }
        done.signal()
    }

    func wait() -> FuzzOutcome {
        done.wait()
        return outcome.withLock { $0 } ?? .failure("the target finished without an outcome")
    }
}

/// The demo node (Hummingbird's router test client, no sockets), started once and kept alive
/// by a task that parks inside `NodeTargets.withTargets` until the process exits.
enum NodeApplication {
    final class Started: Sendable {
        let targets = Mutex<[FuzzTarget]?>(nil)
        let problem = Mutex<String?>(nil)
        let ready = DispatchSemaphore(value: 0)
    }

    static func start() -> [FuzzTarget] {
        let started = Started()
        Task.detached {
            do {
                try await NodeTargets.withTargets { targets in
                    started.targets.withLock { $0 = targets }
                    started.ready.signal()
                    while true { try await Task.sleep(for: .seconds(3600)) }
                }
            } catch {
                started.problem.withLock { $0 = "\(error)" }
                started.ready.signal()
            }
        }
        started.ready.wait()
        if let problem = started.problem.withLock({ $0 }) {
            printError("federation-libfuzz: the demo node did not start: \(problem)\n")
            exit(1)
        }
        return started.targets.withLock { $0 } ?? []
    }
}

/// Writes one message to standard error (C's `stderr` is a global var Swift 6 refuses to read).
func printError(_ message: String) {
    FileHandle.standardError.write(Data(message.utf8))
}
