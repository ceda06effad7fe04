"""The refusal, Redis ACL and secret checks against a running SecurityCluster. Each check returns
rows `{"check", "expected", "actual", "ok"}`; `ok` is measured (a status and error code compared,
a node counted, a string searched), never assumed. Used by run.py (the report) and by
tests/python/test_security.py (CI)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time

from cluster import NODES, SecurityCluster, error_code, free_port, http

NODE_REGION = {node_id: region for node_id, region, _, _ in NODES}


def row(check: str, expected: str, actual: str, ok: bool, **extra) -> dict:
    return {"check": check, "expected": expected, "actual": actual, "ok": bool(ok), **extra}


def answer(status: int, body: bytes) -> str:
    code = error_code(body)
    return f"{status} {code}" if code else str(status)


# ---- API keys -------------------------------------------------------------------------------
def gateway_auth(cluster: SecurityCluster) -> list[dict]:
    acme = cluster.api_keys["acme"]
    globex_hash = "sha256:" + hashlib.sha256(cluster.api_keys["globex"].encode()).hexdigest()
    gateway = cluster.url["gateway"]
    cases = [
        ("no Authorization header", {}),
        ("a wrong key", {"Authorization": "Bearer sk-wrong-0123456789abcdef"}),
        ("acme's key with its last character changed", {"Authorization": "Bearer " + acme[:-1] + ("0" if acme[-1] != "0" else "1")}),
        ("acme's key with a suffix", {"Authorization": f"Bearer {acme}x"}),
        ("acme's key as a prefix only", {"Authorization": f"Bearer {acme[:-4]}"}),
        ("acme's key with the Basic scheme", {"Authorization": f"Basic {acme}"}),
        ("acme's key without a scheme", {"Authorization": acme}),
        ("'Bearer' and nothing else", {"Authorization": "Bearer "}),
        ("globex's stored sha256: form as the key", {"Authorization": f"Bearer {globex_hash}"}),
        ("no key, X-Federation-Tenant: acme", {"X-Federation-Tenant": "acme"}),
        ("no key, X-Api-Key: acme's key", {"X-Api-Key": acme}),
    ]
    rows = []
    for name, headers in cases:
        status, response_headers, body = cluster.chat(None, headers)
        leaked = acme.encode() in body
        www = any(k.lower() == "www-authenticate" for k in response_headers)
        rows.append(row(f"chat: {name}", "401 invalid_api_key", answer(status, body) + ("" if www else " (no WWW-Authenticate)")
                        + (" KEY ECHOED" if leaked else ""),
                        status == 401 and error_code(body) == "invalid_api_key" and not leaked))
    status, _, body = http("POST", gateway + "/v1/embeddings", {"model": "bge-large", "input": "x"})
    rows.append(row("embeddings: no key", "401 invalid_api_key", answer(status, body),
                    status == 401 and error_code(body) == "invalid_api_key"))
    status, _, body = cluster.chat(acme)
    rows.append(row("chat: acme's valid key (control)", "200", answer(status, body), status == 200))
    # Read APIs: OpenAI's /v1/models needs a key; the gateway's other reads are operational.
    for path in ["/v1/models", "/v1/nodes", "/v1/stats", "/v1/decisions"]:
        status, _, body = http("GET", gateway + path)
        expected = "401 invalid_api_key" if path == "/v1/models" else "401 (or open by design)"
        rows.append(row(f"GET {path}: no key", expected, answer(status, body),
                        status == 401, finding=status != 401))
    return rows


# ---- tenants ---------------------------------------------------------------------------------
def served_regions(cluster, key, headers, count) -> tuple[dict, list]:
    regions: dict[str, int] = {}
    answers = []
    for _ in range(count):
        status, response_headers, body = cluster.chat(key, headers)
        node = {k.lower(): v for k, v in response_headers.items()}.get("x-federation-node")
        if status == 200 and node:
            region = NODE_REGION.get(node, node)
            regions[region] = regions.get(region, 0) + 1
        else:
            answers.append(answer(status, body))
    return regions, answers


def describe(regions: dict, answers: list) -> str:
    parts = [f"{region} {count}×" for region, count in sorted(regions.items())]
    if answers:
        parts.append("refused " + ", ".join(sorted(set(answers))) + f" ({len(answers)}×)")
    return "served: " + ", ".join(parts) if parts else "nothing"


def tenant_rules(cluster: SecurityCluster, count: int = 12) -> list[dict]:
    acme, globex, vault = (cluster.api_keys[t] for t in ["acme", "globex", "vault"])
    rows = []
    regions, refused = served_regions(cluster, acme, {"X-Federation-Privacy": "public"}, count)
    rows.append(row(f"acme (min_privacy confidential) asks X-Federation-Privacy: public, {count} requests",
                    "all on eu-west (the only confidential node)", describe(regions, refused),
                    set(regions) == {"eu-west"} and not refused))
    regions, refused = served_regions(cluster, acme, {"X-Federation-Privacy": "public",
                                                      "X-Federation-Region": "ap-south"}, count)
    rows.append(row(f"acme: privacy public + X-Federation-Region: ap-south (the public node), {count} requests",
                    "all on eu-west", describe(regions, refused), set(regions) == {"eu-west"} and not refused))
    status, _, body = cluster.chat(vault, {"X-Federation-Privacy": "public"})
    rows.append(row("vault (min_privacy restricted, no restricted node) asks privacy public",
                    "503 privacy_violation", answer(status, body),
                    status == 503 and error_code(body) == "privacy_violation"))
    status, _, body = cluster.chat(globex, {"X-Federation-Allowed-Regions": "eu-west"})
    rows.append(row("globex (regions [us-west]) asks X-Federation-Allowed-Regions: eu-west",
                    "403 region_not_allowed", answer(status, body),
                    status == 403 and error_code(body) == "region_not_allowed"))
    impersonation = {"X-Federation-Tenant": "acme", "X-Tenant": "acme", "X-Federation-Tenant-Id": "acme",
                     "X-Federation-Allowed-Regions": "us-west,eu-west,ap-south"}
    regions, refused = served_regions(cluster, globex, impersonation, 2)
    rows.append(row("globex asserts acme (X-Federation-Tenant/X-Tenant: acme) and widens regions to all three",
                    "only us-west (or 429 from globex's own limit)", describe(regions, refused),
                    set(regions) <= {"us-west"} and all(a.startswith("429") for a in refused)))
    # the request log names the tenant of the key, not of a header
    request_id = f"sec-impersonate-{int(time.time() * 1000)}"
    status, _, _ = cluster.chat(acme, {"X-Federation-Tenant": "globex", "X-Request-Id": request_id})
    line = ""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not line:
        line = next((l for l in (cluster.logs / "gateway.log").read_text(errors="replace").splitlines()
                     if request_id in l), "")
        time.sleep(0.1)
    tenant = re.search(r"\btenant=(\S+)", line)
    rows.append(row("acme's key + X-Federation-Tenant: globex: the request log's tenant",
                    "tenant=acme", f"{status}, tenant={tenant.group(1) if tenant else '(no log line)'}",
                    status == 200 and tenant is not None and tenant.group(1) == "acme"))
    # globex's rate limit belongs to its key: exhaust it, then try to escape it by headers
    admitted, limited = 0, None
    for _ in range(cluster.globex_requests_per_minute * 3 + 5):
        status, _, body = cluster.chat(globex)
        if status == 429:
            limited = error_code(body)
            break
        admitted += 1
    rows.append(row(f"globex (requests_per_minute {cluster.globex_requests_per_minute}) until refused",
                    f"429 rate_limit_exceeded after ≤ {cluster.globex_requests_per_minute}",
                    f"{admitted} admitted, then 429 {limited}" if limited else f"{admitted} admitted, never 429",
                    limited == "rate_limit_exceeded" and admitted <= cluster.globex_requests_per_minute))
    status, _, body = cluster.chat(globex, {"X-Federation-Tenant": "acme", "X-Tenant": "acme"})
    rows.append(row("globex, limited, asserts X-Federation-Tenant: acme", "429 rate_limit_exceeded",
                    answer(status, body), status == 429))
    return rows


# ---- admin APIs ------------------------------------------------------------------------------
def admin_refusals(cluster: SecurityCluster) -> list[dict]:
    token = cluster.admin_token
    node = "us-west-gpu-01"
    registration = {"node_id": "intruder-01", "region": "us-west", "endpoint": "http://127.0.0.1:9",
                    "models": [{"name": "llama-3-8b", "capabilities": ["generate"]}]}
    targets = [
        ("catalog", "POST", "/v1/deployments", registration),
        ("catalog", "DELETE", f"/v1/nodes/{node}", None),
        ("catalog", "DELETE", f"/v1/deployments/llama-3-8b/{node}", None),
        ("catalog", "PUT", "/v1/models/llama-3-8b", {"name": "pwned"}),
        ("health", "POST", f"/v1/circuits/{node}/open", {"duration_ms": 600000}),
        ("health", "POST", f"/v1/circuits/{node}/close", None),
        ("health", "POST", "/v1/reports", {"node": node, "ok": False, "status": 503}),
        ("router", "PUT", "/v1/policy", {"strategy": "round_robin"}),
        ("router", "PATCH", "/v1/policy", {"strategy": "least_latency"}),
    ]
    variants = [
        ("no token", {}, "401 missing_admin_token"),
        ("a wrong token", {"Authorization": "Bearer adm-wrong"}, "403 invalid_admin_token"),
        ("the token + 1 character", {"Authorization": f"Bearer {token}x"}, "403 invalid_admin_token"),
        ("the token without 'Bearer'", {"Authorization": token}, "403 invalid_admin_token"),
        ("an API key (acme's)", {"Authorization": f"Bearer {cluster.api_keys['acme']}"}, "403 invalid_admin_token"),
    ]
    before = {family: cluster.redis_cli("GET", f"fed:version:{family}") for family in ["catalog", "policy"]}
    rows = []
    for service, method, path, body in targets:
        for name, headers, expected in variants:
            status, _, reply = http(method, cluster.url[service] + path, body, headers)
            rows.append(row(f"{service} {method} {path}: {name}", expected, answer(status, reply),
                            answer(status, reply) == expected))
    after = {family: cluster.redis_cli("GET", f"fed:version:{family}") for family in ["catalog", "policy"]}
    nodes = json.loads(http("GET", cluster.url["catalog"] + "/v1/nodes")[2])["nodes"]
    circuit = json.loads(http("GET", cluster.url["health"] + f"/v1/circuits/{node}")[2])
    rows.append(row("after every refused write: catalog and policy versions, nodes, circuit",
                    f"unchanged ({before['catalog']}, {before['policy']}), 3 nodes, closed",
                    f"{after['catalog']}, {after['policy']}, {len(nodes)} nodes, {circuit.get('state')}",
                    before == after and len(nodes) == 3 and circuit.get("state") == "closed"))
    # the positive control: the nodes registered with the token (catalog version > 0), and:
    status, _, reply = http("GET", cluster.url["router"] + "/v1/policy")
    etag = json.loads(reply).get("version")
    status, _, reply = http("PATCH", cluster.url["router"] + "/v1/policy", {"strategy": "round_robin"},
                            {"Authorization": f"Bearer {token}"})
    rows.append(row("router PATCH /v1/policy with the token (control)", "200", answer(status, reply),
                    status == 200, note=f"policy version {etag} → {json.loads(reply).get('version') if status == 200 else '?'}"))
    rows.append(row("gateway: admin API", "none exists (no write route besides inference)",
                    "none (docs/GATEWAY.md lists none)", True))
    node_url = cluster.node_urls[node]
    status, _, reply = http("POST", node_url + "/admin/faults", {})
    rows.append(row("federation-node POST /admin/faults: no token", "open by design (docs/NODE.md: bind to loopback)",
                    answer(status, reply), status == 200, finding=True))
    return rows


# ---- Redis ACL -------------------------------------------------------------------------------
# A write into another service's family, per user: (description, command)
FOREIGN_WRITES = {
    "catalog": [("HSET fed:health:us-west-gpu-01 (health's)", ["HSET", "fed:health:us-west-gpu-01", "state", "healthy"]),
                ("HSET fed:policy (router's)", ["HSET", "fed:policy", "document", "{}"]),
                ("PUBLISH fed:events:policy", ["PUBLISH", "fed:events:policy", "{}"])],
    "health": [("SADD fed:nodes evil (catalog's)", ["SADD", "fed:nodes", "evil"]),
               ("HSET fed:node:us-west-gpu-01 endpoint (catalog's)", ["HSET", "fed:node:us-west-gpu-01", "endpoint", "http://evil"]),
               ("HSET fed:policy (router's)", ["HSET", "fed:policy", "document", "{}"]),
               ("PUBLISH fed:events:policy (a channel it does not subscribe to)", ["PUBLISH", "fed:events:policy", "{}"])],
    "router": [("HSET fed:circuit:us-west-gpu-01 (health's)", ["HSET", "fed:circuit:us-west-gpu-01", "state", "open"]),
               ("SREM fed:nodes us-west-gpu-01 (catalog's)", ["SREM", "fed:nodes", "us-west-gpu-01"]),
               ("HINCRBY fed:gateway:gateway-1 (gateway's hash)", ["HINCRBY", "fed:gateway:gateway-1", "inflight:x", "1"]),
               ("PUBLISH fed:health:reports", ["PUBLISH", "fed:health:reports", "{}"])],
    "gateway": [("HSET fed:node:us-west-gpu-01 endpoint (catalog's)", ["HSET", "fed:node:us-west-gpu-01", "endpoint", "http://evil"]),
                ("HSET fed:health:us-west-gpu-01 state (health's)", ["HSET", "fed:health:us-west-gpu-01", "state", "healthy"]),
                ("HSET fed:policy document (router's)", ["HSET", "fed:policy", "document", "{}"]),
                ("INCR fed:version:catalog", ["INCR", "fed:version:catalog"]),
                ("SET fed:health-leader (steal the lease)", ["SET", "fed:health-leader", "me"]),
                ("SUBSCRIBE fed:other (a channel outside its list)", ["SUBSCRIBE", "fed:other"])],
}
# Redis 7.0's channel rules (&) cannot tell SUBSCRIBE from PUBLISH: a service that listens to a
# family's events may also publish on that channel. Measured and reported, not a refusal: events
# are hints (a view reloads the family from its hashes and ignores versions it already has).
CHANNEL_LIMITS = {
    "health": ("PUBLISH fed:events:catalog (it subscribes there)", ["PUBLISH", "fed:events:catalog", "{}"]),
    "gateway": ("PUBLISH fed:events:catalog (it subscribes there)", ["PUBLISH", "fed:events:catalog", "{}"]),
}
EVERY_USER = [("FLUSHALL", ["FLUSHALL"]), ("KEYS *", ["KEYS", "*"]), ("CONFIG GET requirepass", ["CONFIG", "GET", "requirepass"]),
              ("EVAL (a script of its own)", ["EVAL", "return 1", "0"]), ("SCRIPT FLUSH", ["SCRIPT", "FLUSH"]),
              ("ACL LIST", ["ACL", "LIST"]), ("GET an unrelated key", ["GET", "other:key"])]
OWN_WORK = {  # one allowed command per user, the control that the password and the rules work
    "catalog": ["SMEMBERS", "fed:nodes"], "health": ["HGETALL", "fed:health:us-west-gpu-01"],
    "router": ["HGETALL", "fed:policy"], "gateway": ["HGETALL", "fed:gateway:gateway-1"],
}


def exercise_writers(cluster: SecurityCluster) -> list[str]:
    """Makes every service write what it owns: registrations and a deregistration (catalog),
    circuits opened/closed and reports (health), a policy write (router), inference with tenants
    (gateway: rate-limit windows, in-flight, outcome reports)."""
    token = {"Authorization": f"Bearer {cluster.admin_token}"}
    done = []
    status, _, _ = http("POST", cluster.url["catalog"] + "/v1/deployments",
                        {"node_id": "acl-temp-01", "region": "us-west", "endpoint": "http://127.0.0.1:9",
                         "models": [{"name": "acl-model", "capabilities": ["embed"]}], "lease_seconds": 60}, token)
    done.append(f"catalog register {status}")
    status, _, _ = http("DELETE", cluster.url["catalog"] + "/v1/nodes/acl-temp-01", None, token)
    done.append(f"catalog deregister {status}")
    status, _, _ = http("PUT", cluster.url["catalog"] + "/v1/models/bge-large", {"name": "BGE large", "version": "1.5"}, token)
    done.append(f"catalog model {status}")
    status, _, _ = http("POST", cluster.url["catalog"] + "/v1/deployments",
                        {"node_id": "acl-lease-01", "region": "us-west", "endpoint": "http://127.0.0.1:9",
                         "models": [{"name": "acl-model", "capabilities": ["embed"]}], "lease_seconds": 1}, token)
    done.append(f"catalog leased register {status}")
    node = "eu-west-gpu-01"  # acme's only node: its requests meet the half-open circuit
    status, _, _ = http("POST", cluster.url["health"] + f"/v1/circuits/{node}/open", {"duration_ms": 300}, token)
    done.append(f"health open {status}")
    time.sleep(0.5)  # half-open: the gateway's next request there takes a probe slot
    answers = [cluster.chat(cluster.api_keys["acme"])[0] for _ in range(6)]
    done.append("acme through the half-open circuit " + ",".join(map(str, answers)))
    status, _, _ = http("POST", cluster.url["health"] + f"/v1/circuits/{node}/close", None, token)
    done.append(f"health close {status}")
    status, _, _ = http("POST", cluster.url["health"] + "/v1/reports", {"node": node, "ok": True, "latency_ms": 3}, token)
    done.append(f"health report {status}")
    status, _, _ = http("PATCH", cluster.url["router"] + "/v1/policy", {"min_score": 0.1}, token)
    done.append(f"router policy {status}")
    for _ in range(20):
        cluster.chat(cluster.api_keys["acme"])
    time.sleep(1.5)  # a heartbeat, a rate-limit sync, an in-flight flush, a backstop re-sync of views
    expired = cluster.wait_for(lambda: http("GET", cluster.url["catalog"] + "/v1/nodes/acl-lease-01")[0] == 404,
                               "the leased node reaped", timeout=10)
    done.append(f"lease reaped {bool(expired)}")
    return done


def redis_acl(cluster: SecurityCluster) -> list[dict]:
    rows = []
    exercised = exercise_writers(cluster)
    status, headers, body = cluster.chat(cluster.api_keys["acme"])
    nodes = json.loads(http("GET", cluster.url["catalog"] + "/v1/nodes")[2])["nodes"]
    rows.append(row("end to end with one Redis user per service: nodes registered, chat through the gateway",
                    "3 nodes, 200", f"{len(nodes)} nodes, {status}", len(nodes) == 3 and status == 200,
                    note="; ".join(exercised)))
    users = {line.split()[1] for line in cluster.redis_cli("ACL", "LIST").splitlines() if line.startswith("user ")}
    clients = cluster.redis_cli("CLIENT", "LIST")
    connected = {match for match in re.findall(r"\buser=(\S+)", clients)}
    rows.append(row("services connected as their own users (CLIENT LIST)", "catalog, gateway, health, router",
                    ", ".join(sorted(connected - {"admin"})), {"catalog", "health", "router", "gateway"} <= connected))
    log = cluster.redis_cli("ACL", "LOG", "1000")
    denials = parse_acl_log(log)
    rows.append(row("ACL LOG after driving every writer", "empty (no command the services need is denied)",
                    "empty" if not denials else "; ".join(denials[:8]), not denials, denials=denials))
    result = subprocess.run(["redis-cli", "-p", str(cluster.ports["redis"]), "PING"], capture_output=True,
                            text=True, timeout=10)
    reply = (result.stdout + result.stderr).strip()
    rows.append(row("no user, no password (PING)", "NOAUTH (the default user is off)", reply[:90], "NOAUTH" in reply))
    for user in ["catalog", "health", "router", "gateway"]:
        control = cluster.redis_cli(*OWN_WORK[user], user=user)
        rows.append(row(f"{user}: {' '.join(OWN_WORK[user])} (its own family, control)", "answered",
                        "answered" if "NOPERM" not in control and "ERR" not in control else control[:80],
                        "NOPERM" not in control and "WRONGPASS" not in control))
        for name, command in FOREIGN_WRITES[user] + EVERY_USER:
            reply = cluster.redis_cli(*command, user=user)
            rows.append(row(f"{user}: {name}", "NOPERM", reply.splitlines()[0][:90] if reply else "(empty)",
                            reply.startswith("NOPERM") or "NOPERM" in reply.splitlines()[0] if reply else False))
        if user in CHANNEL_LIMITS:
            name, command = CHANNEL_LIMITS[user]
            reply = cluster.redis_cli(*command, user=user)
            rows.append(row(f"{user}: {name}", "allowed (Redis 7.0 limit, harmless: events are hints)",
                            f"delivered to {reply} subscribers" if reply.isdigit() else reply[:90],
                            True, finding=True))
        reply = cluster.redis_cli("PING", user=user, password="wrong-" + cluster.passwords[user][3:9])
        first = next((line for line in reply.splitlines() if "WRONGPASS" in line), reply.splitlines()[0])
        rows.append(row(f"{user}: a wrong password", "WRONGPASS", first[:90], "WRONGPASS" in reply))
    cluster.redis_cli("ACL", "LOG", "RESET")
    return rows


def parse_acl_log(text: str) -> list[str]:
    """ACL LOG (redis-cli's flat output) → 'user: reason object (context)' per entry."""
    lines = text.splitlines()
    entries, current = [], {}
    for index, line in enumerate(lines):
        if line in {"count", "reason", "context", "object", "username", "age-seconds", "client-info"} and index + 1 < len(lines):
            current[line] = lines[index + 1]
            if line == "client-info":
                entries.append(current)
                current = {}
    return [f"{e.get('username')}: {e.get('reason')} {e.get('object')} ({e.get('context')}, {e.get('count')}×)"
            for e in entries]


# ---- secrets ---------------------------------------------------------------------------------
def wrong_redis_password(cluster: SecurityCluster) -> str:
    """Starts a catalog with a wrong Redis password for ~2 s (its errors are logged) and returns
    that password, so the secret scan also covers an authentication failure."""
    wrong = "pw-wrong-" + cluster.passwords["catalog"][3:19]
    port = free_port()
    log_path = cluster.logs / "catalog-wrong-password.log"
    env = {**os.environ, "FED_REDIS_URL": f"redis://catalog:{wrong}@127.0.0.1:{cluster.ports['redis']}",
           "FED_ADMIN_TOKEN": cluster.admin_token}
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(cluster.bin / "federation-catalog"), "--config", str(cluster.config_path),
                                    "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL)
    try:
        time.sleep(2.5)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    cluster.secrets["a wrong Redis password (catalog-wrong-password.log)"] = wrong
    return wrong


def secret_scan(cluster: SecurityCluster) -> tuple[list[dict], dict]:
    """Greps every log file of the run and every service's /metrics for every secret."""
    sources: dict[str, bytes] = {}
    metrics_status: dict[str, int] = {}
    for path in sorted(cluster.logs.glob("*.log")):
        sources[f"log {path.name}"] = path.read_bytes()
    endpoints = {**{name: cluster.url[name] for name in ["catalog", "health", "router", "gateway"]},
                 **cluster.node_urls}
    for name, url in endpoints.items():
        status, _, body = http("GET", url + "/metrics")
        sources[f"/metrics of {name}"] = body if status == 200 else b""
        metrics_status[name] = status
    rows = []
    for secret_name, secret in cluster.secrets.items():
        needle = secret.encode()
        hits = [source for source, data in sources.items() if needle in data]
        rows.append(row(f"{secret_name}", "in no log and no /metrics", "found in " + ", ".join(hits) if hits else
                        "not found", not hits))
    stats = {"log files": sum(1 for s in sources if s.startswith("log ")),
             "log bytes": sum(len(d) for s, d in sources.items() if s.startswith("log ")),
             "log lines": sum(d.count(b"\n") for s, d in sources.items() if s.startswith("log ")),
             "metrics endpoints": sum(1 for s in sources if s.startswith("/metrics")),
             "metrics bytes": sum(len(d) for s, d in sources.items() if s.startswith("/metrics")),
             "metrics status": metrics_status}
    # a control that the grep sees real content: the tenant names appear in the gateway's request log
    stats["control: 'tenant=acme' lines in gateway.log"] = sources.get("log gateway.log", b"").count(b"tenant=acme")
    return rows, stats
