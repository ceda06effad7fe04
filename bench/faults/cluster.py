"""The real cluster the fault suite runs against: one redis-server (append-only file on), catalog,
health leader + standby, router, two gateway replicas and three federation-nodes, every one a
real process on a free loopback port, logs and Redis data in one temp dir. Also the tiny RESP
client the suite reads Redis with (stdlib only)."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


# id, region, latency (federation-node --latency): all three may serve the suite's requests (the
# default privacy is internal: us-west is internal, eu-west confidential in config/federation.yaml)
NODES = [("node-us-1", "us-west", "fixed:20"), ("node-us-2", "us-west", "fixed:25"), ("node-eu-1", "eu-west", "normal:30,5")]
MODEL = "llama-3-8b"
_used_ports: set = set()


def free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def http_json(url: str, body=None, timeout: float = 1.0, method=None):
    """(status, parsed JSON or None). HTTP errors are answers; connection errors raise OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class RedisReplyError(Exception):
    pass


class Redis:
    """A minimal RESP2 client: one connection, reconnects on the next command after any error."""

    def __init__(self, port: int):
        self.port = port
        self.sock = None
        self.file = None

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.file = None

    def __call__(self, *args, timeout: float = 0.5):
        try:
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
                self.file = self.sock.makefile("rb")
            self.sock.settimeout(timeout)
            parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            self.sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
            return self._read()
        except (OSError, ValueError):
            self.close()
            raise

    def _read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisReplyError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self.file.read(size + 2)[:-2]
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._read() for _ in range(size)]
        raise ValueError(f"unexpected RESP reply {line[:40]!r}")


class Cluster:
    def __init__(self, binaries: pathlib.Path, config: pathlib.Path, namespace: str, work: pathlib.Path,
                 register_interval: float, log):
        self.bin = binaries
        self.config = config
        self.ns = namespace
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.register_interval = register_interval
        self.log = log
        self.procs: dict = {}
        self.log_files: dict = {}
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}"
        self.redis_dirs = 0
        self.ports = {name: free_port() for name in ("catalog", "health-a", "health-b", "router", "gateway-1", "gateway-2")}
        for node_id, _, _ in NODES:
            self.ports[node_id] = free_port()
        self.redis = Redis(self.redis_port)

    # ---- processes ------------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def spawn(self, name: str, argv: list, env=None):
        log_file = open(self.logs / f"{name}.log", "ab")
        log_file.write(f"== {time.strftime('%H:%M:%S')} {' '.join(map(str, argv))}\n".encode())
        log_file.flush()
        self.log_files.setdefault(name, []).append(log_file)
        process = subprocess.Popen([str(a) for a in argv], stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                   start_new_session=True)
        self.procs[name] = process
        return process

    def wait_http(self, name: str, path: str = "/healthz", seconds: float = 20.0, want=lambda status, body: status == 200):
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            process = self.procs.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")
            try:
                status, body = http_json(self.url(name) + path, timeout=1)
                if want(status, body):
                    return body
                last = (status, body)
            except OSError as error:
                last = error
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer {path} within {seconds:.0f} s (last: {last!r}); "
                           f"see {self.logs / (name + '.log')}")

    def start_redis(self, fresh_dir: bool = False):
        if fresh_dir or self.redis_dirs == 0:
            self.redis_dirs += 1
        data = self.work / f"redis-{self.redis_dirs}"
        data.mkdir(exist_ok=True)
        self.spawn("redis", ["redis-server", "--port", self.redis_port, "--bind", "127.0.0.1", "--dir", data,
                             "--appendonly", "yes", "--save", ""])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.redis("PING") == "PONG":
                    return
            except (OSError, RedisReplyError):
                pass  # still starting, or loading its append-only file
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on {self.redis_port}; see {self.logs / 'redis.log'}")

    def service_argv(self, product: str, name: str) -> list:
        return [self.bin / product, "--config", self.config, "--port", self.ports[name], "--redis-url", self.redis_url,
                "--namespace", self.ns]

    def start_service(self, name: str):
        if name.startswith("health"):
            self.spawn(name, self.service_argv("federation-health", name) + ["--instance-id", name])
        elif name.startswith("gateway"):
            # notice: the request log's one line per answered request (info) would cost CPU the load needs
            self.spawn(name, self.service_argv("federation-gateway", name) + ["--log-level", "notice"],
                       env={"FED_GATEWAY_ID": name})
        else:
            self.spawn(name, self.service_argv(f"federation-{name}", name))
        self.wait_http(name)

    def start_node(self, node_id: str):
        region, latency = next((r, lat) for n, r, lat in NODES if n == node_id)
        self.spawn(node_id, [self.bin / "federation-node", "--node-id", node_id, "--region", region,
                             "--port", self.ports[node_id], "--gpu", "true", "--model", f"{MODEL}=generate+code",
                             "--latency", latency, "--tokens-per-second", "0", "--max-concurrency", "256",
                             "--register-url", self.url("catalog"),
                             "--register-interval", f"{self.register_interval:g}", "--log-level", "warning"])
        self.wait_http(node_id)

    def start_gateway(self, name: str):
        self.start_service(name)
        self.wait_http(name, "/readyz", want=lambda status, _: status == 200)

    def start(self):
        self.start_redis()
        self.start_service("catalog")
        self.start_service("health-a")
        self.wait_http("health-a", "/v1/health", want=lambda s, b: s == 200 and b and b.get("role") == "leader")
        self.start_service("health-b")  # the standby: the lease is held by health-a
        self.start_service("router")
        for node_id, _, _ in NODES:
            self.start_node(node_id)
        self.wait_http("catalog", "/v1/nodes", want=lambda s, b: s == 200 and len((b or {}).get("nodes", [])) == len(NODES))
        for gateway in ("gateway-1", "gateway-2"):
            self.start_gateway(gateway)
            self.wait_http(gateway, "/v1/nodes", want=lambda s, b: s == 200 and sum(
                1 for n in (b or {}).get("nodes", []) if n.get("health") == "healthy") == len(NODES))

    def kill(self, name: str, sig=signal.SIGKILL):
        process = self.procs[name]
        os.kill(process.pid, sig)
        if sig == signal.SIGKILL:
            process.wait(timeout=10)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def stop(self):
        """Stops every process it started (SIGCONT first: a stopped Redis would not see SIGTERM),
        gracefully, then SIGKILL after 6 s."""
        running = [p for p in self.procs.values() if p.poll() is None]
        for process in running:
            for sig in (signal.SIGCONT, signal.SIGTERM):
                try:
                    os.kill(process.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 6
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for files in self.log_files.values():
            for log_file in files:
                log_file.close()
        self.redis.close()

    def grep_log(self, name: str, *needles: str, limit: int = 3) -> list:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return []
        lines = [line for line in path.read_text(errors="replace").splitlines()
                 if any(needle in line for needle in needles)]
        return lines[:limit]

