/// One fuzz run over the selected targets (all when `selected` is nil).
public enum FuzzSession {
    public static func run(
        selected: Set<String>?, seed: UInt64, seconds: Double, maxInputs: Int,
        corpus: @escaping @Sendable (String) -> [[UInt8]],
        beforeEach: (@Sendable (String, [UInt8]) -> Void)? = nil
    ) async throws -> [FuzzRunner.Report] {
        let nodeNames = NodeTargets.routes.map(\.name)
        let all = FuzzTarget.controlPlane.map(\.name) + nodeNames
        if let selected, let unknown = selected.subtracting(all).sorted().first {
            throw FuzzSessionError(
                message: "unknown decoder '\(unknown)'; known: \(all.joined(separator: ", "))")
        }
        let chosen = all.filter { selected?.contains($0) ?? true }
        let runner = FuzzRunner(
            seed: seed, maxInputsPerTarget: maxInputs,
            secondsPerTarget: seconds / Double(max(1, chosen.count)),
            beforeEach: beforeEach)
        var reports: [FuzzRunner.Report] = []
        for target in FuzzTarget.controlPlane where chosen.contains(target.name) {
            reports.append(await runner.run(target, corpus: corpus(target.name)))
        }
        if chosen.contains(where: nodeNames.contains) {
            let nodeReports = try await NodeTargets.withTargets { targets in
                var result: [FuzzRunner.Report] = []
                for target in targets where chosen.contains(target.name) {
                    result.append(await runner.run(target, corpus: corpus(target.name)))
                }
                return result
            }
            reports += nodeReports
        }
        return reports
    }
}

/// A fuzz run that cannot start (an unknown decoder name).
public struct FuzzSessionError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
