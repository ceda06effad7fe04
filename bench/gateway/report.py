#!/usr/bin/env python3
"""Turns the raw results of bench/gateway/run.sh (its temp dir) into the markdown report."""
import argparse
import json
import os
import platform
import time


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError:  # a run stopped by its time bound leaves an empty or partial file
            return None


def ms(value):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def signed(value):
    return "—" if value is None else ("+" if value >= 0 else "") + ms(value)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def errors_text(target):
    errors = target.get("errors") or {}
    return ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "0"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--gateway", default="")
    parser.add_argument("--gateway-rss-idle", default="")
    parser.add_argument("--hold", default="1000")
    parser.add_argument("--clk-tck", type=int, default=100)
    args = parser.parse_args()
    work = args.work
    out = []
    w = out.append
    goals = []

    w(f"# Gateway benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    w("")
    w(f"Command: `{args.command}` — one run, every target side by side on loopback.")
    w(f"Machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}; "
      "the load generator, the proxies, the nodes, Redis and the control plane all share these cores.")
    w(f"Gateway column: {args.gateway or 'skipped (no .build/release/federation-gateway)'}.")
    w("Nodes: two zero-latency nodes without token pacing (`fed-chat`; direct = the first one, the proxies "
      "balance over both), one streaming node at 100 tokens/s (`fed-stream`) and one at 2 tokens/s for "
      "held streams (`fed-hold`).")
    w("")

    # (a) closed loop
    rounds = {}
    load_a = ["", ""]
    path = os.path.join(work, "a.txt")
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if parts[0] == "load_before":
                load_a[0] = " ".join(parts[1:])
            elif parts[0] == "load_after":
                load_a[1] = " ".join(parts[1:])
            elif parts[0] == "round":
                name = parts[2]
                fields = dict(zip(parts[3::2], parts[4::2]))
                rounds.setdefault(name, []).append(fields)
    if rounds:
        w("## (a) Closed-loop throughput (wrk -t1 -c32) and CPU per request")
        w("")
        w(f"Rounds interleaved (direct, nginx, gateway, then again); loadavg before {load_a[0]}, after {load_a[1]}.")
        w("CPU = utime+stime of the process(es) named, from /proc/PID/stat, ÷ requests "
          "(direct: the node itself; nginx: master + workers; gateway: the replica).")
        w("")
        w("wrk's own CPU per request (user+sys from /usr/bin/time) is shown for scale: what one HTTP exchange "
          "costs a lean C client on this machine.")
        w("")
        w("| target | req/s (mean) | per round | vs nginx | CPU µs/request | wrk CPU µs/request | non-2xx |")
        w("|---|---|---|---|---|---|---|")
        mean = {}
        for name, rs in rounds.items():
            rps = [float(r["rps"]) for r in rs]
            mean[name] = sum(rps) / len(rps)
        for name, rs in rounds.items():
            rps = [float(r["rps"]) for r in rs]
            reqs = sum(int(r["requests"]) for r in rs)
            ticks = sum(int(r["cpu_ticks"]) for r in rs)
            cpu = ticks * 1e6 / args.clk_tck / reqs if reqs else None
            ratio = f"{mean[name] / mean['nginx'] * 100:.0f} %" if mean.get("nginx") else "—"
            non2xx = sum(int(r["non2xx"]) for r in rs)
            wrk_cpu = sum(float(r.get("wrk_cpu_s", "nan")) for r in rs) * 1e6 / reqs if reqs else None
            w(f"| {name} | {mean[name]:,.0f} | {' / '.join(f'{x:,.0f}' for x in rps)} | {ratio} | "
              f"{ms(cpu)} | {ms(wrk_cpu)} | {non2xx} |")
        if "gateway" in mean and mean.get("nginx"):
            goals.append(("throughput ≥ 50 % of nginx's", f"{mean['gateway'] / mean['nginx'] * 100:.0f} %",
                          mean["gateway"] / mean["nginx"] >= 0.5))
        w("")

    # (b) open loop
    rate_files = sorted(
        (int(f[2:-5]), f) for f in os.listdir(work) if f.startswith("b-") and f[2:-5].isdigit())
    if rate_files:
        w("## (b) Open-loop added latency (federation-loadgen: fixed arrival rate, latency from the intended send time)")
        w("")
        w("Targets take turns in 1 s slices; each gets the full duration at the rate. Added = proxy − direct "
          "at the same percentile (ms).")
        w("")
        w("| rate | target | achieved/s | errors | sent > 1 ms late | p50 | p99 | p99.9 | max | added p50 | added p99 | "
          "added p99.9 | loadavg |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for rate, f in rate_files:
            report = load_json(os.path.join(work, f))
            direct = next((t for t in report["targets"] if t["name"] == "direct"), None)
            for t in report["targets"]:
                lat = t.get("latency") or {}
                d = (direct or {}).get("latency") or {}
                def added(key):
                    if t["name"] == "direct" or key not in lat or key not in d:
                        return None
                    return lat[key] - d[key]
                w(f"| {rate} | {t['name']} | {t['achieved_rate']:,.0f} | {errors_text(t)} | {t['sent_late']} | "
                  f"{ms(lat.get('p50'))} | "
                  f"{ms(lat.get('p99'))} | {ms(lat.get('p99_9'))} | {ms(lat.get('max'))} | "
                  f"{signed(added('p50'))} | {signed(added('p99'))} | {signed(added('p99_9'))} | "
                  f"{report['loadavg_before']} → {report['loadavg_after']} |")
                if rate == 2500 and t["name"] == "gateway" and added("p50") is not None:
                    goals.append(("added p50 ≤ 0.25 ms at 2,500 req/s", f"{added('p50'):.3f} ms",
                                  added("p50") <= 0.25))
                    goals.append(("added p99 ≤ 0.8 ms at 2,500 req/s", f"{added('p99'):.3f} ms",
                                  added("p99") <= 0.8))
        w("")
    clients = [(c, load_json(os.path.join(work, f"b-client-{c}.json"))) for c in ("nio", "ahc")]
    if all(r for _, r in clients):
        w("### The load generator's own overhead: our SwiftNIO client vs AsyncHTTPClient")
        w("")
        w("Same node, 2,500 req/s, run one after the other. CPU = the generator process's user+system time "
          "÷ requests sent (getrusage).")
        w("")
        w("| client | generator CPU µs/request | p50 | p99 | p99.9 | errors | loadavg |")
        w("|---|---|---|---|---|---|---|")
        for c, r in clients:
            t = r["targets"][0]
            lat = t.get("latency") or {}
            w(f"| {'SwiftNIO (ours)' if c == 'nio' else 'AsyncHTTPClient'} | {ms(r.get('loadgen_cpu_us_per_request'))} | "
              f"{ms(lat.get('p50'))} | {ms(lat.get('p99'))} | {ms(lat.get('p99_9'))} | {errors_text(t)} | "
              f"{r['loadavg_before']} → {r['loadavg_after']} |")
        w("")

    # (c) streaming
    stream = load_json(os.path.join(work, "c-stream.json"))
    if stream:
        w("## (c) Streaming: time to first token and inter-token gap")
        w("")
        w("50 streams/s per target, 16 tokens at 100 tokens/s; TTFT = intended send time → first SSE `data:` "
          f"frame; gap = between consecutive `data:` frames. Loadavg {stream['loadavg_before']} → "
          f"{stream['loadavg_after']}.")
        w("")
        w("| target | ok | errors | TTFT p50 | TTFT p99 | added TTFT p50 | added TTFT p99 | gap p50 | gap p99 | "
          "added gap p50 | added gap p99 |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        direct = next((t for t in stream["targets"] if t["name"] == "direct"), {})
        for t in stream["targets"]:
            ttft = t.get("ttft") or {}
            gap = t.get("inter_token_gap") or {}
            dt = direct.get("ttft") or {}
            dg = direct.get("inter_token_gap") or {}
            def add(a, b, key):
                return None if t["name"] == "direct" or key not in a or key not in b else a[key] - b[key]
            w(f"| {t['name']} | {t['succeeded']} | {errors_text(t)} | {ms(ttft.get('p50'))} | {ms(ttft.get('p99'))} | "
              f"{signed(add(ttft, dt, 'p50'))} | {signed(add(ttft, dt, 'p99'))} | {ms(gap.get('p50'))} | "
              f"{ms(gap.get('p99'))} | {signed(add(gap, dg, 'p50'))} | {signed(add(gap, dg, 'p99'))} |")
        w("")
    hold_counts = sorted({int(f.split("-")[2]) for f in os.listdir(work)
                          if f.startswith("c-hold-") and f.endswith(".json") and f.split("-")[2].isdigit()})
    for count in hold_counts:
        holds = [(n, load_json(os.path.join(work, f"c-hold-{count}-{n}.json")))
                 for n in ("direct", "nginx", "gateway", "vllm-router")]
        holds = [(n, r) for n, r in holds if r]
        w(f"### {count} concurrent streams held (20 tokens at 2 tokens/s, ≈ 10 s each)")
        w("")
        w("RSS of the process serving them (direct: the node; nginx: one of its two workers; vllm-router: its process) before the streams, "
          "while all were open, "
          "and 1 s after the last ended.")
        w("")
        w("| target | completed | failed | peak open | all open after | RSS before | RSS held | RSS after | errors | loadavg |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for n, r in holds:
            t = r["targets"][0]
            h = t["hold"]
            def mib(k):
                return f"{h[k] / 1024:.1f} MiB" if h.get(k) is not None else "—"
            w(f"| {n} | {h['completed']} | {h['failed']} | {h['peak_open']} | {h['seconds_to_open_all']:.2f} s | "
              f"{mib('rss_before_kib')} | {mib('rss_held_kib')} | {mib('rss_after_kib')} | {errors_text(t)} | "
              f"{r['loadavg_before']} → {r['loadavg_after']} |")
        w("")
    if args.gateway_rss_idle:
        idle = int(args.gateway_rss_idle) / 1024
        w(f"Gateway RSS idle (right after start, views synced): {idle:.1f} MiB.")
        w("")
        goals.append(("RSS < 50 MB idle", f"{idle:.1f} MiB", idle * 1.048576 < 50))

    # (d) propagation
    prop = load_json(os.path.join(work, "d-propagation.json"))
    if prop:
        w("## (d) Replica propagation")
        w("")
        w(f"First request through replica A that hit the failing node (`POST /admin/faults` error_rate 1) → "
          f"replica B's first of 20 answers in a row that avoid it; B polled one request at a time. "
          f"Node `{prop['node']}`; loadavg {prop['loadavg_before']} → {prop['loadavg_after']}.")
        w("")
        p = prop.get("propagation") or {}
        w("| trials ok | p50 | p90 | p99 | max | failed trials |")
        w("|---|---|---|---|---|---|")
        failures = "; ".join(f"{v}× {k}" for k, v in sorted((prop.get("failures") or {}).items())) or "0"
        w(f"| {prop['succeeded']}/{prop['trials']} | {ms(p.get('p50'))} ms | {ms(p.get('p90'))} ms | "
          f"{ms(p.get('p99'))} ms | {ms(p.get('max'))} ms | {failures} |")
        w("")
        if p:
            goals.append(("propagation p99 ≤ 5 ms", f"{p['p99']:.2f} ms", p["p99"] <= 5))

    if "stand-in" in args.gateway:
        w("Goals (issue 9) not evaluated: the gateway column is the nginx stand-in.")
        w("")
    elif goals:
        w("## Goals (issue 9)")
        w("")
        w("| goal | measured | met |")
        w("|---|---|---|")
        for goal, value, met in goals:
            w(f"| {goal} | {value} | {'yes' if met else 'no'} |")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
