import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One of this package's executables started as a real process for a test, with its output in a
/// log file that failure messages point to. Stopped with SIGTERM (then SIGKILL) by `stop()`, on
/// deinit, and by a watchdog if the test process dies.
public final class ServiceProcess: Sendable {
    public let name: String
    public let logFile: String
    private let process: Mutex<Process?>

    /// Where `swift build` put the executables: `FEDERATION_BIN_PATH`, else the folder of the
    /// running test bundle (which `swift build --build-tests` fills with every executable).
    public static var binDirectory: String {
        if let path = ProcessInfo.processInfo.environment["FEDERATION_BIN_PATH"] { return path }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("federation-node").path)
        {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    /// Starts `executable` (a name in `binDirectory`) with `arguments`.
    public init(
        _ executable: String, arguments: [String], environment: [String: String] = [:], logDirectory: String
    ) throws {
        let path = Self.binDirectory + "/" + executable
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw RedisServerError(
                message:
                    "\(path) is not built; run `swift build --build-tests` before `swift test --skip-build`")
        }
        name = executable
        logFile = logDirectory + "/\(executable)-\(UInt32.random(in: 0...UInt32.max)).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: path)
        child.arguments = arguments
        child.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        child.standardOutput = handle
        child.standardError = handle
        try child.run()
        process = Mutex(child)
        startOrphanWatchdog(for: child.processIdentifier)
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The last part of the log, for failure messages.
    public var logTail: String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "(no log)"
        return "\(name) log \(logFile):\n" + text.suffix(3000)
    }

    /// Sends `signal` (e.g. SIGTERM to start a drain) without waiting for the process.
    public func send(signal: Int32) {
        guard let child = process.withLock({ $0 }), child.isRunning else { return }
        kill(child.processIdentifier, signal)
    }

    /// SIGTERM, up to `grace` for a graceful exit, then SIGKILL. Returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32? {
        guard let child = process.withLock({ $0 }) else { return nil }
        if child.isRunning {
            kill(child.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while child.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }
        child.waitUntilExit()
        process.withLock { $0 = nil }
        return child.terminationStatus
    }

    deinit {
        if let child = process.withLock({ $0 }), child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        }
    }
}
