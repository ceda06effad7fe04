import ArgumentParser
import AsyncHTTPClient
import FederationCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The benchmark's load generator (bench/gateway/README.md).
@main
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-loadgen",
        abstract: "Open-loop HTTP/1.1 load: fixed arrival rate, latency from the intended send time.",
        subcommands: [OpenLoopCommand.self, PropagationCommand.self], defaultSubcommand: OpenLoopCommand.self)
}

/// Flags both subcommands share.
struct CommonOptions: ParsableArguments {
    @Option(help: "A JSON file sent as the request body (POST); none: GET.")
    var body: String?

    @Option(name: .customLong("header"), help: "An extra request header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Flag(help: "Print the report as JSON instead of text.")
    var json = false

    func bodyBytes() throws -> [UInt8]? {
        guard let body else { return nil }
        guard let data = FileManager.default.contents(atPath: body) else {
            throw LoadgenError("--body \(body): cannot read that file")
        }
        return Array(data)
    }

    func parsedHeaders() throws -> [(String, String)] { try headers.map { try parseHeader($0) } }
}

/// Seconds from a flag as nanoseconds, rejecting what is not a finite number in `range`.
func nanoseconds(_ seconds: Double, flag: String, range: ClosedRange<Double>) throws -> UInt64 {
    guard seconds.isFinite, range.contains(seconds) else {
        throw LoadgenError(
            "\(flag) \(seconds) must be a number of seconds in \(range.lowerBound)…\(range.upperBound)")
    }
    return UInt64(saturating: (seconds * 1e9).rounded())
}

/// Load average as /proc/loadavg prints it (first three fields).
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// User + system CPU time of this process, in microseconds.
func processCPUMicroseconds() -> Double {
    var usage = rusage()
    guard getrusage(Int32(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    func us(_ t: timeval) -> Double { Double(t.tv_sec) * 1e6 + Double(t.tv_usec) }
    return us(usage.ru_utime) + us(usage.ru_stime)
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
