import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Asks the kernel for a free TCP port on loopback (bind to port 0, read it, close).
public func freeLoopbackPort() throws -> Int {
    // The kernel hands a port that was just free to the next bind(0) too, and this process starts
    // many servers at once: two tests given the same port would share one redis-server (the
    // second fails to bind, yet its PING is answered by the first) until one of them stops it.
    // So a port is handed out at most once per process.
    for _ in 0..<64 {
        let port = try kernelFreeLoopbackPort()
        if handedOutPorts.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw RedisServerError(message: "no loopback port that this process has not used already")
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func kernelFreeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RedisServerError(message: "socket() failed: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw RedisServerError(message: "bind() failed: \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Spawns `sh` that waits while both this process and `pid` live, then kills `pid`: nothing a
/// test starts outlives a crashed test run.
public func startOrphanWatchdog(for pid: Int32) {
    let watchdog = Process()
    watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
    let me = getpid()
    watchdog.arguments = [
        "-c",
        "while kill -0 \(me) 2>/dev/null && kill -0 \(pid) 2>/dev/null; do sleep 0.3; done; "
            + "kill -9 \(pid) 2>/dev/null; exit 0",
    ]
    watchdog.standardOutput = FileHandle.nullDevice
    watchdog.standardError = FileHandle.nullDevice
    try? watchdog.run()
}
