#!/usr/bin/env python3
"""Health service CPU while probing many nodes (issue 11, "scale of the control plane"): one
federation-health (and redis, catalog, router) probing 100 and then 1,000 registered nodes every
probe interval (1 s). The registered nodes are distinct node ids whose endpoints are spread over
10 real federation-node processes (100 ids each at 1,000), so every probe is a real HTTP
/health exchange with a real node. For each fleet size, after the probe rate has settled: the
health process's CPU (user + system, from /proc) and the probes it made (its /metrics), giving
CPU % of one core and CPU µs per probe; redis-server's CPU beside it. Writes health-probe.md and
health-probe.json into --out.

  health_probe.py --bin .build/release --out DIR [--quick] [--seconds S]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, cpu_ticks, http, install_signal_exit, loadavg, log  # noqa: E402

REAL_NODES = 10
HZ = os.sysconf("SC_CLK_TCK")


def probes_made(health_url):
    status, body, _ = http("GET", health_url + "/metrics", timeout=5)
    if status != 200:
        raise RuntimeError(f"health /metrics answered {status}")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("federation_health_probes_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def register(catalog_url, node_id, endpoint):
    body = {"node_id": node_id, "region": "local", "endpoint": endpoint,
            "models": [{"name": "fed-chat", "capabilities": ["generate"]}]}
    status, text, _ = http("POST", catalog_url + "/v1/deployments", body, timeout=10)
    if status not in (200, 201):
        raise RuntimeError(f"registering {node_id} answered {status}: {text[:200]!r}")


def measure(cluster, health_url, seconds):
    """Health and redis CPU seconds and probes made over `seconds`."""
    health_pid, redis_pid = cluster.pid("health"), cluster.pid("redis")
    probes0, health0, redis0 = probes_made(health_url), cpu_ticks(health_pid), cpu_ticks(redis_pid)
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    probes = probes_made(health_url) - probes0
    health_cpu = (cpu_ticks(health_pid) - health0) / HZ
    redis_cpu = (cpu_ticks(redis_pid) - redis0) / HZ
    return elapsed, probes, health_cpu, redis_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, help="measured seconds per fleet size (default 30, --quick 8)")
    args = parser.parse_args()
    seconds = args.seconds or (8 if args.quick else 30)
    install_signal_exit()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fed-health-probe.", dir=args.out)
    rows = []
    load_before = loadavg()
    try:
        with Cluster(args.bin, work, namespace="probe", probe_interval_ms=1000) as cluster:
            cluster.start_control_plane()
            catalog = f"http://127.0.0.1:{cluster.ports['catalog']}"
            health = f"http://127.0.0.1:{cluster.ports['health']}"
            endpoints = [cluster.start_node(f"real-{i}") for i in range(REAL_NODES)]
            registered = REAL_NODES  # the real nodes register themselves
            for fleet in (100, 1000):
                log(f"registering up to {fleet} nodes")
                for i in range(registered, fleet):
                    register(catalog, f"probed-{i:05d}", endpoints[i % REAL_NODES])
                registered = fleet
                # Settle: every node probed at least twice (two intervals) before measuring.
                deadline = time.monotonic() + 60
                while True:
                    elapsed, probes, _, _ = measure(cluster, health, 2)
                    if probes / elapsed >= 0.8 * fleet or time.monotonic() > deadline:
                        break
                elapsed, probes, health_cpu, redis_cpu = measure(cluster, health, seconds)
                rows.append({
                    "nodes": fleet, "seconds": round(elapsed, 2), "probes": int(probes),
                    "probes_per_second": round(probes / elapsed, 1),
                    "health_cpu_percent": round(100 * health_cpu / elapsed, 1),
                    "health_cpu_us_per_probe": round(1e6 * health_cpu / probes, 1) if probes else None,
                    "redis_cpu_percent": round(100 * redis_cpu / elapsed, 1),
                    "load": loadavg(),
                })
                log(f"{fleet} nodes: {rows[-1]}")
    finally:
        if not os.environ.get("FED_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    result = {"rows": rows, "load_before": load_before, "probe_interval_ms": 1000, "real_nodes": REAL_NODES}
    with open(os.path.join(args.out, "health-probe.json"), "w") as f:
        json.dump(result, f, indent=2)
    lines = [
        "## Health service CPU while probing (health_probe.py)",
        "",
        f"Probe interval 1 s; the registered nodes' endpoints are spread over {REAL_NODES} real "
        f"federation-node processes; load before: {load_before}.",
        "",
        "| nodes | probes/s | health CPU (% of one core) | CPU µs per probe | redis CPU % | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['nodes']:,} | {r['probes_per_second']:,} | {r['health_cpu_percent']} | "
                     f"{r['health_cpu_us_per_probe']} | {r['redis_cpu_percent']} | {r['load']} |")
    with open(os.path.join(args.out, "health-probe.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
