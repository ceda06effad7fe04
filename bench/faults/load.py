"""Steady load through both gateway replicas, every request recorded, and a sampler of the control
plane (health roles, catalog, Redis keys, the gateways' views) while a scenario runs.

The client model: open loop, per replica (the clients' "home") a fixed rate of non-streamed chat
completions served by a pool of worker threads, each with one keep-alive HTTP/1.1 connection per
replica; latency counts from the intended send time. Between
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
    __slots__ = ("t", "home", "replica", "outcome", "status", "node", "latency", "error", "front_retry", "redirected",
                 "detail")

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
    """Open loop: per replica a ticker issues requests at a fixed rate into a queue that `workers`
    threads serve (each with its own keep-alive connections); a request's latency runs from its
    intended send time, so a stall shows as latency instead of as a pause in the offered load."""

    def __init__(self, replicas: dict, workers_per_replica: int, rate_per_replica: float, client_timeout: float,
                 t0: float):
        import queue

        self.replicas = replicas
        self.front = Front(replicas)
        self.interval = 1.0 / rate_per_replica
        self.timeout = client_timeout
        self.t0 = t0
        self.records: list = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.queues = {home: queue.Queue() for home in replicas}
        self.workers_per_replica = workers_per_replica
        self.workers = [threading.Thread(target=self.worker, args=(home,), daemon=True)
                        for home in replicas for _ in range(workers_per_replica)]
        self.tickers = [threading.Thread(target=self.ticker, args=(home,), daemon=True) for home in replicas]

    def start(self):
        self.front.thread.start()
        for thread in self.workers + self.tickers:
            thread.start()

    def stop(self):
        self.stop_event.set()
        for thread in self.tickers:
            thread.join(timeout=5)
        for home, pending in self.queues.items():
            for _ in range(self.workers_per_replica):
                pending.put(None)
        for thread in self.workers:
            thread.join(timeout=self.timeout * 2 + 5)
        self.front.stop.set()
        self.front.thread.join(timeout=3)

    def ticker(self, home: str):
        next_send = time.monotonic()
        while not self.stop_event.is_set():
            self.queues[home].put(next_send)
            next_send += self.interval
            delay = next_send - time.monotonic()
            if delay > 0 and self.stop_event.wait(delay):
                break

    def attempt(self, connections: dict, replica: str):
        """(status, response, body) or raises a NO_ANSWER error / socket.timeout."""
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

    def worker(self, home: str):
        connections: dict = {}
        while True:
            intended = self.queues[home].get()
            if intended is None:
                break
            self.one_request(connections, home, intended)
        for connection in connections.values():
            connection.close()

    def one_request(self, connections: dict, home: str, intended: float):
        other = self.front.other(home)
        redirected = not self.front.up[home] and self.front.up[other]
        replica = other if redirected else home
        front_retry = False
        outcome, status, node, error, detail = "lost", None, None, None, None
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
                if outcome != "ok":
                    detail = body[:60]
                break
            except socket.timeout:
                outcome, error = "lost", "timeout"
                break
            except (OSError, *NO_ANSWER) as problem:
                outcome, error = "lost", type(problem).__name__
                if attempt == 0:
                    front_retry = True
                    replica = self.front.other(replica)
        record = Record(t=intended - self.t0, home=home, replica=replica, outcome=outcome, status=status, node=node,
                        latency=time.monotonic() - intended, error=error, front_retry=front_retry,
                        redirected=redirected, detail=detail)
        with self.lock:
            self.records.append(record)


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

    def timed_get(self, name: str, path: str):
        started = time.monotonic()
        status, body = self.get(name, path)
        return status, body, time.monotonic() - started

    def run(self):
        from concurrent.futures import ThreadPoolExecutor

        calls = [("health-a", "/v1/health"), ("health-b", "/v1/health"), ("catalog", "/v1/nodes"),
                 ("gateway-1", "/v1/nodes"), ("gateway-1", "/v1/stats?scope=cluster")]
        ready = ("catalog", "health-a", "router", "gateway-1", "gateway-2")
        calls += [(name, "/readyz") for name in ready]
        with ThreadPoolExecutor(max_workers=len(calls) + 1) as pool:
            while not self.stop_event.is_set():
                self.sample_once(pool, calls, ready)

    def sample_once(self, pool, calls, ready):
        # every call at once: a Redis that hangs (SIGSTOP) slows a sample to one timeout, not ten
        started = time.monotonic()
        futures = {call: pool.submit(self.timed_get, *call) for call in calls}
        redis_state = pool.submit(self.redis_state)
        answers = {call: future.result() for call, future in futures.items()}
        sample = {"t": started - self.t0, "redis": redis_state.result()}
        for name in ("health-a", "health-b"):
            status, body, _ = answers[(name, "/v1/health")]
            if status == 200 and body:
                sample[name] = {"role": body.get("role"), "leader": body.get("leader"),
                                "nodes": {n.get("node"): n.get("state") for n in body.get("nodes", [])}}
        status, body, _ = answers[("catalog", "/v1/nodes")]
        if status == 200 and body:
            sample["catalog"] = sorted(n.get("id") for n in body.get("nodes", []))
        status, body, _ = answers[("gateway-1", "/v1/nodes")]
        if status == 200 and body:
            sample["view"] = {n.get("node"): (n.get("health"), n.get("circuit")) for n in body.get("nodes", [])}
        status, body, _ = answers[("gateway-1", "/v1/stats?scope=cluster")]
        if status == 200 and body:
            sample["live_replicas"] = body.get("live_replicas")
        sample["ready"] = {name: answers[(name, "/readyz")][0] for name in ready}
        sample["ready_s"] = {name: answers[(name, "/readyz")][2] for name in ready}
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
