"""The federation in containers, for real: docker-compose.yml on a real Docker engine (docs/DOCKER.md).

One module-scoped fixture builds the images, brings the project up with three gateway replicas
under a project name of its own (never a user's), and brings it down with `down -v` at the end, also
on failure. Everything a client does goes through the ONE published front port; the services'
own APIs are read from inside their containers (`exec`, bash's /dev/tcp: the images have no curl).

Needs a reachable engine (DOCKER_HOST, see scripts/docker-engine) and the base images
(`scripts/docker-engine images`). Run: .venv/bin/python -m pytest -v tests/compose
Environment: FED_COMPOSE (default `docker-compose`; `docker compose` for v2), FED_COMPOSE_KEEP=1
(leave the project up after the run, for a look around; `down -v` it yourself).
"""

import collections
import json
import os
import pathlib
import shlex
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = f"fedcomposetest{os.getpid()}"
COMPOSE = shlex.split(os.environ.get("FED_COMPOSE", "docker-compose"))
GATEWAYS = 3
NODES = {"us-west-gpu-01": "node-us-west", "eu-west-gpu-01": "node-eu-west", "ap-south-cpu-01": "node-ap-south"}
SERVICE_PORTS = {"catalog": 7101, "health": 7102, "health-standby": 7102, "router": 7103, "gateway": 8080}
CHAT = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "Hello from compose"}], "max_tokens": 4}


