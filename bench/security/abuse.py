"""HTTP abuse against the gateway while a well-behaved client keeps sending requests: slowloris,
oversize headers, oversize bodies, malformed HTTP, many idle connections. Every attack runs on raw
sockets (selectors, one thread); the well-behaved client is the official `openai` package on a
kept-alive connection plus a probe that opens a fresh connection for each request (it sees the
accept queue, which a kept-alive connection never does). The gateway's RSS is sampled every
200 ms. Everything counted here is measured in this run."""

from __future__ import annotations

import errno
import http.client
import json
import random
import selectors
import socket
import threading
import time

from cluster import SecurityCluster, rss_kib

# Set when the run is interrupted: attack workers stop taking new requests.
STOP = threading.Event()

CHAT = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# ---- the well-behaved client and the RSS sampler --------------------------------------------
class Observer:
    """Runs, until stopped: the openai client (kept-alive) at `rate` req/s, a fresh-connection
    probe at `fresh_rate` req/s, and the RSS sampler. Results are (time, latency s, ok, what)."""

    def __init__(self, cluster: SecurityCluster, rate: float = 20, fresh_rate: float = 4):
        import openai

        self.cluster = cluster
        self.client = openai.OpenAI(base_url=cluster.url["gateway"] + "/v1", api_key=cluster.api_keys["acme"],
                                    max_retries=0, timeout=5)
        self.rate, self.fresh_rate = rate, fresh_rate
        self.kept: list[tuple[float, float, bool, str]] = []
        self.fresh: list[tuple[float, float, bool, str]] = []
        self.rss: list[tuple[float, int]] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._kept, daemon=True),
                        threading.Thread(target=self._fresh, daemon=True),
                        threading.Thread(target=self._sample, daemon=True)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _paced(self, rate: float, send, into: list) -> None:
        interval = 1 / rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            now = time.monotonic()
            if now < next_at:
                self.stopping.wait(next_at - now)
                continue
            start = time.monotonic()
            try:
                what = send()
                into.append((start, time.monotonic() - start, what == "200", what))
            except Exception as error:  # noqa: BLE001 — every failure is counted by its kind
                into.append((start, time.monotonic() - start, False, type(error).__name__))
            next_at += interval
            if next_at < time.monotonic() - 1:
                next_at = time.monotonic()  # a stall longer than 1 s: do not burst afterwards

    def _kept(self) -> None:
        def send():
            completion = self.client.chat.completions.create(**CHAT)
            return "200" if completion.choices else "empty"

        self._paced(self.rate, send, self.kept)

    def _fresh(self) -> None:
        body = json.dumps(CHAT)
        port = self.cluster.ports["gateway"]

        def send():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("POST", "/v1/chat/completions", body,
                                   {"Content-Type": "application/json",
                                    "Authorization": f"Bearer {self.cluster.api_keys['acme']}"})
                response = connection.getresponse()
                response.read()
                return str(response.status)
            finally:
                connection.close()

        self._paced(self.fresh_rate, send, self.fresh)

    def _sample(self) -> None:
        pid = self.cluster.pids["gateway"]
        while not self.stopping.is_set():
            value = rss_kib(pid)
            if value is not None:
                self.rss.append((time.monotonic(), value))
            self.stopping.wait(0.2)

    def window(self, start: float, end: float) -> dict:
        def summary(results):
            inside = [r for r in results if start <= r[0] < end]
            latencies = [r[1] * 1000 for r in inside if r[2]]
            failures: dict[str, int] = {}
            for r in inside:
                if not r[2]:
                    failures[r[3]] = failures.get(r[3], 0) + 1
            return {"sent": len(inside), "ok": sum(1 for r in inside if r[2]), "failed": len(inside) - len(latencies),
                    "failures": failures, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
                    "max_ms": max(latencies) if latencies else None}

        return {"kept": summary(self.kept), "fresh": summary(self.fresh)}

    def rss_at(self, moment: float) -> int | None:
        before = [value for t, value in self.rss if t <= moment]
        return before[-1] if before else None

    def rss_peak(self, start: float, end: float) -> int | None:
        inside = [value for t, value in self.rss if start <= t <= end]
        return max(inside) if inside else None


