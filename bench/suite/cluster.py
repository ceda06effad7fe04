"""A real cluster for the suite's Python parts: redis-server on a free port in a temp dir, the
catalog, health and router services, N federation-nodes and gateway replicas, all stopped on exit
(also on SIGINT/SIGTERM: the caller turns them into SystemExit, see install_signal_exit)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def install_signal_exit():
    """SIGTERM/SIGINT → SystemExit, so that `with Cluster(...)` stops everything on the way out."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=5, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class Cluster:
    """Starts processes in `work` (logs there); `stop()` ends every one of them."""

    def __init__(self, bin_dir, work, namespace="suite", strategy="round_robin", probe_interval_ms=1000):
        self.bin = bin_dir
        self.work = work
        self.ns = namespace
        self.procs = {}  # name → Popen
        self.ports = {}
        self.strategy = strategy
        self.probe_interval_ms = probe_interval_ms
        self.node_args = {}

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.work, f"{name}.log"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        log.close()
        return self.procs[name]

    def kill(self, name):
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self):
        for name in list(self.procs)[::-1]:
            self.kill(name)

    def wait_http(self, url, name, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} (log: {self.work}/{name}.log)")
            try:
                if http("GET", url, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer on {url} within {seconds} s (log: {self.work}/{name}.log)")

    def start_control_plane(self, gateway_retry=None):
        for key in ("redis", "catalog", "health", "router"):
            self.ports[key] = free_port()
        os.makedirs(os.path.join(self.work, "redis"), exist_ok=True)
        self.start("redis", ["redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", os.path.join(self.work, "redis")])
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (log: {self.work}/redis.log)")
            time.sleep(0.1)
        retry = gateway_retry or "{ max_retries: 3, base_delay_ms: 100, multiplier: 2, max_delay_ms: 2000, jitter: 0.2 }"
        self.config = os.path.join(self.work, "federation.yaml")
        with open(self.config, "w") as f:
            f.write(f"""namespace: {self.ns}
redis:
  url: {self.redis_url}
log_level: warning
regions:
  local: {{ privacy: confidential, cost: 0.5 }}
policy:
  strategy: {self.strategy}
  min_score: 0.1
  max_candidates: 10
  panic_threshold: 0.5
catalog:
  port: {self.ports['catalog']}
health:
  port: {self.ports['health']}
  probe_interval_ms: {self.probe_interval_ms}
  probe_timeout_ms: 1000
  circuit: {{ failure_threshold: 5, reset_timeout_ms: 1000, half_open_success_threshold: 1, half_open_max_probes: 1, backoff_multiplier: 1.0, max_open_duration_ms: 2000 }}
router:
  port: {self.ports['router']}
gateway:
  port: {free_port()}
  request_timeout_ms: 30000
  retry: {retry}
""")
        for service in ("catalog", "health", "router"):
            port = self.ports[service]
            self.start(service, [os.path.join(self.bin, f"federation-{service}"), "--config", self.config,
                                 "--port", str(port), "--redis-url", self.redis_url, "--namespace", self.ns,
                                 "--log-level", "warning"])
            self.wait_http(f"http://127.0.0.1:{port}/healthz", service)

    def start_node(self, node_id, latency_ms=0, tokens_per_second=0, max_concurrency=64, port=None,
                   model="fed-chat=generate+code"):
        port = port or self.ports.get(node_id) or free_port()
        self.ports[node_id] = port
        self.node_args[node_id] = dict(latency_ms=latency_ms, tokens_per_second=tokens_per_second,
                                       max_concurrency=max_concurrency, model=model)
        self.start(node_id, [os.path.join(self.bin, "federation-node"), "--node-id", node_id, "--port", str(port),
                             "--region", "local", "--latency", f"fixed:{latency_ms}",
                             "--tokens-per-second", str(tokens_per_second), "--max-concurrency",
                             str(max_concurrency), "--model", model, "--log-level", "warning",
                             "--register-url", f"http://127.0.0.1:{self.ports['catalog']}",
                             "--register-interval", "5", "--max-connections", "4096"])
        self.wait_http(f"http://127.0.0.1:{port}/healthz", node_id)
        return f"http://127.0.0.1:{port}"

    def start_gateway(self, name="gateway"):
        port = free_port()
        self.ports[name] = port
        self.start(name, [os.path.join(self.bin, "federation-gateway"), "--config", self.config, "--port", str(port),
                          "--redis-url", self.redis_url, "--namespace", self.ns, "--log-level", "warning",
                          "--max-connections", "16384"])
        self.wait_http(f"http://127.0.0.1:{port}/healthz", name, 30)
        return f"http://127.0.0.1:{port}"

    def set_strategy(self, strategy):
        status, body, _ = http("PATCH", f"http://127.0.0.1:{self.ports['router']}/v1/policy", {"strategy": strategy})
        if status != 200:
            raise RuntimeError(f"PATCH /v1/policy strategy={strategy} answered {status}: {body[:300]!r}")

    def set_faults(self, node_id, faults):
        url = f"http://127.0.0.1:{self.ports[node_id]}/admin/faults"
        status, body, _ = http("DELETE", url) if faults is None else http("POST", url, faults)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")

    def pid(self, name):
        return self.procs[name].pid


def log(message):
    print(f"== {message}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
