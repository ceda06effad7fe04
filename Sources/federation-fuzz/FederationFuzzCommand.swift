import ArgumentParser
import FederationFuzzing
import Foundation

/// Feeds every decoder of outside bytes its committed corpus and seeded mutations of it, within a
/// time and input budget; prints per decoder how many inputs it tried, and exits non-zero on a
/// contract failure. A trap (the class of bug this hunts) kills the process: CI fails.
@main
struct FederationFuzzCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-fuzz",
        abstract: "Fuzz every decoder that takes outside bytes (see docs/CORE.md, Fuzzing).")

    @Option(help: "Total time budget in seconds, shared evenly by the decoders.")
    var seconds: Double = 30

    @Option(help: "At most this many inputs per decoder.")
    var inputs: Int = 1_000_000

    @Option(help: "Seed of the mutation RNG (a run repeats from its seed).")
    var seed: UInt64 = 1

    @Option(help: "The corpus folder: one sub-folder per decoder.")
    var corpus: String = "Tests/Fuzz/corpus"

    @Option(help: "Run only these decoders (comma-separated).")
    var only: String?

    @Option(help: "Write every input to this file before it runs (slow; shows the input that trapped).")
    var keepInput: String?

    mutating func run() async throws {
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        let seconds = self.seconds
        let maxInputs = self.inputs
        let seed = self.seed
        let corpusRoot = self.corpus
        print("federation-fuzz: seed \(seed), \(seconds) s, at most \(maxInputs) inputs per decoder")
        let reports = try await FuzzSession.run(
            selected: selected, seed: seed, seconds: seconds, maxInputs: maxInputs,
            corpus: { name in Self.loadCorpus(root: corpusRoot, target: name) },
            beforeEach: try keepInput.map { path in try InputKeeper(path: path).keep })
        var total = 0
        var failures = 0
        for report in reports {
            total += report.inputs
            failures += report.failures
            print(
                "  \(report.target.padding(toLength: 18, withPad: " ", startingAt: 0)) "
                    + "\(report.inputs) inputs, \(report.accepted) accepted, \(report.rejected) rejected, "
                    + "\(report.failures) failures, 0 crashes")
            if let first = report.firstFailure { print("    first failure: \(first)") }
        }
        print("federation-fuzz: \(total) inputs, \(failures) failures, 0 crashes")
        if failures > 0 { throw ExitCode.failure }
    }

    /// Keeps the current input in a file: one open descriptor, truncated and rewritten per input.
    struct InputKeeper: Sendable {
        let descriptor: Int32

        init(path: String) throws {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { throw ValidationError("cannot open --keep-input file '\(path)'") }
        }

        @Sendable func keep(_ target: String, _ bytes: [UInt8]) {
            let record = Array("\(target)\n".utf8) + bytes
            _ = ftruncate(descriptor, 0)
            _ = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
    }

    /// Every file of `root/target`, sorted by name.
    static func loadCorpus(root: String, target: String) -> [[UInt8]] {
        let folder = URL(fileURLWithPath: root).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { Array($0) }
        }
    }
}
