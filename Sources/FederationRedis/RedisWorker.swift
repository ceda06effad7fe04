import Dispatch
import Foundation
import Synchronization

/// One connection and the thread that owns it. Jobs (closures that get the connection) run one at
/// a time, in order, on that thread — never on Swift's cooperative pool — and callers await them
/// through continuations.
///
/// The thread is woken only when it sleeps (no semaphore traffic while busy). It can poll its
/// queue for a while (`spin`) before sleeping; measured on this 2-core host that did not pay off
/// (the spinning thread takes the core the caller or Redis needs), so the default is zero.
final class RedisWorker: Sendable {
    typealias Reply = CheckedContinuation<Result<[RedisValue], RedisError>, Never>

    enum Job: Sendable {
        /// Any work with the connection (scripts with NOSCRIPT handling).
        case closure(@Sendable (RedisConnection) -> Void)
        /// Commands whose replies go back as one array. Consecutive queued `commands` jobs are
        /// written together and read together: concurrent callers are pipelined automatically.
        case commands([RedisCommand], Reply)
    }

    /// The most commands one automatic batch combines.
    static let batchLimit = 1024

    private struct Queue {
        var jobs: [Job] = []
        var head = 0
        var stopped = false
        /// The thread waits on `wakeup`; the next submit must signal it.
        var sleeping = false

        /// The next job, or — when it is `commands` — every directly following `commands` job too.
        mutating func pop() -> [Job]? {
            guard head < jobs.count else { return nil }
            var taken = [jobs[head]]
            head += 1
            if var count = taken[0].commandCount {
                while head < jobs.count, let more = jobs[head].commandCount,
                    count + more <= RedisWorker.batchLimit
                {
                    taken.append(jobs[head])
                    head += 1
                    count += more
                }
            }
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return taken
        }
    }

    private enum Next {
        case run([Job])
        case stop
        case sleep
        case empty
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let spin: Duration
    /// Jobs submitted and not yet finished (for least-loaded dispatch).
    let pending = Atomic<Int>(0)

    /// Shared with the pool's other workers (availability, connect count).
    private let pool: RedisPoolState

    init(
        configuration: RedisConfiguration, name: String, pool: RedisPoolState,
        sentinelWatch: RedisSentinelWatch? = nil, spin: Duration = .zero
    ) {
        self.spin = spin
        self.pool = pool
        let thread = Thread { [self] in
            let connection = RedisConnection(configuration: configuration, pool: pool, watch: sentinelWatch)
            self.runLoop(connection)
            connection.close()
            self.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    private func next(maySleep: Bool) -> Next {
        queue.withLock { queue in
            if let job = queue.pop() { return .run(job) }
            if queue.stopped { return .stop }
            if maySleep {
                queue.sleeping = true
                return .sleep
            }
            return .empty
        }
    }

    private func runLoop(_ connection: RedisConnection) {
        var spinUntil = ContinuousClock.now
        while true {
            let maySleep = ContinuousClock.now >= spinUntil
            switch next(maySleep: maySleep) {
            case .run(let jobs):
                execute(jobs, on: connection)
                pending.subtract(jobs.count, ordering: .relaxed)
                spinUntil = ContinuousClock.now + spin
            case .stop:
                return
            case .sleep:
                wakeup.wait()
            case .empty:
                continue
            }
        }
    }

    private func execute(_ jobs: [Job], on connection: RedisConnection) {
        if jobs.count == 1, case .closure(let body) = jobs[0] {
            body(connection)
            return
        }
        var commands: [RedisCommand] = []
        var replies: [(Int, Reply)] = []
        for job in jobs {
            guard case .commands(let batch, let reply) = job else { continue }
            commands.append(contentsOf: batch)
            replies.append((batch.count, reply))
        }
        do throws(RedisError) {
            try connection.ensureConnected()
            let values = try connection.pipeline(commands)
            pool.record(nil)
            var start = 0
            for (count, reply) in replies {
                reply.resume(returning: .success(Array(values[start..<start + count])))
                start += count
            }
        } catch {
            pool.record(error)
            for (_, reply) in replies { reply.resume(returning: .failure(error)) }
        }
    }

    /// Sends `commands` (connecting first when needed) and returns their replies; batched with
    /// other callers' commands queued at the same time.
    func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        let result: Result<[RedisValue], RedisError> = await withCheckedContinuation { continuation in
            if !submit(.commands(commands, continuation)) {
                continuation.resume(returning: .failure(.closed))
            }
        }
        return try result.get()
    }

    /// Runs `body` with the connection on the worker's thread and returns its result.
    func run<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            let accepted = submit(
                .closure { connection in
                    do throws(RedisError) {
                        let value = try body(connection)
                        self.pool.record(nil)
                        continuation.resume(returning: .success(value))
                    } catch {
                        self.pool.record(error)
                        continuation.resume(returning: .failure(error))
                    }
                })
            if !accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    private func submit(_ job: Job) -> Bool {
        let (accepted, wake) = queue.withLock { queue in
            if queue.stopped { return (false, false) }
            queue.jobs.append(job)
            defer { queue.sleeping = false }
            return (true, queue.sleeping)
        }
        if accepted { pending.add(1, ordering: .relaxed) }
        if wake { wakeup.signal() }
        return accepted
    }

    /// Lets queued jobs finish, then ends the thread and closes the connection. Blocks until done;
    /// call it from a thread that may block (``RedisClient/close()`` does it off the pool).
    func shutdown() {
        requestStop()
        finished.wait()
        finished.signal()  // later callers pass too
    }

    /// Marks the worker stopped and wakes its thread without waiting (for `deinit`).
    func requestStop() {
        let wake = queue.withLock { queue in
            queue.stopped = true
            defer { queue.sleeping = false }
            return queue.sleeping
        }
        if wake { wakeup.signal() }
    }

    /// ``shutdown()`` on a thread of its own, awaited without blocking the cooperative pool.
    func shutdownWithoutBlockingThePool() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                self.shutdown()
                continuation.resume()
            }
            thread.start()
        }
    }
}

extension RedisWorker.Job {
    /// The number of commands of a `commands` job; nil for a closure.
    fileprivate var commandCount: Int? {
        if case .commands(let commands, _) = self { return commands.count }
        return nil
    }
}