# ---- raw connections ---------------------------------------------------------------------------
def open_many(port: int, count: int, timeout: float = 20) -> tuple[list[socket.socket], int, dict]:
    """Opens `count` TCP connections (non-blocking connect, in waves of 500); returns the
    connected sockets, how many failed, and when each connected."""
    connected, failed = [], 0
    connected_at: dict = {}
    selector = selectors.DefaultSelector()
    pending = 0
    for wave in range(0, count, 500):
        for _ in range(min(500, count - wave)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(("127.0.0.1", port))
            if code in (0, errno.EINPROGRESS):
                selector.register(sock, selectors.EVENT_WRITE)
                pending += 1
            else:
                sock.close()
                failed += 1
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                selector.unregister(sock)
                pending -= 1
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.append(sock)
                    connected_at[sock] = time.monotonic()
                else:
                    sock.close()
                    failed += 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()
        failed += 1
    selector.close()
    return connected, failed, connected_at


def count_responses(port: int, payload: bytes, wait: float = 2) -> str:
    """Sends `payload` and reads until the server closes or `wait` passes: the status codes of every
    response in order (a smuggled second request shows as a second response)."""
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
            sock.sendall(payload)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    statuses = [line.split(b" ")[1].decode() for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]
    return "+".join(statuses) if statuses else "closed"


def send_raw(port: int, payload: bytes, timeout: float = 5, read_limit: int = 65536) -> str:
    """Sends `payload` on a new connection and returns what came back: the status code of the
    first response line, 'closed' (no answer), 'reset' or 'timeout'."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            try:
                sock.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            data = b""
            try:
                while b"\r\n" not in data and len(data) < read_limit:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                return status_of(data) or "reset"
            return status_of(data) or "closed"
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"


def status_of(data: bytes) -> str | None:
    if data.startswith(b"HTTP/"):
        parts = data.split(b" ", 2)
        if len(parts) >= 2:
            return parts[1].decode(errors="replace")
    return None


def tally(results: list[str]) -> dict:
    counts: dict[str, int] = {}
    for result in results:
        counts[result] = counts.get(result, 0) + 1
    return dict(sorted(counts.items()))


def parallel(function, items: list, workers: int = 8) -> list:
    results: list = [None] * len(items)
    index = iter(range(len(items)))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = next(index, None)
            if i is None or STOP.is_set():
                return
            results[i] = function(items[i])

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---- the attacks -------------------------------------------------------------------------------
def slowloris(cluster: SecurityCluster, connections: int, duration: float) -> dict:
    """`connections` connections each send a request line, then one header line per second,
    never finishing the head. Counts how the gateway ends them (408 + close, by header_timeout)."""
    port = cluster.ports["gateway"]
    started = time.monotonic()
    socks, failed, opened_at = open_many(port, connections)
    for sock in socks:
        try:
            sock.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n")
        except OSError:
            pass
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    ended: dict[socket.socket, tuple[float, str]] = {}
    next_trickle = time.monotonic() + 1
    while time.monotonic() - started < duration:
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
                what = status_of(data) or ("closed" if not data else "data")
            except OSError:
                what = "reset"
            if what != "data":
                ended[sock] = (time.monotonic() - opened_at[sock], what)
                selector.unregister(sock)
        if time.monotonic() >= next_trickle:
            for sock in socks:
                if sock not in ended:
                    try:
                        sock.send(b"X-Slow: %d\r\n" % random.randrange(10**6))
                    except OSError:
                        pass
            next_trickle += 1
    still_open = [sock for sock in socks if sock not in ended]
    for sock in socks:
        sock.close()
    selector.close()
    lifetimes = [seconds for seconds, _ in ended.values()]
    return {"connections": connections, "connected": len(socks), "connect_failed": failed,
            "ended_by_gateway": tally([what for _, what in ended.values()]), "still_open_at_end": len(still_open),
            "lifetime_p50_s": percentile(lifetimes, 50), "lifetime_max_s": max(lifetimes) if lifetimes else None}


def oversize_headers(cluster: SecurityCluster, repeat: int) -> dict:
    port = cluster.ports["gateway"]
    key = cluster.api_keys["acme"]
    body = json.dumps(CHAT).encode()

    def request(extra: bytes, target: bytes = b"/v1/chat/completions") -> bytes:
        return (b"POST " + target + b" HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " + key.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
                + extra + b"\r\n" + body)

    kinds = {
        "one 16 KiB header (control: within limits?)": request(b"X-Big: " + b"a" * 16384 + b"\r\n"),
        "one 100 KiB header": request(b"X-Big: " + b"a" * 102400 + b"\r\n"),
        "one 1 MiB header": request(b"X-Big: " + b"a" * 1048576 + b"\r\n"),
        "10,000 small headers": request(b"".join(b"X-H%d: v\r\n" % i for i in range(10000))),
        "a 100 KiB URL": request(b"", b"/v1/chat/completions?" + b"q" * 102400),
        "a 1 MiB X-Federation-Session": request(b"X-Federation-Session: " + b"s" * 1048576 + b"\r\n"),
    }
    return {name: tally(parallel(lambda payload: send_raw(port, payload), [payload] * repeat, workers=4))
            for name, payload in kinds.items()}


def oversize_bodies(cluster: SecurityCluster, repeat: int) -> dict:
    """The gateway's max_body_bytes is 8 MiB (default)."""
    port = cluster.ports["gateway"]
    key = cluster.api_keys["acme"].encode()
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " + key
            + b"\r\nContent-Type: application/json\r\n")

    def declared_only(size: int) -> bytes:  # announces a huge body, sends 64 KiB of it
        return head + b"Content-Length: %d\r\n\r\n" % size + b"x" * 65536

    nine_mib = b'{"model":"llama-3-8b","messages":[{"role":"user","content":"' + b"a" * (9 * 1048576) + b'"}]}'

    def chunked(total: int) -> bytes:
        chunk = b"a" * 65536
        return (head + b"Transfer-Encoding: chunked\r\n\r\n"
                + b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(total // len(chunk))) + b"0\r\n\r\n")

    kinds = {
        "Content-Length 100 GiB declared": declared_only(100 * 1024**3),
        "Content-Length 2^64+1 (overflow)": head + b"Content-Length: 18446744073709551617\r\n\r\n" + b"x" * 1024,
        "9 MiB body sent in full": head + b"Content-Length: %d\r\n\r\n" % len(nine_mib) + nine_mib,
        "20 MiB chunked body": chunked(20 * 1048576),
    }
    return {name: tally(parallel(lambda payload: send_raw(port, payload, timeout=15), [payload] * repeat, workers=4))
            for name, payload in kinds.items()}


def malformed(cluster: SecurityCluster, repeat: int) -> dict:
    port = cluster.ports["gateway"]
    key = cluster.api_keys["acme"].encode()
    auth = b"Authorization: Bearer " + key + b"\r\n"
    body = json.dumps(CHAT).encode()
    rng = random.Random(11)
    kinds = {
        "random binary (1 KiB)": bytes(rng.randrange(256) for _ in range(1024)),
        "invalid method 'G@T'": b"G@T /v1/models HTTP/1.1\r\nHost: g\r\n\r\n",
        "HTTP/9.9": b"GET /v1/models HTTP/9.9\r\nHost: g\r\n\r\n",
        "HTTP/0.9 request line": b"GET /v1/models\r\n\r\n",
        "header without colon": b"GET /v1/models HTTP/1.1\r\nHost: g\r\nNoColonHere\r\n\r\n",
        "space before colon": b"GET /v1/models HTTP/1.1\r\nHost : g\r\n\r\n",
        "NUL in a header value": b"GET /v1/models HTTP/1.1\r\nHost: g\r\nX-A: a\x00b\r\n\r\n",
        "bare LF line ends": b"GET /v1/models HTTP/1.1\nHost: g\n\n",
        "obs-fold continuation": b"GET /v1/models HTTP/1.1\r\nHost: g\r\nX-A: a\r\n b\r\n\r\n",
        "Content-Length and chunked (smuggling)": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: g\r\n\r\n",
        "two different Content-Length": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
        + b"Content-Length: %d\r\nContent-Length: 5\r\n\r\n" % len(body) + body,
        "negative Content-Length": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth + b"Content-Length: -1\r\n\r\n",
        "invalid chunk size": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "64 KiB request line": b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: g\r\n\r\n",
        "invalid JSON body": b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
        + b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"model\":",
        "JSON nested 100,000 deep": (lambda nested: b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
                                     + b"Content-Length: %d\r\n\r\n" % len(nested) + nested)(b"[" * 100000 + b"]" * 100000),
        "model of 1 MiB": (lambda big: b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + auth
                           + b"Content-Length: %d\r\n\r\n" % len(big) + big)(
            b'{"model":"' + b"m" * 1048576 + b'","messages":[]}'),
    }
    results = {name: tally(parallel(lambda payload: send_raw(port, payload), [payload] * repeat, workers=4))
               for name, payload in kinds.items()}
    smuggle = kinds["Content-Length and chunked (smuggling)"]
    results["Content-Length and chunked: every response on the connection"] = tally(
        [count_responses(port, smuggle) for _ in range(min(repeat, 5))])
    return results


def idle_connections(cluster: SecurityCluster, count: int, hold: float) -> dict:
    """Opens `count` connections that never send a byte (at most 500 connecting at once) and
    keeps each until the gateway ends it or `hold` seconds after the last one connected. The
    gateway's header_timeout_ms (10 s by default) ends a connection without a request head, so
    `open_at_peak` (the most open at one moment) is what the gateway held at once."""
    port = cluster.ports["gateway"]
    selector = selectors.DefaultSelector()
    started = time.monotonic()
    connecting = connected = failed = open_now = open_at_peak = 0
    opened_at: dict = {}
    ended: list[tuple[float, str]] = []
    socks = []
    last_connected = None
    while True:
        now = time.monotonic()
        while connected + failed + connecting < count and connecting < 500:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            if sock.connect_ex(("127.0.0.1", port)) in (0, errno.EINPROGRESS):
                selector.register(sock, selectors.EVENT_WRITE)
                socks.append(sock)
                connecting += 1
            else:
                sock.close()
                failed += 1
        if connected + failed == count:
            last_connected = last_connected or now
            if now - last_connected >= hold or open_now == 0:
                break
        if now - started > hold + 120:
            break  # connects that never complete: counted as failed below
        for key, events in selector.select(timeout=0.2):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE and sock not in opened_at:
                connecting -= 1
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected += 1
                    open_now += 1
                    open_at_peak = max(open_at_peak, open_now)
                    opened_at[sock] = time.monotonic()
                    selector.modify(sock, selectors.EVENT_READ)
                else:
                    failed += 1
                    selector.unregister(sock)
                continue
            try:
                data = sock.recv(4096)
                what = status_of(data) or "closed"
            except OSError:
                what = "reset"
            ended.append((time.monotonic() - opened_at[sock], what))
            open_now -= 1
            selector.unregister(sock)
    for sock in socks:
        sock.close()
    selector.close()
    lifetimes = [seconds for seconds, _ in ended]
    return {"connections": count, "connected": connected, "connect_failed": failed + connecting,
            "seconds_to_open_all": round((last_connected or time.monotonic()) - started, 2),
            "open_at_peak": open_at_peak, "held_to_the_end": open_now,
            "ended_by_gateway": tally([what for _, what in ended]),
            "ended_after_p50_s": percentile(lifetimes, 50), "ended_after_max_s": max(lifetimes) if lifetimes else None}


def raise_fd_limit(need: int) -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"the open-file limit is {hard} (hard), {need} are needed for the idle-connection test: "
                             f"raise it (ulimit -Hn {need + 1000} as root, or LimitNOFILE in the unit) or pass a "
                             f"smaller --idle-connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run_attacks(cluster: SecurityCluster, quick: bool, idle_count: int, log=print) -> dict:
    """Every attack in turn, with a baseline before the first; returns the measurements."""
    slow_connections = 1000 if quick else 2000
    slow_seconds = 12 if quick else 20
    repeat = 10 if quick else 40
    hold = 6 if quick else 15
    settle = 2.0
    phases = []
    with Observer(cluster) as observer:
        time.sleep(1)  # the clients' first connections
        start = time.monotonic()
        time.sleep(3 if quick else 6)
        baseline = {"name": "baseline (no attack)", "client": observer.window(start, time.monotonic()),
                    "rss_before_kib": observer.rss_at(start), "rss_peak_kib": observer.rss_peak(start, time.monotonic()),
                    "rss_after_kib": observer.rss_at(time.monotonic()), "seconds": round(time.monotonic() - start, 1)}
        phases.append(baseline)
        attacks = [
            (f"slowloris: {slow_connections} connections, a header line per second, {slow_seconds} s",
             lambda: slowloris(cluster, slow_connections, slow_seconds)),
            (f"oversize headers, each kind {repeat}×", lambda: oversize_headers(cluster, repeat)),
            (f"oversize bodies (max_body_bytes 8 MiB), each kind {max(2, repeat // 4)}×",
             lambda: oversize_bodies(cluster, max(2, repeat // 4))),
            (f"malformed HTTP, each kind {repeat}×", lambda: malformed(cluster, repeat)),
            (f"{idle_count} idle connections (never a byte), held up to {hold} s",
             lambda: idle_connections(cluster, idle_count, hold)),
        ]
        if not quick:
            attacks.append((f"{idle_count} idle connections again (round 2: does memory grow?)",
                            lambda: idle_connections(cluster, idle_count, hold)))
        for name, attack in attacks:
            log(f"   {name}")
            start = time.monotonic()
            before = observer.rss_at(start)
            result = attack()
            end = time.monotonic()
            time.sleep(settle)
            phases.append({"name": name, "result": result, "client": observer.window(start, end),
                           "rss_before_kib": before, "rss_peak_kib": observer.rss_peak(start, end),
                           "rss_after_kib": observer.rss_at(time.monotonic()), "seconds": round(end - start, 1),
                           "gateway_alive": cluster.process("gateway").poll() is None})
        final_rss = observer.rss_at(time.monotonic())
        final = observer.window(time.monotonic() - settle, time.monotonic())
    return {"phases": phases, "rss_start_kib": phases[0]["rss_before_kib"], "rss_end_kib": final_rss,
            "after_all": final}
