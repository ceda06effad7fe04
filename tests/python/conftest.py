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


def _binary() -> pathlib.Path:
    configuration = os.environ.get("FEDERATION_NODE_BUILD_CONFIGURATION", "debug")
    bin_path = subprocess.run(
        ["swift", "build", "-c", configuration, "--show-bin-path"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()
    binary = pathlib.Path(bin_path) / "federation-node"
    if not binary.exists():
        pytest.fail(
            f"{binary} does not exist; build it first: "
            f"cd {REPO_ROOT} && swift build -c {configuration} --product federation-node"
        )
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_healthz(base_url: str, process: subprocess.Popen, log_path: pathlib.Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"federation-node exited with {process.returncode}; log {log_path}:\n{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"federation-node did not answer /healthz within 30 s; log {log_path}")


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
