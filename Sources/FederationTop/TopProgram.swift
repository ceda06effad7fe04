import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `fedctl top`: the live dashboard. Takes the terminal (raw mode, alternate screen), refreshes a
/// ``TopSnapshot`` every ``TopOptions/interval``, redraws only the lines that changed, and gives
/// the terminal back on `q`, Ctrl-C, SIGINT/SIGTERM and on any error.
public enum TopProgram {
    enum Event: Sendable {
        case input([UInt8])
        case inputIdle
        case inputClosed
        case snapshot(TopSnapshot)
        case resize
        case signal(Int32)
    }

    /// Runs until the operator quits. Throws ``TopError`` when standard input/output is not a
    /// terminal (nothing was changed then).
    public static func run(_ options: TopOptions) async throws {
        let terminal = try Terminal()
        let (events, continuation) = AsyncStream.makeStream(
            of: Event.self, bufferingPolicy: .bufferingNewest(512))
        let reader = InputReader()
        let signals = SignalWatch([
            (SIGINT, { @Sendable in continuation.yield(.signal(SIGINT)) }),
            (SIGTERM, { @Sendable in continuation.yield(.signal(SIGTERM)) }),
            (SIGWINCH, { @Sendable in continuation.yield(.resize) }),
        ])
        defer {
            reader.stop()
            signals.cancel()
            terminal.restore()
            continuation.finish()
        }
        reader.start(
            fd: terminal.input, deliver: { continuation.yield(.input($0)) },
            idle: { continuation.yield(.inputIdle) }, closed: { continuation.yield(.inputClosed) })
        try await TopFetcher.with(options) { fetcher in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let clock = ContinuousClock()
                    while !Task.isCancelled {
                        let next = clock.now + options.interval
                        continuation.yield(.snapshot(await fetcher.fetch()))
                        try await Task.sleep(until: next, clock: clock)
                    }
                }
                group.addTask {
                    var loop = DashboardLoop(options: options, size: terminal.size)
                    terminal.write(loop.frame(force: true))
                    for await event in events {
                        guard loop.handle(event, size: { terminal.size }) else { break }
                        terminal.write(loop.frame(force: loop.needsFullRedraw))
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// The dashboard's state between events: the last snapshot, the UI state, the screen size and
/// the frame differ. Pure apart from the size it is handed, so tests can drive it.
struct DashboardLoop {
    var snapshot = TopSnapshot()
    var previous: TopSnapshot?
    var ui = UIState()
    var size: (cols: Int, rows: Int)
    var decoder = InputDecoder()
    var differ = FrameDiffer()
    var needsFullRedraw = true

    init(options: TopOptions, size: (cols: Int, rows: Int)) {
        self.size = size
        snapshot.sources[.catalog] = options.catalog
        snapshot.sources[.health] = options.health
        snapshot.sources[.router] = options.router
        for gateway in options.gateways { snapshot.sources[.gateway(gateway)] = gateway }
    }

    /// Applies `event`; false when the program should end.
    mutating func handle(_ event: TopProgram.Event, size current: () -> (cols: Int, rows: Int)) -> Bool {
        switch event {
        case .input(let bytes):
            for key in decoder.feed(bytes) {
                guard ui.apply(key, page: TopRenderer.pageSize(rows: size.rows)) else { return false }
            }
        case .inputIdle:
            if decoder.isPending { decoder.reset() }
        case .inputClosed, .signal:
            return false
        case .snapshot(var next):
            next.requestsPerSecond = TopSnapshot.requestRate(
                from: snapshot.fetchedAtMs > 0 ? snapshot : nil, to: next)
            previous = snapshot
            snapshot = next
        case .resize:
            size = current()
            needsFullRedraw = true
        }
        let (snapshot, size) = (self.snapshot, self.size)
        ui.clamp { TopRenderer.maximumOffset(snapshot, tab: $0, size: size) }
        return true
    }

    /// The output that brings the screen up to date (empty when nothing changed).
    mutating func frame(force: Bool) -> String {
        let lines = TopRenderer.render(snapshot, state: ui, size: size)
        needsFullRedraw = false
        return differ.update(to: lines, force: force)
    }
}
