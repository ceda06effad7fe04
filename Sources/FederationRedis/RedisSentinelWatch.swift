import Logging
import Synchronization

/// Asks the Sentinels in turn for the master's address (blocking: call it on a connection's own
/// thread). The Sentinel that answered is asked first the next time.
final class RedisSentinelDiscovery: Sendable {
    let configuration: RedisConfiguration
    let sentinel: RedisSentinelConfiguration
    private let preferred = Atomic<Int>(0)

    init(configuration: RedisConfiguration, sentinel: RedisSentinelConfiguration) {
        self.configuration = configuration
        self.sentinel = sentinel
    }

    /// The master's address as the first Sentinel that knows it says; throws
    /// ``RedisError/connectionFailed(endpoint:detail:)`` naming every Sentinel's problem when none does.
    func masterAddress() throws(RedisError) -> RedisSentinelConfiguration.Address {
        let count = sentinel.sentinels.count
        let start = preferred.load(ordering: .relaxed)
        var problems: [String] = []
        for offset in 0..<count {
            let index = (start + offset) % count
            let address = sentinel.sentinels[index]
            let connection = RedisConnection(configuration: configuration.sentinelEndpoint(address))
            defer { connection.close() }
            do throws(RedisError) {
                try connection.ensureConnected()
                let reply = try connection.execute(
                    RedisCommand("SENTINEL", "get-master-addr-by-name", sentinel.masterName))
                do throws(RedisSentinelError) {
                    let master = try SentinelReplies.masterAddress(
                        reply, sentinel: address.description, master: sentinel.masterName)
                    preferred.store(index, ordering: .relaxed)
                    return master
                } catch {
                    problems.append(error.description)
                }
            } catch {
                problems.append("\(address): \(error)")
            }
        }
        throw .connectionFailed(
            endpoint: sentinel.summary,
            detail: "no Sentinel gave the master's address (\(problems.joined(separator: "; ")))")
    }
}

/// Follows `+switch-master` for one master: a ``RedisSubscriber`` on the Sentinels (one at a
/// time, the next one when it is lost) that counts the switches. A connection remembers the count
/// it connected at and reconnects — asking the Sentinels again — once it has grown, so that no
/// connection stays on a demoted master. Start it before use; ``stop()`` or
/// ``stopAndWaitBlocking()`` ends its thread.
final class RedisSentinelWatch: Sendable {
    let discovery: RedisSentinelDiscovery
    private let switches = RedisCounter()
    private let monitor: RedisSubscriber

    init(configuration: RedisConfiguration, sentinel: RedisSentinelConfiguration, logger: Logger) {
        discovery = RedisSentinelDiscovery(configuration: configuration, sentinel: sentinel)
        let switches = self.switches
        let master = sentinel.masterName
        monitor = RedisSubscriber(
            endpoints: sentinel.sentinels.map { configuration.sentinelEndpoint($0) },
            channels: ["+switch-master"], logger: logger
        ) { event in
            guard case .message(_, let payload, _) = event,
                let address = SentinelReplies.switchedMaster(payload, master: master)
            else { return }
            switches.value.add(1, ordering: .releasing)
            logger.notice(
                "Sentinel switched the Redis master; reconnecting",
                metadata: ["master": "\(master)", "address": "\(address)"])
        }
    }

    /// `+switch-master` announcements for our master seen so far.
    var generation: Int { switches.value.load(ordering: .acquiring) }

    func start() { monitor.start() }

    /// Asks the monitor's thread to stop (returns at once).
    func stop() { monitor.stop() }

    /// Stops the monitor and blocks until its thread ended (call it from a thread that may block).
    func stopAndWaitBlocking() { monitor.stopAndWaitBlocking() }

    /// ``stopAndWaitBlocking()`` awaited without blocking the cooperative pool.
    func stopAndWait() async { await monitor.stopAndWait() }
}

/// A counter that closures can share (an `Atomic` itself cannot be captured).
final class RedisCounter: Sendable {
    let value = Atomic<Int>(0)
}
