import Dispatch
import Foundation
import Synchronization

/// One connection and the thread that owns it. Jobs (closures that get the connection) run one at
/// a time, in order, on that thread — never on Swift's cooperative pool — and callers await them
/// through continuations.
final class RedisWorker: Sendable {
    typealias Job = @Sendable (RedisConnection) -> Void

    private struct Queue {
        var jobs: [Job] = []
        var head = 0
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Jobs submitted and not yet finished (for least-loaded dispatch).
    let pending = Atomic<Int>(0)

    init(configuration: RedisConfiguration, name: String) {
        let thread = Thread { [self] in
            let connection = RedisConnection(configuration: configuration)
            self.runLoop(connection)
            connection.close()
            self.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    private func runLoop(_ connection: RedisConnection) {
        while true {
            wakeup.wait()
            let job: Job? = queue.withLock { queue in
                guard queue.head < queue.jobs.count else { return nil }
                let job = queue.jobs[queue.head]
                queue.head += 1
                if queue.head > 64 && queue.head * 2 > queue.jobs.count {
                    queue.jobs.removeFirst(queue.head)
                    queue.head = 0
                }
                return job
            }
            guard let job else { return }  // woken with an empty queue: stop
            job(connection)
            pending.subtract(1, ordering: .relaxed)
        }
    }

    /// Runs `body` with the connection on the worker's thread and returns its result.
    func run<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            let accepted = submit { connection in
                do throws(RedisError) {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    private func submit(_ job: @escaping Job) -> Bool {
        let accepted = queue.withLock { queue in
            if queue.stopped { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted {
            pending.add(1, ordering: .relaxed)
            wakeup.signal()
        }
        return accepted
    }

    /// Lets queued jobs finish, then ends the thread and closes the connection. Blocks until done;
    /// call it from a thread that may block (``RedisClient/close()`` does it off the pool).
    func shutdown() {
        let first = queue.withLock { queue in
            defer { queue.stopped = true }
            return !queue.stopped
        }
        guard first else { return }
        wakeup.signal()  // one extra wake with nothing queued ends the loop
        finished.wait()
    }
}

extension RedisWorker {
    /// Marks the worker stopped and wakes its thread without waiting (for `deinit`).
    func requestStop() {
        let first = queue.withLock { queue in
            defer { queue.stopped = true }
            return !queue.stopped
        }
        if first { wakeup.signal() }
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
