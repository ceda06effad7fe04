import FederationCore

/// Runs targets over their corpus and mutations within an input and time budget, and counts.
public struct FuzzRunner: Sendable {
    /// The counts for one target.
    public struct Report: Sendable, Equatable {
        public var target: String
        public var inputs = 0
        public var accepted = 0
        public var rejected = 0
        public var failures = 0
        public var firstFailure: String?
    }

    public var seed: UInt64
    public var maxInputsPerTarget: Int
    public var secondsPerTarget: Double
    /// Called with each input before it runs (`--keep-input` writes it to a file, so the input
    /// that trapped is on disk after the crash).
    public var beforeEach: (@Sendable (String, [UInt8]) -> Void)?

    public init(
        seed: UInt64, maxInputsPerTarget: Int, secondsPerTarget: Double,
        beforeEach: (@Sendable (String, [UInt8]) -> Void)? = nil
    ) {
        self.seed = seed
        self.maxInputsPerTarget = maxInputsPerTarget
        self.secondsPerTarget = secondsPerTarget
        self.beforeEach = beforeEach
    }

    /// Runs every corpus entry once, then mutations, until either budget is spent. The RNG is
    /// seeded from `seed` and the target's name, so one target's run repeats on its own
    /// (`--only`).
    public func run(_ target: FuzzTarget, corpus: [[UInt8]]) async -> Report {
        var report = Report(target: target.name)
        let seeds = corpus.isEmpty ? [Array("{}".utf8)] : corpus
        let mutator = Mutator(seed: seed ^ Self.hash(target.name))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(secondsPerTarget))
        var index = 0
        while report.inputs < maxInputsPerTarget {
            let input: [UInt8]
            if index < seeds.count {
                input = seeds[index]
            } else {
                let base = seeds[mutator.random.next(below: seeds.count)]
                let other = seeds[mutator.random.next(below: seeds.count)]
                input = mutator.mutate(base, other: other)
            }
            index += 1
            beforeEach?(target.name, input)
            record(await target.run(input), input: input, in: &report)
            if report.inputs % 64 == 0, clock.now >= deadline { break }
        }
        return report
    }

    private func record(_ outcome: FuzzOutcome, input: [UInt8], in report: inout Report) {
        report.inputs += 1
        switch outcome {
        case .accepted: report.accepted += 1
        case .rejected: report.rejected += 1
        case .failure(let why):
            report.failures += 1
            if report.firstFailure == nil {
                let shown = String(decoding: input.prefix(300), as: UTF8.self)
                report.firstFailure = "\(why) — input: \(shown)"
            }
        }
    }

    /// FNV-1a of the name.
    static func hash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
