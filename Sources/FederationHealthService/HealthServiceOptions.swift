#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Settings of the health service that are not in the shared configuration file: leader lease,
/// loop timings and the test hooks. The defaults suit production.
public struct HealthServiceOptions: Sendable {
    /// This instance's id in the leader lease (default `health-<host>-<random>`).
    public var instanceId: String
    /// Whether instances elect a leader through `{ns}:health-leader` (on by default, so standby
    /// replicas can run beside the active writer). Off: this instance always leads.
    public var leaseEnabled = true
    /// How long a lease lives without renewal.
    public var leaseDuration: Duration = .seconds(5)
    /// How often the leader renews and a standby tries to acquire.
    public var leaseRenewInterval: Duration = .milliseconds(1500)
    /// How often the catalog version is checked.
    public var catalogPollInterval: Duration = .seconds(1)
    /// At most one write per node per this interval for records whose state did not change.
    public var writeInterval: Duration = .milliseconds(250)
    /// How often the writer looks for due writes and open circuits whose deadline passed.
    public var tickInterval: Duration = .milliseconds(50)
    /// Largest `POST /v1/reports` body.
    public var maxReportBytes = 64 * 1024
    /// Called with the bound port once the HTTP server listens (tests start it on port 0).
    public var onServerRunning: @Sendable (_ port: Int) async -> Void = { _ in }

    /// Default options with a fresh instance id.
    public init() {
        // gethostname, not ProcessInfo.hostName (which may resolve the name: a blocking lookup).
        var buffer = [CChar](repeating: 0, count: 256)
        let name =
            gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "host"
        let host = name.prefix(40).filter { $0.isLetter || $0.isNumber || $0 == "-" }
        instanceId = "health-\(host)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}
