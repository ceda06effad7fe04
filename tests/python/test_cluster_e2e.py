"""End to end on the real local cluster: `./scripts/cluster up` (the launcher the README starts),
with its own state directory and every port moved up by PORT_OFFSET so that it never meets a
cluster someone runs on the default ports. Redis, catalog, health, router, three self-registering
nodes and two gateway replicas are real processes; the client is the official `openai` package.

The tests run in file order and share the cluster: the ones that disturb it (a failed node, a Redis
restart, a node killed) put back what they changed, or come last.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PORT_OFFSET = int(os.environ.get("FED_E2E_PORT_OFFSET", "20000"))
NODES = ["us-west-gpu-01", "eu-west-gpu-01", "ap-south-cpu-01"]
CHAT = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


class Cluster:
    def __init__(self, state: pathlib.Path):
        self.state = state
        self.redis_port = 6390 + PORT_OFFSET
        self.catalog = f"http://127.0.0.1:{7101 + PORT_OFFSET}"
        self.health = f"http://127.0.0.1:{7102 + PORT_OFFSET}"
        self.router = f"http://127.0.0.1:{7103 + PORT_OFFSET}"
        self.gateways = [f"http://127.0.0.1:{8080 + PORT_OFFSET}", f"http://127.0.0.1:{8081 + PORT_OFFSET}"]
        self.env = {
            **os.environ,
            "FED_CLUSTER_STATE": str(state),
            "FED_CLUSTER_PORT_OFFSET": str(PORT_OFFSET),
            "FED_CLUSTER_SKIP_BUILD": "1",
        }

    def launcher(self, *arguments: str) -> str:
        result = subprocess.run(
            [str(REPO_ROOT / "scripts" / "cluster"), *arguments],
            cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=180,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"scripts/cluster {' '.join(arguments)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}\nlogs: {self.state / 'logs'}"
            )
        return result.stdout

    def pids(self) -> dict:
        parts = {}
        for line in (self.state / "pids").read_text().splitlines():
            pid, name = line.split()
            parts[name] = int(pid)
        return parts

    def redis_cli(self, *arguments: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), *arguments],
            check=True, capture_output=True, text=True, timeout=10,
        ).stdout


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post(url: str, body: dict, timeout: float = 15):
    """(status, headers, body bytes) of a POST; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def eventually(check, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
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
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


def gateway_view(gateway: str) -> dict:
    return {entry["node"]: entry for entry in get_json(gateway + "/v1/nodes")["nodes"]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    for port in [6390, 7101, 7102, 7103, 8080, 8081, 8101, 8102, 8103]:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port + PORT_OFFSET)) == 0:
                pytest.fail(f"port {port + PORT_OFFSET} is in use; set FED_E2E_PORT_OFFSET to another offset")
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        output = cluster.launcher("up")
        assert "gateway-2" in output, output
        eventually(lambda: len(get_json(cluster.catalog + "/v1/nodes")["nodes"]) == 3, what="3 nodes registered")
        for gateway in cluster.gateways:
            eventually(lambda: len(gateway_view(gateway)) == 3, what=f"{gateway} sees 3 nodes")
        yield cluster
    finally:
        cluster.launcher("down")
        print(f"cluster logs: {cluster.state / 'logs'}")


def openai_client(gateway: str):
    import openai

    return openai.OpenAI(base_url=gateway + "/v1", api_key="not-needed", max_retries=0, timeout=30)


def test_each_gateway_answers_chat_streamed_and_not_and_embeddings(cluster):
    for gateway in cluster.gateways:
        client = openai_client(gateway)
        raw = client.chat.completions.with_raw_response.create(**CHAT)
        completion = raw.parse()
        assert completion.choices[0].message.content
        assert raw.headers["x-federation-node"] in NODES
        assert raw.headers["x-federation-attempts"] == "1"

        pieces = [
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(**{**CHAT, "max_tokens": 6}, stream=True)
            if chunk.choices
        ]
        assert len([piece for piece in pieces if piece]) >= 2, pieces

        embedding = client.embeddings.create(model="bge-large", input=["hello", "world"])
        assert len(embedding.data) == 2
        assert len(embedding.data[0].embedding) > 0


