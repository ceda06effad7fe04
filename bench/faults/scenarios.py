"""The seven faults (a … g) of the suite: what each does to the running cluster, which marks it
sets, and what it measures of the control plane. `run` starts a fresh cluster and the load,
calls the scenario, counts the records and draws the timeline."""

import collections
import json
import pathlib
import signal
import sys
import time

from cluster import NODES, MODEL, Cluster, RedisReplyError, free_port
from load import Load, Sampler

HERE = pathlib.Path(__file__).resolve().parent
BAD_NODE = "bad-node-1"
BAD_NODE_2 = "bad-node-2"


class Context:
    def __init__(self, key, cluster, load, sampler, t0, settings, quick):
        self.key = key
        self.cluster = cluster
        self.load = load
        self.sampler = sampler
        self.t0 = t0
        self.settings = settings
        self.quick = quick
        self.events: list = []  # (t, label)
        self.window = [None, None]
        self.checks: list = []  # (what, seconds or None, bound seconds, bound text)
        self.facts: list = []
        self.recovery_from = None  # when the client-visible recovery is counted from (default: the window's start)

    def span(self, quick: float, full: float) -> float:
        return quick if self.quick else full

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, label: str) -> float:
        t = self.now()
        self.events.append((t, label))
        print(f"   t={t:6.2f} s  {label}", file=sys.stderr)
        return t

    def fault_start(self, label: str) -> float:
        self.window[0] = self.mark(label)
        return self.window[0]

    def fault_end(self, label: str) -> float:
        self.window[1] = self.mark(label)
        return self.window[1]

    def wait_until(self, predicate, timeout: float, step: float = 0.05):
        """The time (s since t0) predicate() first held, or None after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return self.now()
            except (OSError, RedisReplyError, ValueError):
                pass
            time.sleep(step)
        return None

    def check(self, what: str, since: float, at, bound: float, bound_text: str):
        # observed: how long after `since` the scenario watched (checks are made at its end)
        self.checks.append((what, None if at is None else at - since, bound, bound_text, self.now() - since))

    def served_by(self, node: str, after: float):
        times = [r.t for r in list(self.load.records) if r.t >= after and r.node == node and r.outcome == "ok"]
        return min(times) if times else None

    # bounds of the goal "every recovery within one probe interval + one lease period"
    def node_bound(self):
        s = self.settings
        return s["probe_interval_s"] + s["node_lease_s"], f"probe {s['probe_interval_s']:g} s + node lease {s['node_lease_s']:g} s"

    def control_bound(self):
        s = self.settings
        return s["probe_interval_s"] + s["health_lease_s"], \
            f"probe {s['probe_interval_s']:g} s + health lease {s['health_lease_s']:g} s"


def fmt_s(seconds):
    return "—" if seconds is None else f"{seconds:.2f} s"


def view_of(sample, node):
    return (sample.get("view") or {}).get(node)


# ---- the scenarios ---------------------------------------------------------------------------------

def kill_node(ctx: Context):
    served = collections.Counter(r.node for r in list(ctx.load.records) if r.outcome == "ok")
    victim = served.most_common(1)[0][0] if served else NODES[0][0]
    share = served[victim] / max(1, sum(served.values()))
    ctx.facts.append(f"victim {victim}: it served {share:.0%} of the answers before the kill")
    t_kill = ctx.fault_start(f"kill -9 {victim}")
    ctx.cluster.kill(victim)
    ctx.cluster.procs.pop(victim)
    time.sleep(ctx.span(8, 20))
    t_restart = ctx.fault_end(f"restart {victim}")
    ctx.cluster.start_node(victim)
    time.sleep(ctx.span(10, 36))  # full: past the circuit's 30 s reset and the 32 s bound
    bound, text = ctx.node_bound()
    sampler = ctx.sampler
    ctx.check(f"gateway-1's view marks {victim} not healthy/closed", t_kill,
              sampler.first(t_kill, lambda s: view_of(s, victim) not in (None, ("healthy", "closed"))), bound, text)
    leader_says = sampler.first(t_kill, lambda s: (s.get("health-a") or {}).get("nodes", {}).get(victim) == "unhealthy")
    ctx.check(f"health leader reports {victim} unhealthy", t_kill, leader_says, bound, text)
    ctx.check(f"{victim} healthy and closed again in gateway-1's view after its restart", t_restart,
              sampler.first(t_restart, lambda s: view_of(s, victim) == ("healthy", "closed")), bound, text)
    ctx.check(f"{victim} serves again after its restart", t_restart, ctx.served_by(victim, t_restart), bound, text)


def kill_health_leader(ctx: Context):
    before = ctx.cluster.redis("GET", f"{ctx.settings['namespace']}:health-leader").decode()
    ctx.facts.append(f"leader token before: {before}")
    t_kill = ctx.fault_start("kill -9 health-a (the leader)")
    ctx.cluster.kill("health-a")
    ctx.cluster.procs.pop("health-a")
    from cluster import http_json

    takeover = ctx.wait_until(lambda: http_json(ctx.cluster.url("health-b") + "/v1/health", timeout=0.5)[1]
                              .get("role") == "leader", timeout=20)
    if takeover is None:
        ctx.fault_end("no takeover within 20 s")
    else:
        ctx.fault_end("health-b answers role=leader")
    time.sleep(ctx.span(8, 18))
    bound, text = ctx.control_bound()
    ctx.check("standby health-b leads (its /v1/health role)", t_kill, takeover, bound, text)
    ns = ctx.settings["namespace"]
    token_at = ctx.sampler.first(t_kill, lambda s: ((s.get("redis") or {}).get("leader") or "").startswith("health-b"))
    ctx.check(f"{ns}:health-leader holds health-b's token", t_kill, token_at, bound, text)
    # the new leader writes: a node's last_check moves on after the takeover
    if takeover is not None:
        try:
            status, body = http_json(ctx.cluster.url("health-b") + "/v1/health", timeout=1)
            states = {n["node"]: n["state"] for n in body.get("nodes", [])}
            ctx.facts.append(f"health-b's view of the nodes after the takeover: {states}")
        except OSError as error:
            ctx.facts.append(f"health-b did not answer after the takeover: {error}")
    for line in ctx.cluster.grep_log("health-b", "acquired the leader lease", "standing by"):
        ctx.facts.append(f"health-b log: `{line.strip()[:220]}`")


def kill_gateway(ctx: Context):
    t_kill = ctx.fault_start("kill -9 gateway-2")
    ctx.cluster.kill("gateway-2")
    ctx.cluster.procs.pop("gateway-2")
    time.sleep(ctx.span(7, 16))
    t_restart = ctx.fault_end("restart gateway-2")
    ctx.cluster.start_gateway("gateway-2")
    ready = ctx.now()
    time.sleep(ctx.span(6, 14))
    bound, text = ctx.control_bound()
    ctx.check("gateway-1's cluster stats count 1 live replica (heartbeat lapsed)", t_kill,
              ctx.sampler.first(t_kill, lambda s: s.get("live_replicas") == 1), 15.0, "heartbeat liveness 15 s")
    ctx.check("restarted gateway-2 ready (/readyz 200)", t_restart, ready, bound, text)
    back = [r.t for r in list(ctx.load.records) if r.t >= t_restart and r.replica == "gateway-2" and r.outcome == "ok"]
    ctx.check("the front sends gateway-2's clients to it again", t_restart, min(back) if back else None, bound, text)


def policy_document(raw):
    """The stored policy as JSON without its `version` (the hash's field is authoritative)."""
    if raw is None:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(document, dict):
        document.pop("version", None)
        document.pop("updated_at", None)
    return document


def redis_snapshot(ctx: Context) -> dict:
    ns = ctx.settings["namespace"]
    redis = ctx.cluster.redis
    nodes = sorted(n.decode() for n in redis("SMEMBERS", f"{ns}:nodes"))
    return {
        "nodes": nodes,
        "models": {n: sorted(m.decode() for m in redis("SMEMBERS", f"{ns}:node-models:{n}")) for n in nodes},
        "leases": sorted(m.decode() for m in redis("ZRANGE", f"{ns}:leases", 0, -1)),
        "policy": policy_document(redis("HGET", f"{ns}:policy", "document")),
        "policy_version": redis("HGET", f"{ns}:policy", "version"),
    }


def compare_snapshots(ctx: Context, before: dict, after: dict, when: str):
    for key in ("nodes", "models", "leases"):
        same = before[key] == after[key]
        ctx.facts.append(f"{when}: {key} {'unchanged' if same else 'CHANGED'}: {after[key] if not same else len(before[key])}"
                         + ("" if same else f" (before {before[key]})"))
    if before["policy"] != after["policy"] and isinstance(before["policy"], dict) and isinstance(after["policy"], dict):
        keys = sorted(k for k in set(before["policy"]) | set(after["policy"])
                      if before["policy"].get(k) != after["policy"].get(k))
        ctx.facts.append(f"{when}: policy keys that differ: {keys}")
    ctx.facts.append(f"{when}: policy document {'unchanged' if before['policy'] == after['policy'] else 'CHANGED'} "
                     f"(version {before['policy_version'] and before['policy_version'].decode()} → "
                     f"{after['policy_version'] and after['policy_version'].decode()})")


def all_ready(sample) -> bool:
    return all(status == 200 for status in (sample.get("ready") or {}).values())


def restart_redis(ctx: Context):
    before = redis_snapshot(ctx)
    t_kill = ctx.fault_start("kill -9 redis")
    ctx.cluster.kill("redis")
    time.sleep(ctx.span(4, 10))
    t_back = ctx.fault_end("redis restarted (same dir, append-only file)")
    ctx.cluster.start_redis(fresh_dir=False)
    compare_snapshots(ctx, before, redis_snapshot(ctx), "right after the restart")
    time.sleep(ctx.span(9, 20))
    compare_snapshots(ctx, before, redis_snapshot(ctx), "at the end")
    bound, text = ctx.control_bound()
    ctx.check("every service's /readyz 200 again", t_back, ctx.sampler.first(t_back, all_ready), bound, text)
    during = [s for s in ctx.sampler.samples if t_kill + 1 <= s["t"] <= t_back]
    ready_gw = sum(1 for s in during if (s.get("ready") or {}).get("gateway-1") == 200)
    ctx.facts.append(f"while Redis was down gateway-1's /readyz answered 200 in {ready_gw} of {len(during)} samples "
                     "(a gateway stays ready and routes from its view)")


def restart_redis_empty(ctx: Context):
    before = redis_snapshot(ctx)
    ns = ctx.settings["namespace"]
    redis = ctx.cluster.redis
    ctx.fault_start("kill -9 redis, start it EMPTY (new dir)")
    ctx.cluster.kill("redis")
    ctx.cluster.start_redis(fresh_dir=True)
    t_empty = ctx.mark("empty redis answers")
    count = len(before["nodes"])
    targets = {
        "registrations back (SCARD nodes)": lambda: redis("SCARD", f"{ns}:nodes") == count,
        "leases back (ZCARD leases)": lambda: redis("ZCARD", f"{ns}:leases") == len(before["leases"]),
        "policy back (same document)": lambda: policy_document(redis("HGET", f"{ns}:policy", "document")) == before["policy"],
        "health records back (SCARD health-index)": lambda: redis("SCARD", f"{ns}:health-index") == count,
        "health leader lease held": lambda: redis("EXISTS", f"{ns}:health-leader") == 1,
    }
    reached = {}
    deadline = time.monotonic() + ctx.span(20, 30)
    while time.monotonic() < deadline and len(reached) < len(targets):
        for what, predicate in targets.items():
            if what not in reached:
                try:
                    if predicate():
                        reached[what] = ctx.now()
                except (OSError, RedisReplyError):
                    pass
        time.sleep(0.05)
    ctx.fault_end("cluster re-populated" if len(reached) == len(targets) else "re-population timed out")
    bound, text = ctx.control_bound()
    for what in targets:
        ctx.check(what, t_empty, reached.get(what), bound, text)
    time.sleep(ctx.span(6, 14))
    ctx.check("every service's /readyz 200 again", t_empty, ctx.sampler.first(t_empty, all_ready), bound, text)
    compare_snapshots(ctx, before, redis_snapshot(ctx), "at the end")


def pause_redis(ctx: Context):
    seconds = ctx.span(5, 15)
    t_stop = ctx.fault_start(f"SIGSTOP redis ({seconds:g} s)")
    ctx.cluster.kill("redis", signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        ctx.cluster.kill("redis", signal.SIGCONT)
    t_cont = ctx.fault_end("SIGCONT redis")
    time.sleep(ctx.span(8, 16))
    bound, text = ctx.control_bound()
    ctx.check("every service's /readyz 200 again", t_cont, ctx.sampler.first(t_cont, all_ready), bound, text)
    during = [s for s in ctx.sampler.samples if t_stop + 1 <= s["t"] <= t_cont]
    for gateway in ("gateway-1", "gateway-2"):
        ready = sum(1 for s in during if (s.get("ready") or {}).get(gateway) == 200)
        slowest = max((s["ready_s"][gateway] for s in during if "ready_s" in s), default=None)
        ctx.facts.append(f"while Redis was paused {gateway}'s /readyz answered 200 in {ready} of {len(during)} samples "
                         f"(0.5 s timeout; slowest {fmt_s(slowest)}; other codes: "
                         f"{sorted(collections.Counter(str((s.get('ready') or {}).get(gateway)) for s in during).items())})")


def bad_node(ctx: Context):
    cluster = ctx.cluster
    cluster.ports[BAD_NODE] = port = free_port()
    slow = 2.0
    t_reg = ctx.fault_start(f"{BAD_NODE} registers (answers after {slow:g} s)")
    cluster.spawn(BAD_NODE, [sys.executable, HERE / "bad_node.py", "--port", port, "--node-id", BAD_NODE,
                             "--region", "us-west", "--model", MODEL, "--register-url", cluster.url("catalog"),
                             "--register-interval", f"{ctx.settings['register_interval_s']:g}",
                             "--slow-seconds", f"{slow:g}"])
    seen = ctx.wait_until(lambda: view_of(ctx.sampler.samples[-1], BAD_NODE) is not None, timeout=15)
    ctx.mark(f"gateway-1's view has {BAD_NODE}" if seen else f"{BAD_NODE} not in the view after 15 s")
    time.sleep(ctx.span(9, 22))
    t_garbage = ctx.mark(f"{BAD_NODE} answers garbage; {BAD_NODE_2} (garbage, healthy /health) registers")
    cluster.kill(BAD_NODE, signal.SIGUSR1)
    ctx.recovery_from = t_garbage  # the slow phase fails nothing; recovery is from the garbage
    # bad-node-1 is avoided by then (its reported latency is 2 s), so the garbage would meet only
    # probes: bad-node-2 is new, answers /health at once (it looks like the fastest node) and every
    # request with garbage, so the gateways meet garbage under load and must route around it
    cluster.ports[BAD_NODE_2] = port_2 = free_port()
    cluster.spawn(BAD_NODE_2, [sys.executable, HERE / "bad_node.py", "--port", port_2, "--node-id", BAD_NODE_2,
                               "--region", "us-west", "--model", MODEL, "--register-url", cluster.url("catalog"),
                               "--register-interval", f"{ctx.settings['register_interval_s']:g}",
                               "--mode", "garbage", "--healthy-probe"])
    time.sleep(ctx.span(10, 24))
    t_end = ctx.fault_end("both bad nodes stopped (deregister)")
    for name in (BAD_NODE, BAD_NODE_2):
        cluster.kill(name, signal.SIGTERM)
    for name in (BAD_NODE, BAD_NODE_2):
        cluster.procs[name].wait(timeout=10)
    time.sleep(ctx.span(4, 8))
    answers = collections.Counter()
    last_chat, first_chat = {}, {}
    for name in (BAD_NODE, BAD_NODE_2):
        for line in (cluster.logs / f"{name}.log").read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[1] == "answer":
                answers[(name, parts[2], parts[3], parts[4])] += 1
                if parts[4] == "/v1/chat/completions":
                    at = float(parts[0]) - ctx.t0
                    last_chat[(name, parts[2])] = at
                    first_chat.setdefault((name, parts[2]), at)
    ctx.facts.append("what the bad nodes sent: " + ", ".join(f"{name} {mode}/{kind} {path}: {n}" for
                                                           (name, mode, kind, path), n in sorted(answers.items())))
    records = list(ctx.load.records)
    slow_served = [r for r in records if r.node == BAD_NODE and t_reg <= r.t < t_garbage]
    ctx.facts.append(f"slow phase: {len(slow_served)} client requests answered by {BAD_NODE}; "
                     f"{sum(1 for r in records if t_reg <= r.t < t_garbage and r.latency > 1.0)} of "
                     f"{sum(1 for r in records if t_reg <= r.t < t_garbage)} took over 1 s")
    bound, text = ctx.node_bound()
    ctx.check(f"the gateways stop sending chat requests to the slow {BAD_NODE} (its last slow answer)", t_reg,
              last_chat.get((BAD_NODE, "slow"), t_reg), bound, text)
    ctx.check(f"gateway-1's view marks {BAD_NODE} (all garbage) not healthy/closed", t_garbage,
              ctx.sampler.first(t_garbage, lambda s: view_of(s, BAD_NODE) not in (None, ("healthy", "closed"))),
              bound, text)
    if (BAD_NODE_2, "garbage") in first_chat:
        first = first_chat[(BAD_NODE_2, "garbage")]
        ctx.check(f"the gateways stop sending chat requests to {BAD_NODE_2} (last garbage answer after its first)",
                  first, last_chat[(BAD_NODE_2, "garbage")], bound, text)
    else:
        ctx.facts.append(f"{BAD_NODE_2} got no chat request: the gateways never chose it")
    ctx.check(f"gateway-1's view marks {BAD_NODE_2} not healthy/closed", t_garbage,
              ctx.sampler.first(t_garbage, lambda s: view_of(s, BAD_NODE_2) not in (None, ("healthy", "closed"))),
              bound, text)


class Scenario:
    def __init__(self, key, title, act):
        self.key, self.title, self.act = key, title, act


SCENARIOS = {s.key: s for s in [
    Scenario("a", "kill -9 the node serving most, later restart it", kill_node),
    Scenario("b", "kill -9 the health leader (the standby takes over)", kill_health_leader),
    Scenario("c", "kill -9 gateway-2 (clients of gateway-1 see nothing), later restart it", kill_gateway),
    Scenario("d", "Redis killed and restarted (append-only file kept)", restart_redis),
    Scenario("e", "Redis restarted EMPTY (new data dir)", restart_redis_empty),
    Scenario("f", "Redis paused: SIGSTOP, then SIGCONT", pause_redis),
    Scenario("g", "a node that answers slowly (2 s), then garbage (+ a second one, garbage from the start)", bad_node),
]}


# ---- one run ---------------------------------------------------------------------------------------

def load_average() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def run(scenario: Scenario, bin_dir, config, settings, work: pathlib.Path, args, out: pathlib.Path) -> dict:
    from report import analyze, plot

    work.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(bin_dir, config, settings["namespace"], work, settings["register_interval_s"], print)
    started = time.monotonic()
    try:
        cluster.start()
        t0 = time.monotonic()
        replicas = {name: ("127.0.0.1", cluster.ports[name]) for name in ("gateway-1", "gateway-2")}
        load = Load(replicas, args.workers, args.rate, args.client_timeout, t0)
        sampler = Sampler(cluster, t0)
        ctx = Context(scenario.key, cluster, load, sampler, t0, settings, args.quick)
        load_before = load_average()
        sampler.start()
        load.start()
        try:
            time.sleep(ctx.span(5, 8))  # steady state before the fault
            scenario.act(ctx)
        finally:
            load.stop()
            sampler.stop()
        result = analyze(ctx, scenario)
        result["load_average"] = (load_before, load_average())
        result["seconds"] = time.monotonic() - started
        plot(ctx, result, out / f"faults-{scenario.key}.png")
        if args.keep:
            (work / "records.json").write_text(json.dumps([{k: getattr(r, k) if k != "detail" else repr(r.detail)
                                                          for k in r.__slots__} for r in load.records]))
            (work / "samples.json").write_text(json.dumps(sampler.samples))
        return result
    finally:
        cluster.stop()
