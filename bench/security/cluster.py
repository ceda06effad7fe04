"""A real federation for the security checks, in a temp dir on free ports: redis-server with a
password per service (the users of config/redis-acl.example, random passwords substituted),
federation-catalog, -health, -router, three self-registering federation-nodes and one
federation-gateway, each started as its own Redis user, with API keys, tenants and an admin
token configured. Every secret is random per run and passed through the environment (never on a
command line, so `ps` does not show it). `SecurityCluster` is a context manager: everything it
started is stopped on every exit path.

Used by bench/security/run.py and tests/python/test_security.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ACL_EXAMPLE = REPO_ROOT / "config" / "redis-acl.example"
NAMESPACE = "fed"
SERVICES = ["catalog", "health", "router", "gateway"]
PRODUCTS = ["federation-catalog", "federation-health", "federation-router", "federation-gateway", "federation-node"]

# id, region, gpu, models; the regions' privacy comes from the configuration below
NODES = [
    ("us-west-gpu-01", "us-west", "true", ["llama-3-8b=generate+code", "bge-large=embed"]),
    ("eu-west-gpu-01", "eu-west", "true", ["llama-3-8b=generate+code", "bge-large=embed"]),
    ("ap-south-cpu-01", "ap-south", "false", ["llama-3-8b=generate+code"]),
]
REGION_PRIVACY = {"us-west": "internal", "eu-west": "confidential", "ap-south": "public"}


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binaries(bin_dir: str | os.PathLike) -> pathlib.Path:
    """The directory holding every product; a clear error naming what is missing otherwise."""
    path = pathlib.Path(bin_dir).resolve()
    missing = [name for name in PRODUCTS if not (path / name).is_file()]
    if missing:
        raise ClusterError(
            f"{path} lacks {', '.join(missing)}: build them (cd {REPO_ROOT} && "
            + " && ".join(f"swift build -c release --product {name}" for name in missing)
            + f") and pass --bin \"$(swift build -c release --show-bin-path)\""
        )
    for tool in ["redis-server", "redis-cli"]:
        if shutil.which(tool) is None:
            raise ClusterError(f"{tool} is not installed: apt-get install -y redis-server (Redis >= 7.0)")
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"v=(\d+)\.", version)
    if not found or int(found.group(1)) < 7:
        raise ClusterError(f"redis-server >= 7.0 is needed (ACL selectors and %R~ read-only keys); this one says "
                           f"'{version.strip()}': install Redis 7 (Debian 12: apt-get install -y redis-server)")
    return path


def http(method: str, url: str, body: bytes | dict | None = None, headers: dict | None = None,
         timeout: float = 10):
    """(status, headers, body bytes); an HTTP error status is an answer, not an exception."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def error_code(body: bytes) -> str | None:
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def rss_kib(pid: int) -> int | None:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class SecurityCluster:
    """Start with `with SecurityCluster(bin_dir) as cluster:`; `cluster.secrets` lists every secret
    of the run (for the grep), `cluster.logs` the directory of every log file."""

    def __init__(self, bin_dir, work_dir: str | None = None, keep: bool = False,
                 gateway_max_connections: int = 1024, log_level: str = "info",
                 globex_requests_per_minute: int = 5):
        self.bin = find_binaries(bin_dir)
        self.keep = keep
        self.root = pathlib.Path(work_dir or tempfile.mkdtemp(prefix="fed-security."))
        self.logs = self.root / "logs"
        self.gateway_max_connections = gateway_max_connections
        self.log_level = log_level
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.pids: dict[str, int] = {}
        token = secrets.token_hex
        self.passwords = {name: "pw-" + token(16) for name in SERVICES + ["admin"]}
        self.admin_token = "adm-" + token(16)
        # acme's key is configured in plain text, globex's and vault's by their SHA-256 only
        self.api_keys = {"acme": "sk-acme-" + token(16), "globex": "sk-globex-" + token(16),
                         "vault": "sk-vault-" + token(16)}
        self.globex_requests_per_minute = globex_requests_per_minute
        self.secrets = {f"redis password of {name}": value for name, value in self.passwords.items()}
        self.secrets["admin token"] = self.admin_token
        self.secrets.update({f"API key of {tenant}": key for tenant, key in self.api_keys.items()})
        self.ports = {name: free_port() for name in ["redis", *SERVICES]}
        self.url = {name: f"http://127.0.0.1:{self.ports[name]}" for name in SERVICES}
        self.node_urls: dict[str, str] = {}

    # ---- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> "SecurityCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.root / "redis").mkdir(exist_ok=True)
        self._start_redis()
        self._write_config()
        for name in ["catalog", "health", "router"]:
            self._start_service(name)
        for node_id, region, gpu, models in NODES:
            self._start_node(node_id, region, gpu, models)
        self._start_service("gateway")
        self.wait_for(lambda: len(json.loads(http("GET", self.url["catalog"] + "/v1/nodes")[2])["nodes"])
                      == len(NODES), "every node registered with the catalog")
        self.wait_for(lambda: http("GET", self.url["gateway"] + "/readyz")[0] == 200, "the gateway ready")
        self.wait_for(lambda: len(json.loads(http("GET", self.url["gateway"] + "/v1/nodes")[2])["nodes"])
                      == len(NODES), "the gateway's view holding every node")
        self.wait_for(self._all_healthy, "every node healthy in the gateway's view", timeout=30)

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- parts ------------------------------------------------------------------------------
    def acl_conf(self) -> str:
        """config/redis-acl.example with this run's passwords."""
        text = ACL_EXAMPLE.read_text()
        for name, password in self.passwords.items():
            placeholder = f">change-me-{name} "
            if placeholder not in text:
                raise ClusterError(f"{ACL_EXAMPLE} has no user with the password placeholder '{placeholder.strip()}'")
            text = text.replace(placeholder, f">{password} ")
        return text

    def redis_url(self, user: str) -> str:
        return f"redis://{user}:{self.passwords[user]}@127.0.0.1:{self.ports['redis']}"

    def redis_cli(self, *arguments: str, user: str = "admin", password: str | None = None) -> str:
        """redis-cli as `user` (its password from the environment, not the command line)."""
        env = {**os.environ, "REDISCLI_AUTH": password if password is not None else self.passwords[user]}
        result = subprocess.run(
            ["redis-cli", "-p", str(self.ports["redis"]), "--user", user, *arguments],
            env=env, capture_output=True, text=True, timeout=10,
        )
        return (result.stdout + result.stderr).strip()

    def _start_redis(self) -> None:
        conf = self.root / "redis" / "users.conf"
        conf.write_text(self.acl_conf())
        conf.chmod(0o600)
        self._spawn("redis", ["redis-server", str(conf), "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(self.root / "redis"),
                              "--acllog-max-len", "1000"], {})
        self.wait_for(lambda: self.redis_cli("PING") == "PONG", "redis-server answering PING", timeout=10)

    def _write_config(self) -> None:
        globex_hash = "sha256:" + hashlib.sha256(self.api_keys["globex"].encode()).hexdigest()
        vault_hash = "sha256:" + hashlib.sha256(self.api_keys["vault"].encode()).hexdigest()
        config = {
            "namespace": NAMESPACE,
            "log_level": self.log_level,
            "regions": {region: {"privacy": privacy, "cost": 0.5} for region, privacy in REGION_PRIVACY.items()},
            "policy": {"strategy": "round_robin"},
            "health": {"probe_interval_ms": 500, "probe_timeout_ms": 500},
            "gateway": {
                "api_keys": {self.api_keys["acme"]: "acme", globex_hash: "globex", vault_hash: "vault"},
                "tenants": {
                    "acme": {"min_privacy": "confidential"},
                    "globex": {"regions": ["us-west"], "requests_per_minute": self.globex_requests_per_minute},
                    "vault": {"min_privacy": "restricted"},
                },
            },
        }
        # JSON is YAML: the loader reads it as the shared configuration file
        path = self.root / "federation.yaml"
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        self.config_path = path

    def _service_env(self, name: str) -> dict:
        env = {"FED_REDIS_URL": self.redis_url(name), "FED_ADMIN_TOKEN": self.admin_token,
               "FED_NAMESPACE": NAMESPACE}
        if name == "gateway":
            env["FED_GATEWAY_ID"] = "gateway-1"
            env["FED_SERVER_MAX_CONNECTIONS"] = str(self.gateway_max_connections)
        return env

    def _start_service(self, name: str) -> None:
        command = [str(self.bin / f"federation-{name}"), "--config", str(self.config_path),
                   "--port", str(self.ports[name])]
        self._spawn(name, command, self._service_env(name))
        self.wait_for_http(name, self.url[name] + "/healthz")

    def _start_node(self, node_id: str, region: str, gpu: str, models: list[str]) -> None:
        port = free_port()
        command = [str(self.bin / "federation-node"), "--node-id", node_id, "--region", region, "--port", str(port),
                   "--gpu", gpu, "--latency", "fixed:2", "--tokens-per-second", "0",
                   "--register-url", self.url["catalog"], "--register-interval", "5"]
        for model in models:
            command += ["--model", model]
        self._spawn(node_id, command, {"FEDNODE_REGISTER_TOKEN": self.admin_token})
        self.node_urls[node_id] = f"http://127.0.0.1:{port}"
        self.wait_for_http(node_id, self.node_urls[node_id] + "/healthz")

    def _spawn(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log_path = self.logs / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                       env={**os.environ, **env}, stdin=subprocess.DEVNULL)
        self.processes.append((name, process))
        self.pids[name] = process.pid
        return process

    def process(self, name: str) -> subprocess.Popen:
        return next(process for part, process in self.processes if part == name)

    def alive(self) -> dict:
        return {name: process.poll() is None for name, process in self.processes}

    # ---- waiting ----------------------------------------------------------------------------
    def wait_for_http(self, name: str, url: str, timeout: float = 30) -> None:
        process = self.process(name)

        def answers():
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}; log {self.logs / (name + '.log')}:\n"
                                   + (self.logs / f"{name}.log").read_text()[-3000:])
            return http("GET", url, timeout=1)[0] == 200

        self.wait_for(answers, f"{name} answering {url}", timeout)

    def wait_for(self, check, what: str, timeout: float = 30, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
                last = value
            except (OSError, ValueError, KeyError) as error:
                last = error
            time.sleep(interval)
        raise ClusterError(f"{what}: not reached within {timeout} s (last: {last!r}); logs in {self.logs}")

    def _all_healthy(self) -> bool:
        nodes = json.loads(http("GET", self.url["gateway"] + "/v1/nodes")[2])["nodes"]
        return all(node.get("health") == "healthy" for node in nodes)

    # ---- requests ---------------------------------------------------------------------------
    def chat(self, key: str | None, headers: dict | None = None, timeout: float = 10):
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        return http("POST", self.url["gateway"] + "/v1/chat/completions", body, headers, timeout)
