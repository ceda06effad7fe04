import Foundation

/// `fedctl cluster up|down|status`: runs the repository's `scripts/cluster` (the local launcher).
public enum ClusterScript {
    /// Where `scripts/cluster` is: `repository` (flag or `FEDCTL_REPO`) when given, else the first
    /// folder that has it going up from the current directory, then from the executable's folder
    /// (`.build/debug/fedctl` lives inside the repository).
    public static func locate(
        repository: String?, currentDirectory: String = FileManager.default.currentDirectoryPath,
        executable: String = CommandLine.arguments.first ?? ""
    ) throws -> String {
        if let repository {
            let script = URL(fileURLWithPath: repository).appendingPathComponent("scripts/cluster").path
            guard FileManager.default.isExecutableFile(atPath: script) else {
                throw CtlError.failed(
                    "\(script) does not exist or is not executable; --repo / FEDCTL_REPO must name the repository's folder"
                )
            }
            return script
        }
        var starts = [URL(fileURLWithPath: currentDirectory)]
        if !executable.isEmpty {
            starts.append(
                URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for start in starts {
            var folder = start.standardizedFileURL
            while true {
                let script = folder.appendingPathComponent("scripts/cluster").path
                if FileManager.default.isExecutableFile(atPath: script) { return script }
                if folder.path == "/" { break }
                folder.deleteLastPathComponent()
            }
        }
        throw CtlError.failed(
            "scripts/cluster not found above \(currentDirectory) nor above the fedctl executable; run fedctl from the "
                + "repository (or pass --repo DIR, or set FEDCTL_REPO)")
    }

    /// Runs `script action` with the terminal inherited and returns its exit status.
    public static func run(
        script: String, arguments: [String], environment: [String: String] = [:]
    ) async throws
        -> Int32
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        return try await exitStatus(of: process) { CtlError.failed("cannot run \(script): \($0)") }
    }
}

/// Starts `process` and waits (without blocking a thread) for its exit status; `notStarted` names
/// the failure when it cannot start.
func exitStatus(of process: Process, notStarted: (any Error) -> CtlError) async throws -> Int32 {
    try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: notStarted(error))
        }
    }
}