def say(message: str) -> None:
    print(f"[compose] {message}", flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Compose:
    """The compose project under test: its CLI, and HTTP to its services."""

    def __init__(self) -> None:
        self.front_port = _free_port()
        self.redis_port = _free_port()
        self.env = dict(os.environ, FED_DOCKER_PORT=str(self.front_port), FED_DOCKER_REDIS_PORT=str(self.redis_port))
        self.front = f"http://127.0.0.1:{self.front_port}"

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        command = [*COMPOSE, "-p", PROJECT, "-f", str(REPO_ROOT / "docker-compose.yml"), *args]
        result = subprocess.run(command, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            pytest.fail(f"`{shlex.join(command)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def docker(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            pytest.fail(f"`docker {shlex.join(args)}` exited {result.returncode}:\n{result.stderr}")
        return result.stdout

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).stdout.split()

    def logs(self, *services: str) -> str:
        return self.run("logs", "--no-color", "--tail", "40", *services, check=False, timeout=60).stdout

    def redis_cli(self, *args: str, stdin: str | None = None) -> str:
        command = [*COMPOSE, "-p", PROJECT, "-f", str(REPO_ROOT / "docker-compose.yml"), "exec", "-T", "redis",
                   "redis-cli", *args]
        result = subprocess.run(command, cwd=REPO_ROOT, env=self.env, input=stdin, capture_output=True, text=True,
                                timeout=60)
        if result.returncode != 0:
            pytest.fail(f"redis-cli {shlex.join(args)} exited {result.returncode}: {result.stderr}")
        return result.stdout

    def inside(self, service: str, path: str, index: int = 1, method: str = "GET", body: dict | None = None):
        """(status, JSON body) of a request to a service's own port, sent from inside its container."""
        data = json.dumps(body) if body is not None else ""
        request = (f"{method} {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(data.encode())}\r\n\r\n{data}")
        script = 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "%s" "$1" >&3 && cat <&3'
        command = [*COMPOSE, "-p", PROJECT, "-f", str(REPO_ROOT / "docker-compose.yml"), "exec", "-T",
                   f"--index={index}", service, "bash", "-c", script, str(SERVICE_PORTS[service]), request]
        # bytes, not text: text mode would turn the head's \r\n into \n
        result = subprocess.run(command, cwd=REPO_ROOT, env=self.env, capture_output=True, timeout=60)
        head, _, payload = result.stdout.decode(errors="replace").partition("\r\n\r\n")
        if result.returncode != 0 or not head.startswith("HTTP/"):
            return None, f"exec into {service} #{index} failed ({result.returncode}): {head}{result.stderr.decode()}"
        status = int(head.split()[1])
        if "transfer-encoding: chunked" in head.lower():
            payload = _unchunk(payload)
        try:
            return status, json.loads(payload)
        except json.JSONDecodeError:
            return status, payload

    def chat(self, headers: dict | None = None, timeout: float = 30):
        """POST a non-streamed chat completion through the front: (status, X-Federation-Node, body or error)."""
        request = urllib.request.Request(
            self.front + "/v1/chat/completions", data=json.dumps(CHAT).encode(), method="POST",
            headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers.get("X-Federation-Node"), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("X-Federation-Node"), error.read().decode(errors="replace")
        except OSError as error:
            return None, None, f"{type(error).__name__}: {error}"


def _unchunk(payload: str) -> str:
    out, rest = [], payload
    while rest:
        size_line, _, rest = rest.partition("\r\n")
        size = int(size_line.split(";")[0] or "0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return "".join(out)


def eventually(what: str, check, timeout: float = 90, interval: float = 1.0, details=None):
    """Polls check() until it returns a truthy value; fails naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as error:  # noqa: BLE001 - a poll may fail while a service restarts
            last = f"{type(error).__name__}: {error}"
        if last and not isinstance(last, str):
            return last
        time.sleep(interval)
    extra = f"\n{details()}" if details else ""
    pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last}){extra}")


@pytest.fixture(scope="module")
def cluster():
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("no Docker engine is reachable: run scripts/docker-engine start and export its DOCKER_HOST")
    project = Compose()
    say(f"project {PROJECT}: front on 127.0.0.1:{project.front_port}, redis on 127.0.0.1:{project.redis_port}")
    try:
        started = time.monotonic()
        project.run("build", timeout=7200)  # a cold builder stage took 48 min on a loaded machine
        say(f"build: {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        project.run("up", "-d", "--scale", f"gateway={GATEWAYS}", timeout=600)
        say(f"up -d --scale gateway={GATEWAYS} (every dependency healthy): {time.monotonic() - started:.0f} s")
        wait_until_serving(project)
        say(f"serving through the front: {time.monotonic() - started:.0f} s after up")
        yield project
    finally:
        if os.environ.get("FED_COMPOSE_KEEP") == "1":
            say(f"FED_COMPOSE_KEEP=1: project {PROJECT} left up; docker-compose -p {PROJECT} down -v")
        else:
            project.run("down", "-v", "--remove-orphans", timeout=300, check=False)


def registered_nodes(project: Compose):
    status, body = project.inside("catalog", "/v1/nodes")
    if status != 200:
        return f"catalog: {status} {body}"
    ids = sorted(node.get("id") for node in body.get("nodes", body) if isinstance(node, dict))
    return ids if ids == sorted(NODES) else f"catalog lists {ids}"


def wait_until_serving(project: Compose) -> None:
    eventually("the catalog lists the three nodes", lambda: registered_nodes(project),
               details=lambda: project.logs("catalog", "node-us-west"))
    for index in range(1, GATEWAYS + 1):
        eventually(f"gateway #{index} is ready", lambda: project.inside("gateway", "/readyz", index)[0] == 200,
                   details=lambda: project.logs("gateway"))
    eventually("a chat completion through the front", lambda: project.chat()[0] == 200,
               details=lambda: project.logs("front", "gateway"))


def test_builder_stage_is_identical_in_every_dockerfile():
    """Docker builds the Swift products once only if every Dockerfile's builder stage is byte-identical."""
    stages = {}
    for dockerfile in sorted((REPO_ROOT / "services").glob("*/Dockerfile")):
        text = dockerfile.read_text()
        if "AS builder" in text:
            stages[dockerfile.parent.name] = text.split("# ---- runtime")[0]
    assert sorted(stages) == ["catalog", "gateway", "health", "node", "router"], stages.keys()
    first = next(iter(stages.values()))
    different = [name for name, stage in stages.items() if stage != first]
    assert not different, f"builder stage differs in services/{different}/Dockerfile"
    say(f"builder stage identical in {sorted(stages)}")


def test_services_are_healthy_and_only_front_and_redis_are_published(cluster: Compose):
    ps = cluster.run("ps").stdout
    say("docker-compose ps:\n" + ps)
    containers = cluster.run("ps", "-q").stdout.split()
    assert len(containers) == 1 + 1 + 2 + 1 + GATEWAYS + 1 + len(NODES), ps
    published = []
    for container in containers:
        inspected = json.loads(cluster.docker("inspect", container))[0]
        name = inspected["Config"]["Labels"]["com.docker.compose.service"]  # v1 and v2 name containers differently
        health = inspected["State"].get("Health", {}).get("Status")
        assert health == "healthy", f"{name} is {health}"
        for port, bindings in (inspected["NetworkSettings"]["Ports"] or {}).items():
            for binding in bindings or []:
                published.append((name, port, binding["HostIp"], binding["HostPort"]))
    say(f"published: {published}")
    status, body = cluster.inside("catalog", "/v1/nodes")
    endpoints = {node["id"]: node["endpoint"] for node in body["nodes"]}
    say(f"registered endpoints: {endpoints}")
    assert endpoints == {node: f"http://{service}:8000" for node, service in NODES.items()}, endpoints
    # (the front may be bound on IPv4 and IPv6 both; Redis only on loopback)
    assert {(name, port, host_port) for name, port, _, host_port in published} == {
        ("front", "8080/tcp", str(cluster.front_port)),
        ("redis", "6379/tcp", str(cluster.redis_port)),
    }, published
    assert [ip for name, _, ip, _ in published if name == "redis"] == ["127.0.0.1"], published


def test_openai_client_gets_streamed_and_non_streamed_answers_through_the_front(cluster: Compose):
    from openai import OpenAI

    client = OpenAI(base_url=cluster.front + "/v1", api_key="unused", max_retries=0, timeout=30)
    answer = client.chat.completions.create(model="llama-3-8b", messages=[{"role": "user", "content": "Hi"}])
    text = answer.choices[0].message.content
    say(f"non-streamed: {text!r}")
    assert text

    chunks = [chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
        model="llama-3-8b", messages=[{"role": "user", "content": "Hi"}], stream=True) if chunk.choices]
    say(f"streamed: {len(chunks)} chunks, {''.join(chunks)!r}")
    assert sum(1 for chunk in chunks if chunk) > 1, chunks
    assert "".join(chunks) == text  # the nodes answer deterministically

    # the front spreads requests over every replica: each one served some
    for _ in range(30):
        assert cluster.chat()[0] == 200
    served = []
    for index in range(1, GATEWAYS + 1):
        status, stats = cluster.inside("gateway", "/v1/stats", index)
        assert status == 200, stats
        served.append(stats["total_requests"])
    say(f"requests per gateway replica: {served}")
    assert all(count > 0 for count in served), served


def serving_node(cluster: Compose, requests: int = 20) -> str:
    counts = collections.Counter()
    for _ in range(requests):
        status, node, body = cluster.chat()
        assert status == 200, body
        counts[node] += 1
    say(f"served by {dict(counts)}")
    return counts.most_common(1)[0][0]


def test_five_failing_reports_make_every_replica_route_around_the_node(cluster: Compose):
    node = serving_node(cluster)
    reports = "".join(
        f"PUBLISH fed:health:reports {json.dumps(json.dumps({'node': node, 'ok': False, 'status': 503}))}\n"
        for _ in range(5))
    receivers = cluster.redis_cli(stdin=reports).split()
    say(f"published 5 failing reports for {node} (subscribers per report: {receivers})")

    def replicas_see_it_open():
        views = []
        for index in range(1, GATEWAYS + 1):
            status, body = cluster.inside("gateway", "/v1/nodes", index)
            entry = next((n for n in body.get("nodes", []) if n.get("id", n.get("node")) == node), None) \
                if status == 200 and isinstance(body, dict) else None
            views.append(entry)
        circuits = [str((entry or {}).get("circuit")) for entry in views]
        return views if all("open" in circuit and "half" not in circuit for circuit in circuits) \
            else f"circuits of {node} per replica: {circuits}"

    views = eventually(f"every replica's /v1/nodes shows {node}'s circuit open", replicas_see_it_open, timeout=20,
                       interval=0.5)
    say(f"{node} in each replica's view: {[view.get('circuit') for view in views]}")
    counts = collections.Counter()
    for _ in range(60):
        status, served_by, body = cluster.chat()
        assert status == 200, body
        counts[served_by] += 1
    say(f"60 requests through the front after the reports: {dict(counts)}")
    assert node not in counts, f"{node} still served {counts[node]} of 60 requests"

    # close the circuit again (the leader answers; a standby says not_leader) so the next tests start clean
    closed = [cluster.inside(service, f"/v1/circuits/{node}/close", method="POST", body={})[0]
              for service in ("health", "health-standby")]
    assert 200 in closed, closed
    eventually(f"{node} serves again", lambda: serving_node(cluster, 10) == node, timeout=60, interval=2)


def test_killing_a_gateway_and_a_node_under_load_fails_no_request(cluster: Compose):
    node = serving_node(cluster)
    failures, served = [], collections.Counter()
    stop = threading.Event()

    def load():
        while not stop.is_set():
            status, served_by, body = cluster.chat(timeout=60)
            if status == 200:
                served[served_by] += 1
            else:
                failures.append((time.strftime("%H:%M:%S"), status, str(body)[:200]))

    workers = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(3)
    gateway = cluster.containers("gateway")[0]
    cluster.docker("kill", gateway)
    say(f"killed gateway container {gateway[:12]} under load ({sum(served.values())} requests so far)")
    time.sleep(3)
    cluster.docker("kill", cluster.containers(NODES[node])[0])
    say(f"killed {NODES[node]} ({node}) under load ({sum(served.values())} requests so far)")
    before = sum(served.values())
    time.sleep(12)
    stop.set()
    for worker in workers:
        worker.join(timeout=90)
    say(f"served {dict(served)} ({sum(served.values()) - before} after the node was killed); failures: {failures}")
    assert not failures, f"{len(failures)} requests failed: {failures[:5]}\n{cluster.logs('front', 'gateway')}"
    assert sum(served.values()) - before > 10, served

    cluster.run("start")  # the killed containers come back (a killed container is not restarted)
    eventually("the gateway and the node are back",
               lambda: cluster.inside("gateway", "/readyz", GATEWAYS)[0] == 200 and registered_nodes(cluster)
               and all(cluster.inside("gateway", "/readyz", i)[0] == 200 for i in range(1, GATEWAYS + 1)),
               details=lambda: cluster.run("ps").stdout)


def test_redis_restart_loses_no_registration(cluster: Compose):
    before = sorted(cluster.redis_cli("SMEMBERS", "fed:nodes").split())
    assert before == sorted(NODES), before
    started = time.monotonic()
    cluster.run("restart", "redis")
    eventually("redis answers after the restart", lambda: cluster.redis_cli("PING").strip() == "PONG")
    after = sorted(cluster.redis_cli("SMEMBERS", "fed:nodes").split())
    say(f"redis restarted in {time.monotonic() - started:.1f} s; fed:nodes right after: {after}")
    assert after == sorted(NODES), f"registrations lost with the restart: {after} (append-only file on the volume?)"
    eventually("the catalog lists all three nodes again", lambda: registered_nodes(cluster))

    def twenty_in_a_row():
        return all(cluster.chat()[0] == 200 for _ in range(20))

    eventually("20 requests in a row through the front after the restart", twenty_in_a_row, interval=2)
    for index in range(1, GATEWAYS + 1):
        eventually(f"gateway #{index} ready after the restart",
                   lambda: cluster.inside("gateway", "/readyz", index)[0] == 200)
    say(f"recovered {time.monotonic() - started:.1f} s after the restart began")


def test_down_leaves_nothing_of_the_project(cluster: Compose):
    cluster.run("down", "-v", "--remove-orphans", timeout=300)
    label = f"label=com.docker.compose.project={PROJECT}"
    left = {
        "containers": cluster.docker("ps", "-a", "-q", "--filter", label).split(),
        "networks": cluster.docker("network", "ls", "-q", "--filter", label).split(),
        "volumes": cluster.docker("volume", "ls", "-q", "--filter", label).split(),
    }
    say(f"after down -v: {left}")
    assert left == {"containers": [], "networks": [], "volumes": []}, left
