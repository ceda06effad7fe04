"""Fixtures that run the real `federation-node` binary for the openai-package tests.

The binary must be built first (`swift build --product federation-node` from the repo root); the
fixture finds it with `swift build --show-bin-path`, starts it on a free port with a log file, waits
for /healthz, and stops it at the end of the session (also when tests fail).
"""

import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKENS_PER_SECOND = 20
EMBEDDING_DIMENSION = 64


def _binary(name: str = "federation-node") -> pathlib.Path:
    configuration = os.environ.get("FEDERATION_NODE_BUILD_CONFIGURATION", "debug")
    bin_path = subprocess.run(
        ["swift", "build", "-c", configuration, "--show-bin-path"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()
    binary = pathlib.Path(bin_path) / name
    if not binary.exists():
        pytest.fail(
            f"{binary} does not exist; build it first: "
            f"cd {REPO_ROOT} && swift build -c {configuration} --product {name}"
        )
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_healthz(
    base_url: str, process: subprocess.Popen, log_path: pathlib.Path, path: str = "/healthz"
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{log_path.stem} exited with {process.returncode}; log {log_path}:\n{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(base_url + path, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{log_path.stem} did not answer {path} within 30 s; log {log_path}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def node_url(tmp_path_factory) -> str:
    """Base URL (`http://127.0.0.1:PORT`) of a running federation-node."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("federation-node") / "federation-node.log"
    command = [
        str(_binary()),
        "--port", str(port),
        "--node-id", "pytest-node",
        "--tokens-per-second", str(TOKENS_PER_SECOND),
        "--embedding-dimension", str(EMBEDDING_DIMENSION),
        "--log-level", "info",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for_healthz(base_url, process, log_path)
        yield base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"federation-node log: {log_path}")


@pytest.fixture
def client(node_url):
    """An official `openai` client pointed at the node."""
    import openai

    return openai.OpenAI(base_url=node_url + "/v1", api_key="not-needed", max_retries=0, timeout=30)


class Processes:
    """Real processes started for a fixture, each with a log file in `root`; `stop_all()` ends
    every one of them (the last started first)."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.by_name = {}

    def start(self, name, command, url=None, path="/healthz"):
        log_path = self.root / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        self.by_name[name] = process
        if url:
            _wait_for_healthz(url, process, log_path, path)
        return process

    def redis(self) -> int:
        """A redis-server on a free port with its data in `root`/redis; returns the port."""
        port = _free_port()
        (self.root / "redis").mkdir()
        self.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--dir", str(self.root / "redis")])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not listen on {port}; log {self.root / 'redis.log'}")

    def stop_all(self):
        for process in reversed(list(self.by_name.values())):
            _stop(process)


@pytest.fixture(scope="session")
def federation(tmp_path_factory):
    """A small real federation: redis-server, federation-catalog, -router, -health, two
    federation-nodes that register themselves, and a federation-gateway. Yields the gateway's
    base URL. Every process gets a free port and a log file; all are stopped at the end."""
    root = tmp_path_factory.mktemp("federation")
    processes = Processes(root)
    start = processes.start
    try:
        redis_port = processes.redis()
        common = ["--redis-url", f"redis://127.0.0.1:{redis_port}", "--namespace", "pytest"]
        ports = {name: _free_port() for name in ["catalog", "router", "health", "gateway"]}
        for name in ["catalog", "router", "health"]:
            start(name, [str(_binary(f"federation-{name}")), "--port", str(ports[name]), *common],
                  f"http://127.0.0.1:{ports[name]}")
        catalog = f"http://127.0.0.1:{ports['catalog']}"
        for node_id, region, models in [
            ("py-gen-01", "us-west", ["llama-3-8b=generate+code"]),
            ("py-embed-01", "eu-west", ["bge-small=embed", "llama-3-8b=generate+code"]),
        ]:
            port = _free_port()
            command = [str(_binary()), "--port", str(port), "--node-id", node_id, "--region", region,
                       "--tokens-per-second", str(TOKENS_PER_SECOND), "--embedding-dimension",
                       str(EMBEDDING_DIMENSION), "--register-url", catalog]
            for model in models:
                command += ["--model", model]
            start(node_id, command, f"http://127.0.0.1:{port}")
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        start("gateway", [str(_binary("federation-gateway")), "--port", str(ports["gateway"]), *common],
              gateway, "/readyz")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(gateway + "/v1/models", timeout=2) as response:
                if b"bge-small" in response.read():
                    break
            time.sleep(0.1)
        yield gateway
    finally:
        processes.stop_all()
        print(f"federation logs: {root}")


@pytest.fixture
def gateway_client(federation):
    """An official `openai` client pointed at the gateway."""
    import openai

    return openai.OpenAI(base_url=federation + "/v1", api_key="not-needed", max_retries=0, timeout=30)