def fedctl(cluster, *arguments: str, gateway: int = 0):
    """Runs the built fedctl against this cluster; returns its parsed --json output."""
    binary = pathlib.Path(
        subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO_ROOT, check=True,
                       capture_output=True, text=True).stdout.strip()
    ) / "fedctl"
    env = {
        **os.environ,
        "FEDCTL_GATEWAY": cluster.gateways[gateway], "FEDCTL_CATALOG": cluster.catalog,
        "FEDCTL_HEALTH": cluster.health, "FEDCTL_ROUTER": cluster.router,
        "FEDCTL_REDIS": f"redis://127.0.0.1:{cluster.redis_port}",
    }
    result = subprocess.run([str(binary), *arguments, "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"fedctl {' '.join(arguments)} exited {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def test_fedctl_against_the_running_cluster(cluster):
    nodes = fedctl(cluster, "nodes")["nodes"]
    assert sorted(node["id"] for node in nodes) == sorted(NODES)
    models = {model["id"] for model in fedctl(cluster, "models")["models"]}
    assert {"llama-3-8b", "bge-large", "whisper-large-v3", "tts-1", "sdxl-turbo"} <= models
    assert {entry["node"] for entry in fedctl(cluster, "health")["nodes"]} == set(NODES)

    explain = fedctl(cluster, "route", "--explain", "--model", "llama-3-8b")
    by_node = {candidate["node"]: candidate for candidate in explain["candidates"]}
    assert set(by_node) == set(NODES)
    # the default privacy is internal: the public ap-south node is rejected, by the privacy policy
    assert not by_node["ap-south-cpu-01"]["eligible"]
    assert by_node["ap-south-cpu-01"]["rejection"]["policy"] == "privacy"

    for index in range(2):
        answer = fedctl(cluster, "infer", "--model", "llama-3-8b", "hi", gateway=index)
        assert answer["node"] in NODES and answer["attempts"] == 1
        assert answer["response"]["choices"][0]["message"]["content"]
    stats = fedctl(cluster, "stats")
    assert stats["live_replicas"] == 2
    assert stats["total_requests"] == sum(replica["total_requests"] for replica in stats["replicas"])

    # two failing reports published through Redis move the node's count of consecutive failures
    fedctl(cluster, "report", "ap-south-cpu-01", "--fail", "--status", "503", "--count", "2")
    eventually(
        lambda: next(circuit for circuit in fedctl(cluster, "circuits")["circuits"]
                     if circuit["node"] == "ap-south-cpu-01")["consecutive_failures"] == 2,
        what="ap-south-cpu-01 has 2 consecutive failures",
    )
    fedctl(cluster, "report", "ap-south-cpu-01", "--ok", "--latency-ms", "40")


def test_fedctl_top_in_a_real_terminal(cluster, tmp_path):
    """`fedctl top` in tmux against the running cluster: tabs switch on keys, q quits with 0 and the
    terminal's settings are what they were before."""
    binary = pathlib.Path(
        subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO_ROOT, check=True,
                       capture_output=True, text=True).stdout.strip()
    ) / "fedctl"
    session = f"fed-e2e-{os.getpid()}"
    script = tmp_path / "top.sh"
    script.write_text(
        f"stty -g > {tmp_path}/before\n"
        f"{binary} top --gateway {cluster.gateways[0]} --also-gateway {cluster.gateways[1]} "
        f"--catalog {cluster.catalog} --health {cluster.health} --router {cluster.router} --interval 0.3\n"
        f"echo $? > {tmp_path}/status\n"
        f"stty -g > {tmp_path}/after\n"
        "sleep 60\n"
    )
    for gateway in cluster.gateways:
        assert post(gateway + "/v1/chat/completions", CHAT)[0] == 200

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], check=True,
                              capture_output=True, text=True).stdout

    def keys(*names: str):
        subprocess.run(["tmux", "send-keys", "-t", session, *names], check=True)

    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "32", f"bash {script}"],
                   check=True)
    try:
        eventually(lambda: "3 nodes" in screen() and "[1 Catalog]" in screen(), what="the Catalog tab")
        assert all(node in screen() for node in NODES)
        keys("3")
        eventually(lambda: "[3 Routing]" in screen() and "gateway-2" in screen(), what="both replicas' decisions")
        keys("4")
        eventually(lambda: "[4 Circuits]" in screen(), what="the Circuits tab")
        keys("Tab")
        eventually(lambda: "[5 Stats]" in screen() and "2 live replicas" in screen(), what="the Stats tab")
        keys("q")
        eventually(lambda: (tmp_path / "after").exists(), timeout=10, what="fedctl top to quit")
        assert (tmp_path / "status").read_text().strip() == "0"
        assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()
        assert "[5 Stats]" not in screen()  # the alternate screen is gone
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_five_published_failure_reports_move_both_replicas_off_the_node(cluster):
    status, headers, _ = post(cluster.gateways[0] + "/v1/chat/completions", CHAT)
    assert status == 200
    node = headers["X-Federation-Node"]

    for _ in range(5):
        report = json.dumps({"node": node, "ok": False, "status": 503})
        cluster.redis_cli("PUBLISH", "fed:health:reports", report)
    for gateway in cluster.gateways:
        eventually(lambda: gateway_view(gateway)[node]["circuit"] == "open", what=f"{gateway} sees {node} open")

    for gateway in cluster.gateways:
        served = []
        for _ in range(20):
            status, headers, body = post(gateway + "/v1/chat/completions", CHAT)
            assert status == 200, body
            served.append(headers["X-Federation-Node"])
        assert node not in served, (gateway, served)

    # put it back: close the circuit; the node's probes make it healthy again
    status, _, body = post(f"{cluster.health}/v1/circuits/{node}/close", {})
    assert status == 200, body
    for gateway in cluster.gateways:
        eventually(
            lambda: gateway_view(gateway)[node]["circuit"] == "closed"
            and gateway_view(gateway)[node]["health"] == "healthy",
            what=f"{gateway} sees {node} closed and healthy",
        )


