"""Steady load through both gateway replicas, every request recorded, and a sampler of the control
plane (health roles, catalog, Redis keys, the gateways' views) while a scenario runs.

The client model: each client thread belongs to one replica (its "home"), keeps one keep-alive
HTTP/1.1 connection per replica and sends non-streamed chat completions at a fixed rate. Between
the clients and the replicas sits a modelled front, as HAProxy would be with
`option redispatch` + `retry-on conn-failure empty-response` + a health check every 0.5 s:
  - a request whose attempt gets no HTTP answer at all (refused, reset, closed before a response)
    is sent once more to the other replica ("front retry");
  - while a replica fails its health check (GET /healthz, 0.5 s timeout), its clients' requests go
    to the other replica ("redirected");
  - a request that times out (no answer within --client-timeout) is not retried: it is lost.
A 200 whose body is not a chat.completion with a message counts as failed (bad_body)."""

import http.client
import json
import socket
import threading
import time

CHAT = json.dumps({"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}).encode()
NO_ANSWER = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine,
             http.client.IncompleteRead, http.client.CannotSendRequest, http.client.ResponseNotReady)


class Record:
    __slots__ = ("t", "home", "replica", "outcome", "status", "node", "latency", "error", "front_retry", "redirected")

    def __init__(self, **fields):
        for key, value in fields.items():
            setattr(self, key, value)


class Front:
    """The modelled front's health check of the replicas."""

    def __init__(self, replicas: dict):
        self.replicas = replicas  # name -> (host, port)
        self.up = {name: True for name in replicas}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for name, (host, port) in self.replicas.items():
                try:
                    connection = http.client.HTTPConnection(host, port, timeout=0.5)
                    connection.request("GET", "/healthz")
                    self.up[name] = connection.getresponse().status == 200
                    connection.close()
                except (OSError, http.client.HTTPException):
                    self.up[name] = False
            self.stop.wait(0.5)

    def other(self, name: str) -> str:
        return next(other for other in self.replicas if other != name)


class Load:
    def __init__(self, replicas: dict, clients_per_replica: int, rate_per_client: float, client_timeout: float, t0: float):
        self.replicas = replicas
        self.front = Front(replicas)
        self.clients = clients_per_replica
        self.interval = 1.0 / rate_per_client
        self.timeout = client_timeout
        self.t0 = t0
        self.records: list = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(home,), daemon=True)
                        for home in replicas for _ in range(clients_per_replica)]

    def start(self):
        self.front.thread.start()
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)
        self.front.stop.set()
        self.front.thread.join(timeout=3)

    def attempt(self, connections: dict, replica: str):
        """(status, headers, body) or raises a NO_ANSWER error / socket.timeout."""
        connection = connections.get(replica)
        if connection is None:
            host, port = self.replicas[replica]
            connection = connections[replica] = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            connection.request("POST", "/v1/chat/completions", body=CHAT, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            body = response.read()
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connections.pop(replica, None)
            return response.status, response, body
        except BaseException:
            connection.close()
            connections.pop(replica, None)
            raise

    def client(self, home: str):
        connections: dict = {}
        next_send = time.monotonic()
        while not self.stop_event.is_set():
            now = time.monotonic()
            if next_send > now:
                if self.stop_event.wait(next_send - now):
                    break
            next_send = max(next_send + self.interval, time.monotonic() - self.interval)
            sent = time.monotonic()
            replica = home
            redirected = not self.front.up[home] and self.front.up[self.front.other(home)]
            if redirected:
                replica = self.front.other(home)
            front_retry = False
            outcome, status, node, error = "lost", None, None, None
            for attempt in range(2):
                try:
                    status, response, body = self.attempt(connections, replica)
                    node = response.getheader("X-Federation-Node")
                    if status == 200:
                        try:
                            answer = json.loads(body)
                            ok = isinstance(answer["choices"][0]["message"]["content"], str)
                        except (ValueError, KeyError, IndexError, TypeError):
                            ok = False
                        outcome, error = ("ok", None) if ok else ("failed", "bad_body")
                    else:
                        try:
                            error = json.loads(body)["error"]["code"]
                        except (ValueError, KeyError, TypeError):
                            error = f"http_{status}"
                        outcome = "failed"
                    break
                except socket.timeout:
                    outcome, error = "lost", "timeout"
                    break
                except (OSError, *NO_ANSWER) as problem:
                    outcome, error = "lost", type(problem).__name__
                    if attempt == 0:
                        front_retry = True
                        replica = self.front.other(replica)
            record = Record(t=sent - self.t0, home=home, replica=replica, outcome=outcome, status=status, node=node,
                            latency=time.monotonic() - sent, error=error, front_retry=front_retry, redirected=redirected)
            with self.lock:
                self.records.append(record)
        for connection in connections.values():
            connection.close()


class Sampler:
    """Every `interval` s: who leads health (each instance's /v1/health), the leader token and key
    counts in Redis, the catalog's nodes, gateway-1's view of the nodes, every service's /readyz."""

    def __init__(self, cluster, t0: float, interval: float = 0.2):
        from cluster import Redis  # its own connection: the scenario thread uses cluster.redis

        self.cluster = cluster
        self.redis = Redis(cluster.redis_port)
        self.t0 = t0
        self.interval = interval
        self.samples: list = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def get(self, name: str, path: str):
        from cluster import http_json

        try:
            return http_json(self.cluster.url(name) + path, timeout=0.5)
        except OSError:
            return None, None

    def redis_state(self) -> dict:
        ns = self.cluster.ns
        try:
            leader = self.redis("GET", f"{ns}:health-leader")
            return {
                "nodes": self.redis("SCARD", f"{ns}:nodes"), "leases": self.redis("ZCARD", f"{ns}:leases"),
                "policy": self.redis("EXISTS", f"{ns}:policy"),
                "health_index": self.redis("SCARD", f"{ns}:health-index"),
                "leader": leader.decode() if leader else None,
            }
        except Exception:  # down, paused or loading: the sample says so
            return {"down": True}

    def run(self):
        while not self.stop_event.is_set():
            started = time.monotonic()
            sample = {"t": started - self.t0, "redis": self.redis_state()}
            for name in ("health-a", "health-b"):
                status, body = self.get(name, "/v1/health")
                if status == 200 and body:
                    sample[name] = {"role": body.get("role"), "leader": body.get("leader"),
                                    "nodes": {n.get("node"): n.get("state") for n in body.get("nodes", [])}}
            status, body = self.get("catalog", "/v1/nodes")
            if status == 200 and body:
                sample["catalog"] = sorted(n.get("id") for n in body.get("nodes", []))
            status, body = self.get("gateway-1", "/v1/nodes")
            if status == 200 and body:
                sample["view"] = {n.get("node"): (n.get("health"), n.get("circuit")) for n in body.get("nodes", [])}
            status, body = self.get("gateway-1", "/v1/stats?scope=cluster")
            if status == 200 and body:
                sample["live_replicas"] = body.get("live_replicas")
            sample["ready"] = {name: self.get(name, "/readyz")[0]
                               for name in ("catalog", "health-a", "router", "gateway-1", "gateway-2")}
            self.samples.append(sample)
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        self.redis.close()

    def first(self, after: float, predicate):
        """The time of the first sample at or after `after` for which predicate(sample) holds."""
        for sample in self.samples:
            if sample["t"] >= after and predicate(sample):
                return sample["t"]
        return None
