import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the dashboard could not run.
public struct TopError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The controlling terminal while the dashboard runs: raw mode (termios), the alternate screen,
/// a hidden cursor; ``restore()`` puts all of it back (idempotent — called on `q`, Ctrl-C, a
/// signal and any thrown error).
final class Terminal: Sendable {
    let input: Int32
    let output: Int32
    private let original: Mutex<termios?>
    /// Writes to the terminal run here, in order, never on Swift's cooperative pool (a write to a
    /// terminal that is not being read can block).
    private let writer = DispatchQueue(label: "fedctl-top-output")

    /// Enters raw mode on `input` and the alternate screen on `output`.
    init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) throws {
        guard isatty(input) == 1, isatty(output) == 1 else {
            throw TopError(
                description:
                    "fedctl top needs a terminal: standard input and output must be a TTY (use `fedctl stats`, `fedctl health` … with --json for scripts)."
            )
        }
        self.input = input
        self.output = output
        var saved = termios()
        guard tcgetattr(input, &saved) == 0 else {
            throw TopError(description: "could not read the terminal's settings (tcgetattr): errno \(errno)")
        }
        var raw = saved
        // No echo, no line editing, no signals from keys (Ctrl-C arrives as byte 0x03), no
        // flow control or CR→NL translation on input; output processing stays (OPOST).
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        raw.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSAFLUSH, &raw) == 0 else {
            throw TopError(
                description: "could not put the terminal into raw mode (tcsetattr): errno \(errno)")
        }
        original = Mutex(saved)
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Leaves the alternate screen, shows the cursor, restores the saved termios. Safe to call
    /// more than once and from any thread.
    func restore() {
        guard
            var saved = original.withLock({ value -> termios? in
                defer { value = nil }
                return value
            })
        else { return }
        let (input, output) = (self.input, self.output)
        // After every frame still queued: back to the main screen, then the saved settings.
        writer.sync {
            Self.writeAll("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l", to: output)
            _ = tcsetattr(input, TCSAFLUSH, &saved)
        }
    }

    /// Columns and rows (ioctl TIOCGWINSZ); 80×24 when the terminal does not say.
    var size: (cols: Int, rows: Int) {
        var window = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else {
            return (80, 24)
        }
        return (Int(window.ws_col), Int(window.ws_row))
    }

    /// Queues `text` for the terminal (see `writer`).
    func write(_ text: String) {
        guard !text.isEmpty else { return }
        let output = self.output
        writer.async { Self.writeAll(text, to: output) }
    }

    /// Writes all of `text`; partial writes and EINTR are retried.
    static func writeAll(_ text: String, to output: Int32) {
        guard !text.isEmpty else { return }
        var bytes = Array(text.utf8)
        var offset = 0
        bytes.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                #if canImport(Glibc)
                    let n = Glibc.write(output, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                    let n = Darwin.write(output, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
                if n > 0 {
                    offset += n
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

/// Reads the terminal on a thread of its own (blocking reads never run on Swift's cooperative
/// pool): `poll` with a short timeout so ``stop()`` ends it promptly.
final class InputReader: Sendable {
    private let stopped = Atomic<Bool>(false)

    /// Starts the thread; `deliver` gets every chunk of bytes, `idle` is called when a poll timed
    /// out (a pending lone Escape can then be dropped), `closed` once at end of input.
    func start(
        fd: Int32, deliver: @escaping @Sendable ([UInt8]) -> Void, idle: @escaping @Sendable () -> Void,
        closed: @escaping @Sendable () -> Void
    ) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 512)
            while !stopped.load(ordering: .relaxed) {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, 100)
                if ready == 0 {
                    idle()
                    continue
                }
                if ready < 0 {
                    if errno == EINTR { continue }
                    break
                }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    deliver(Array(buffer[0..<n]))
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    break
                }
            }
            if !stopped.load(ordering: .relaxed) { closed() }
        }
        thread.name = "fedctl-top-input"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// SIGINT, SIGTERM and SIGWINCH as callbacks (DispatchSource; the default actions are disabled
/// while the dashboard runs and put back by ``cancel()``).
final class SignalWatch: Sendable {
    private let sources: Mutex<[any DispatchSourceSignal]>
    private let signals: [Int32]

    init(_ handlers: [(Int32, @Sendable () -> Void)]) {
        signals = handlers.map(\.0)
        var made: [any DispatchSourceSignal] = []
        for (number, handler) in handlers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            made.append(source)
        }
        sources = Mutex(made)
    }

    func cancel() {
        let cancelled = sources.withLock { list -> [any DispatchSourceSignal] in
            defer { list = [] }
            return list
        }
        for source in cancelled { source.cancel() }
        if !cancelled.isEmpty {
            for number in signals { signal(number, SIG_DFL) }
        }
    }
}