def test_redis_restart_loses_no_registration_and_restarts_no_service(cluster):
    before = cluster.pids()
    models_before = sorted(model["id"] for model in get_json(cluster.catalog + "/v1/models")["models"])

    cluster.launcher("restart", "redis")

    def recovered():
        nodes = get_json(cluster.catalog + "/v1/nodes")["nodes"]
        if len(nodes) != 3:
            return False
        return all(post(gateway + "/v1/chat/completions", CHAT)[0] == 200 for gateway in cluster.gateways)

    eventually(recovered, timeout=30, what="catalog lists 3 nodes and both gateways answer")
    models_after = sorted(model["id"] for model in get_json(cluster.catalog + "/v1/models")["models"])
    assert models_after == models_before
    after = cluster.pids()
    assert after["redis"] != before["redis"], "redis was not restarted"
    for name, pid in before.items():
        if name == "redis":
            continue
        assert after[name] == pid, f"{name} was restarted"
        os.kill(pid, 0)  # still running
    for gateway in cluster.gateways:
        eventually(lambda: get_json(gateway + "/readyz")["ready"], what=f"{gateway} ready again")


def test_node_killed_under_steady_load_fails_no_non_streamed_request(cluster):
    results = []
    stop = threading.Event()

    def load(gateway: str):
        while not stop.is_set():
            status, headers, _ = post(gateway + "/v1/chat/completions", CHAT)
            results.append((time.monotonic(), status, headers.get("X-Federation-Node")))
            time.sleep(0.01)

    workers = [threading.Thread(target=load, args=(gateway,)) for gateway in cluster.gateways for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.5)
        served = [node for _, status, node in results if status == 200]
        victim = max(set(served), key=served.count)
        os.kill(cluster.pids()[victim], signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)

    after_kill = [entry for entry in results if entry[0] > killed_at]
    failed = [entry for entry in results if entry[1] != 200]
    assert len(after_kill) >= 20, f"only {len(after_kill)} requests after the kill"
    assert not failed, f"{len(failed)} of {len(results)} requests failed: {failed[:5]}"
    assert any(node != victim for _, _, node in after_kill)
