#!/usr/bin/env python3
"""Memory over time (issue 11): RSS of every service (redis-server, catalog, health, router, the
gateway, two nodes) sampled every second — idle, then over a soak at steady open-loop load through
the gateway (federation-loadgen), then idle again. Writes memory.md, memory.json and memory-rss.png
into --out.

  memory.py --bin .build/release --out DIR [--quick] [--soak SECONDS] [--rate 500]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, cpu_ticks, http, install_signal_exit, loadavg, log, rss_kib  # noqa: E402

SERVICES = ["redis", "catalog", "health", "router", "gateway", "node-1", "node-2"]
BODY = {"model": "fed-chat", "messages": [{"role": "user", "content": "Soak."}], "max_tokens": 16}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--soak", type=float, help="seconds of steady load (default 600, --quick 60)")
    parser.add_argument("--idle", type=float, help="idle seconds before and after (default 20, --quick 5)")
    parser.add_argument("--rate", type=float, default=500)
    args = parser.parse_args()
    soak = args.soak or (60 if args.quick else 600)
    idle = args.idle or (5 if args.quick else 20)
    install_signal_exit()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fed-memory.", dir=args.out)
    body_file = os.path.join(work, "body.json")
    with open(body_file, "w") as f:
        json.dump(BODY, f)
    samples = []  # (t, phase, {service: rss_kib})
    phase = ["idle-before"]
    stop = threading.Event()
    load_before = loadavg()
    with Cluster(args.bin, work, namespace="memory") as cluster:
        cluster.start_control_plane()
        for node in ("node-1", "node-2"):
            cluster.start_node(node, latency_ms=0, tokens_per_second=0, max_concurrency=256)
        gateway = cluster.start_gateway()
        url = gateway + "/v1/chat/completions"
        deadline = time.monotonic() + 60
        while True:
            try:
                if http("POST", url, BODY, timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the gateway never answered a chat completion (logs in {work})")
            time.sleep(0.2)
        pids = {name: cluster.pid(name) for name in SERVICES}
        start = time.monotonic()

        def sampler():
            while not stop.is_set():
                samples.append((time.monotonic() - start, phase[0], {n: rss_kib(p) for n, p in pids.items()}))
                stop.wait(1.0)
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        try:
            time.sleep(idle)
            phase[0] = "soak"
            log(f"memory: soak {soak:.0f} s at {args.rate:.0f} req/s through the gateway (load {loadavg()})")
            ticks_before = cpu_ticks(pids["gateway"])
            loadgen = subprocess.Popen([os.path.join(args.bin, "federation-loadgen"), "run", "--target", f"gateway={url}",
                                        "--rate", str(args.rate), "--duration", str(soak), "--warmup", "0",
                                        "--connections", "128", "--body", body_file, "--json"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                report, _ = loadgen.communicate(timeout=soak + 60)
            finally:
                if loadgen.poll() is None:
                    loadgen.kill()
                    loadgen.wait()
            ticks_after = cpu_ticks(pids["gateway"])
            phase[0] = "idle-after"
            time.sleep(idle)
        finally:
            stop.set()
            thread.join()
    load_after = loadavg()
    try:
        load_report = json.loads(report)["targets"][0]
    except (ValueError, KeyError, IndexError):
        load_report = {}
    clk = os.sysconf("SC_CLK_TCK")
    cpu_us = None
    if ticks_before is not None and ticks_after is not None and load_report.get("sent"):
        cpu_us = (ticks_after - ticks_before) * 1e6 / clk / load_report["sent"]
    write_report(args.out, samples, soak, idle, args.rate, load_report, cpu_us, load_before, load_after)
    shutil.rmtree(work, ignore_errors=True)


def mib(kib):
    return "—" if kib is None else f"{kib / 1024:.1f}"


def write_report(out_dir, samples, soak, idle, rate, load_report, cpu_us, load_before, load_after):
    soak_samples = [s for s in samples if s[1] == "soak"]
    n = len(soak_samples)
    tenth = max(1, n // 10)
    rows = {}
    for service in SERVICES:
        def values(items):
            return [s[2][service] for s in items if s[2].get(service) is not None]
        idle_v = values([s for s in samples if s[1] == "idle-before"])
        first = values(soak_samples[:tenth])
        last = values(soak_samples[-tenth:])
        after = values([s for s in samples if s[1] == "idle-after"])
        middle = values(soak_samples[n // 2 - tenth // 2:n // 2 - tenth // 2 + tenth])
        middle_mean = sum(middle) / len(middle) if middle else None
        peak = max(values(soak_samples), default=None)
        first_mean = sum(first) / len(first) if first else None
        last_mean = sum(last) / len(last) if last else None
        growth = (last_mean - first_mean) / first_mean if first_mean and last_mean else None
        growth_half = (last_mean - middle_mean) / middle_mean if middle_mean and last_mean else None
        rows[service] = dict(idle=idle_v[-1] if idle_v else None, first=first_mean, middle=middle_mean,
                             last=last_mean, peak=peak, after=after[-1] if after else None, growth=growth,
                             growth_second_half=growth_half)
    plot(out_dir, samples)
    out = []
    w = out.append
    w("## Memory over time")
    w("")
    lat = load_report.get("latency") or {}
    w(f"One gateway in front of two zero-latency nodes, the control plane and Redis; RSS (VmRSS) of every "
      f"process sampled every second: {idle:.0f} s idle, a {soak:.0f} s soak at {rate:.0f} req/s open loop "
      f"through the gateway (federation-loadgen: sent {load_report.get('sent', '—')}, ok "
      f"{load_report.get('succeeded', '—')}, failed {load_report.get('failed', '—')}, p50 "
      f"{lat.get('p50', float('nan')):.2f} ms, p99 {lat.get('p99', float('nan')):.2f} ms), then {idle:.0f} s idle. "
      f"Gateway CPU during the soak: {'—' if cpu_us is None else f'{cpu_us:.0f}'} µs per request. "
      f"Loadavg {load_before} → {load_after}.")
    w("")
    w("Growth = mean RSS over the soak's last tenth ÷ its first tenth − 1 (includes warm-up: pools, "
      "allocator arenas); second half = last tenth ÷ the tenth around the middle − 1, the steady state the goal "
      "(no growth) is judged on, met when under 5 %.")
    w("")
    w("| service | idle MiB | soak, first tenth MiB | middle tenth MiB | last tenth MiB | peak MiB | idle after MiB | "
      "growth | second half |")
    w("|---|---|---|---|---|---|---|---|---|")
    for service, r in rows.items():
        growth = "—" if r["growth"] is None else f"{r['growth'] * 100:+.1f} %"
        half = "—" if r["growth_second_half"] is None else f"{r['growth_second_half'] * 100:+.1f} %"
        w(f"| {service} | {mib(r['idle'])} | {mib(r['first'])} | {mib(r['middle'])} | {mib(r['last'])} | "
          f"{mib(r['peak'])} | {mib(r['after'])} | {growth} | {half} |")
    w("")
    w("![RSS of every service over time](memory-rss.png)")
    w("")
    with open(os.path.join(out_dir, "memory.md"), "w") as f:
        f.write("\n".join(out))
    with open(os.path.join(out_dir, "memory.json"), "w") as f:
        json.dump({"soak_seconds": soak, "rate": rate, "rows": rows, "gateway_cpu_us_per_request": cpu_us,
                   "load": load_report, "samples": [[t, p, r] for t, p, r in samples]}, f)


def plot(out_dir, samples):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 5.5))
    ts = [s[0] for s in samples]
    for service in SERVICES:
        ys = [(s[2].get(service) or 0) / 1024 for s in samples]
        ax.plot(ts, ys, label=service, linewidth=1.4)
    soak = [s[0] for s in samples if s[1] == "soak"]
    if soak:
        ax.axvspan(soak[0], soak[-1], color="#dddddd", alpha=0.5, label="steady load")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("RSS (MiB)")
    ax.set_title("RSS of every service: idle, soak at steady load, idle")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "memory-rss.png"), dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
