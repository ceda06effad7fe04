#!/usr/bin/env python3
"""Writes the suite's report.md and plots from the raw results scripts/bench left in --work:
perf/ (bench/gateway/run.sh's raw JSON and its report), control-plane.out (federation-bench),
parts/<name>/ (routing, memory and the other engineers' parts: <name>.md and PNGs), parts.txt."""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import time

TARGETS = ["direct", "nginx", "gateway", "vllm-router"]
PROXIES = ["nginx", "gateway", "vllm-router"]
COLORS = {"direct": "#333333", "nginx": "#55A868", "gateway": "#4C72B0", "vllm-router": "#C44E52"}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def machine():
    model = "unknown"
    memory = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return os.cpu_count(), model, memory, platform.release()


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fmt(value, digits=3):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


class Goals:
    def __init__(self):
        self.rows = []

    def add(self, area, goal, measured, met):
        """met: True / False / None (not measured) / "measured" (a figure the issue asks for, no target)."""
        status = met if isinstance(met, str) else "not measured" if met is None else ("met" if met else "missed")
        self.rows.append((area, goal, measured, status))


def open_loop(perf):
    rates = {}
    for path in glob.glob(os.path.join(perf, "b-*.json")):
        name = os.path.basename(path)[2:-5]
        if name.isdigit():
            report = load_json(path)
            if report:
                rates[int(name)] = report
    return dict(sorted(rates.items()))


def by_name(report):
    return {t["name"]: t for t in report.get("targets", [])}


def sustained(direct, rate):
    """The box sustained a rate when direct got it all, few sends were late and p99 stayed low."""
    if not direct or not direct.get("sent"):
        return False
    late = direct.get("sent_late", 0) / direct["sent"]
    p99 = (direct.get("latency") or {}).get("p99")
    return direct.get("failed", 0) == 0 and late < 0.05 and p99 is not None and p99 < 10 and \
        direct.get("achieved_rate", 0) >= 0.95 * rate


def closed_loop(perf, clk_tck):
    rounds = {}
    path = os.path.join(perf, "a.txt")
    if not os.path.exists(path):
        return {}
    for line in open(path):
        parts = line.split()
        if parts and parts[0] == "round":
            fields = dict(zip(parts[3::2], parts[4::2]))
            rounds.setdefault(parts[2], []).append(fields)
    result = {}
    for name, rs in rounds.items():
        requests = sum(int(r["requests"]) for r in rs)
        ticks = sum(int(r["cpu_ticks"]) for r in rs)
        result[name] = {"rps": sum(float(r["rps"]) for r in rs) / len(rs),
                        "cpu_us": ticks * 1e6 / clk_tck / requests if requests else None}
    return result


def plot_latency(rates, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, key, label in ((axes[0], "p50", "p50"), (axes[1], "p99", "p99")):
        for target in TARGETS:
            xs, ys = [], []
            for rate, report in rates.items():
                t = by_name(report).get(target)
                if t and t.get("latency"):
                    xs.append(rate)
                    ys.append(t["latency"][key])
            if xs:
                ax.plot(xs, ys, marker="o", label=target, color=COLORS[target])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(list(rates))
        ax.set_xticklabels([f"{r:,}" for r in rates])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("offered rate (requests/s, open loop)")
        ax.set_ylabel(f"end-to-end latency {label} (ms, log scale)")
        ax.set_title(f"Latency {label} vs offered rate")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency-vs-rate.png"), dpi=85)
    plt.close(fig)


def plot_added_cdf(rates, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    points = [("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)]
    fig, axes = plt.subplots(1, len(rates), figsize=(4.2 * len(rates), 4.2), squeeze=False)
    for ax, (rate, report) in zip(axes[0], rates.items()):
        targets = by_name(report)
        direct = (targets.get("direct") or {}).get("latency") or {}
        for proxy in PROXIES:
            lat = (targets.get(proxy) or {}).get("latency") or {}
            if not lat or not direct:
                continue
            added = [lat[k] - direct[k] for k, _ in points]
            ax.plot(added, [q for _, q in points], marker="o", label=proxy, color=COLORS[proxy])
        ax.set_yscale("function", functions=(lambda q: -__import__("numpy").log10(100.000001 - q),
                                             lambda y: 100.000001 - 10 ** (-y)))
        ax.set_yticks([50, 90, 99, 99.9])
        ax.set_yticklabels(["50", "90", "99", "99.9"])
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("added latency vs direct (ms, symlog)")
        ax.set_ylabel("percentile (%)")
        ax.set_title(f"{rate:,} req/s")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Added latency by percentile (proxy − direct at the same percentile)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "added-latency-cdf.png"), dpi=85)
    plt.close(fig)


def demote(markdown):
    """A part's markdown inside the report: its headings one level down."""
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", markdown, flags=re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--seconds", type=int, required=True)
    args = parser.parse_args()
    work, out_dir = args.work, args.out
    perf = os.path.join(work, "perf")
    clk_tck = os.sysconf("SC_CLK_TCK")
    goals = Goals()
    sections = []
    s = sections.append

    parts = {}
    for line in open(os.path.join(work, "parts.txt")):
        name, status, took = line.rstrip("\n").split("|", 2)
        parts[name] = (status, int(took))

    # ---- performance -----------------------------------------------------------------------
    rates = open_loop(perf)
    closed = closed_loop(perf, clk_tck)
    if rates:
        plot_latency(rates, out_dir)
        plot_added_cdf(rates, out_dir)
        s("## Performance, side by side in one run")
        s("")
        s("### Added latency (open loop), proxy − direct at the same percentile")
        s("")
        s("| rate (req/s) | box sustained it? | target | p50 ms | p99 ms | p99.9 ms | added p50 | added p99 | "
          "added p99.9 | errors | loadavg |")
        s("|---|---|---|---|---|---|---|---|---|---|---|")
        highest = None
        below_peer = []
        for rate, report in rates.items():
            targets = by_name(report)
            direct = targets.get("direct")
            ok = sustained(direct, rate)
            if ok:
                highest = rate
            d = (direct or {}).get("latency") or {}
            for name in TARGETS:
                t = targets.get(name)
                if not t:
                    continue
                lat = t.get("latency") or {}
                def added(k):
                    return None if name == "direct" or k not in lat or k not in d else lat[k] - d[k]
                errors = sum((t.get("errors") or {}).values())
                s(f"| {rate:,} | {'yes' if ok else 'no'} | {name} | {fmt(lat.get('p50'))} | {fmt(lat.get('p99'))} | "
                  f"{fmt(lat.get('p99_9'))} | {fmt(added('p50'))} | {fmt(added('p99'))} | {fmt(added('p99_9'))} | "
                  f"{errors} | {report.get('loadavg_before')} → {report.get('loadavg_after')} |")
            g, p = targets.get("gateway"), targets.get("vllm-router")
            if g and p and g.get("latency") and p.get("latency"):
                below_peer.append((rate, g["latency"]["p50"] - p["latency"]["p50"], g["latency"]["p99"] - p["latency"]["p99"]))
            if rate == 2500 and g and g.get("latency") and d:
                a50, a99 = g["latency"]["p50"] - d["p50"], g["latency"]["p99"] - d["p99"]
                note = "" if ok else " (box did not sustain 2,500 req/s in this run)"
                goals.add("added latency", "gateway added p50 ≤ 0.25 ms at 2,500 req/s", f"{a50:.3f} ms{note}", a50 <= 0.25)
                goals.add("added latency", "gateway added p99 ≤ 0.8 ms at 2,500 req/s", f"{a99:.3f} ms{note}", a99 <= 0.8)
        if 2500 not in rates:
            goals.add("added latency", "gateway added p50 ≤ 0.25 ms / p99 ≤ 0.8 ms at 2,500 req/s", "rate not run", None)
        if below_peer:
            text = "; ".join(f"{r:,}/s: p50 {d50:+.2f} ms, p99 {d99:+.2f} ms" for r, d50, d99 in below_peer)
            goals.add("added latency", "gateway below the peer router (vllm-router) at every rate (gateway − peer)",
                      text, all(d50 < 0 and d99 < 0 for _, d50, d99 in below_peer))
        s("")
        s(f"Highest rate this box sustained in this run (direct: every request sent on time ±5 %, p99 < 10 ms): "
          f"{f'{highest:,} req/s' if highest else 'none of the rates run'}. Rates above it measure queueing in "
          "an overloaded machine, not the proxies.")
        s("")
        s("![latency vs offered rate](latency-vs-rate.png)")
        s("")
        s("![added latency by percentile](added-latency-cdf.png)")
        s("")
        s("The loadgen reports p50/p90/p99/p99.9 (HdrHistogram), so the CDF plot has those four points per "
          "target, not every sample.")
        s("")
    else:
        goals.add("added latency", "gateway added p50 ≤ 0.25 ms, p99 ≤ 0.8 ms at 2,500 req/s; below the peer router",
                  f"perf part: {parts.get('perf', ('not run', 0))[0]}", None)
    if closed:
        g, n, p = closed.get("gateway"), closed.get("nginx"), closed.get("vllm-router")
        if g and p:
            goals.add("throughput", "gateway ≥ 1.5 × the peer router's req/s (wrk, closed loop)",
                      f"{g['rps']:,.0f} vs {p['rps']:,.0f} req/s = {g['rps'] / p['rps']:.2f} ×",
                      g["rps"] >= 1.5 * p["rps"])
        if g and n and g["cpu_us"] and n["cpu_us"]:
            goals.add("cost", "gateway CPU per request ≤ 2 × nginx's",
                      f"{g['cpu_us']:.0f} vs {n['cpu_us']:.0f} µs = {g['cpu_us'] / n['cpu_us']:.2f} ×",
                      g["cpu_us"] <= 2 * n["cpu_us"])
    else:
        goals.add("throughput", "gateway ≥ 1.5 × the peer router's req/s; CPU/request ≤ 2 × nginx's", "not measured", None)

    # holds: CPU beside the RSS run.sh reports
    hold_rows = []
    for path in sorted(glob.glob(os.path.join(perf, "c-hold-*-*.json"))):
        base = os.path.basename(path)[len("c-hold-"):-5]
        count, name = base.split("-", 1)
        report = load_json(path)
        cpu_file = path[:-5] + ".cpu"
        ticks = None
        if os.path.exists(cpu_file):
            ticks = int(open(cpu_file).read().split()[1])
        if report:
            t = report["targets"][0]
            hold_rows.append((int(count), name, t["hold"], ticks))
    if hold_rows:
        s("### Concurrent streams: CPU and RSS of the serving process")
        s("")
        s("Each stream: 20 tokens at 2 tokens/s (≈ 10 s); CPU = utime+stime of the serving process(es) over the "
          "whole hold run.")
        s("")
        s("| streams | target | completed | failed | peak open | CPU s | RSS before MiB | RSS held MiB | RSS after MiB |")
        s("|---|---|---|---|---|---|---|---|---|")
        for count, name, h, ticks in sorted(hold_rows, key=lambda r: (r[0], TARGETS.index(r[1]) if r[1] in TARGETS else 9)):
            def mib(k):
                return "—" if h.get(k) is None else f"{h[k] / 1024:.1f}"
            cpu = "—" if ticks is None else f"{ticks / clk_tck:.2f}"
            s(f"| {count:,} | {name} | {h['completed']} | {h['failed']} | {h['peak_open']} | {cpu} | "
              f"{mib('rss_before_kib')} | {mib('rss_held_kib')} | {mib('rss_after_kib')} |")
            if name == "gateway":
                goals.add("streams", f"{count:,} concurrent streams through one gateway, none failed",
                          f"{h['completed']}/{h['streams']} completed, RSS held {mib('rss_held_kib')} MiB, CPU {cpu} s",
                          h["failed"] == 0 and h["completed"] == h["streams"])
    for count in (1000, 5000):
        if not any(c == count and n == "gateway" for c, n, *_ in hold_rows):
            why = "not run (only in the full run)" if count == 5000 and "quick" in args.command else \
                f"not measured (perf part: {parts.get('perf', ('not run', 0))[0]})"
            goals.add("streams", f"{count:,} concurrent streams through one gateway", why, None)
    if hold_rows:
        s("")
    stream = load_json(os.path.join(perf, "c-stream.json"))
    if stream:
        targets = by_name(stream)
        d = targets.get("direct") or {}
        g = targets.get("gateway") or {}
        if d.get("ttft") and g.get("ttft"):
            goals.add("streams", "added TTFT / inter-token gap through the gateway (no numeric goal)",
                      f"TTFT p50 {g['ttft']['p50'] - d['ttft']['p50']:+.2f} ms, gap p99 "
                      f"{g['inter_token_gap']['p99'] - d['inter_token_gap']['p99']:+.2f} ms", None)
    without = load_json(os.path.join(perf, "c-slow-without.json"))
    with_slow = load_json(os.path.join(perf, "c-slow-with.json"))
    readers = load_json(os.path.join(perf, "c-slow-reader.json"))
    if without and with_slow:
        a, b = without["targets"][0], with_slow["targets"][0]
        ga, gb = a.get("inter_token_gap") or {}, b.get("inter_token_gap") or {}
        s("### Slow reader")
        s("")
        got = ", ".join(str(r.get("bytes_read")) for r in (readers or {}).get("readers", []))
        s(f"Streams at 50/s through the gateway, alone and then while "
          f"{(readers or {}).get('streams', '?')} clients each read a long stream {(readers or {}).get('read_bytes', '?')} "
          f"bytes every {(readers or {}).get('pause_seconds', '?')} s with a 2 KiB receive buffer (bytes they read: {got}).")
        s("")
        s("| run | ok | failed | gap p50 ms | gap p99 ms | gap p99.9 ms | TTFT p99 ms | loadavg |")
        s("|---|---|---|---|---|---|---|---|")
        for label, r, t, gap in (("alone", without, a, ga), ("beside slow readers", with_slow, b, gb)):
            s(f"| {label} | {t['succeeded']} | {t['failed']} | {fmt(gap.get('p50'))} | {fmt(gap.get('p99'))} | "
              f"{fmt(gap.get('p99_9'))} | {fmt((t.get('ttft') or {}).get('p99'))} | {r['loadavg_before']} → {r['loadavg_after']} |")
        s("")
        if ga.get("p99") and gb.get("p99"):
            goals.add("streams", "a slow reader does not hold up the others (gap p99 beside ÷ alone ≤ 1.2)",
                      f"{gb['p99']:.2f} vs {ga['p99']:.2f} ms = {gb['p99'] / ga['p99']:.2f} ×, {b['failed']} failed",
                      gb["p99"] <= 1.2 * ga["p99"] and b["failed"] == 0)
    gw_report = os.path.join(perf, "gateway-report.md")
    if not os.path.exists(gw_report) and os.path.exists(os.path.join(perf, "a.txt")):
        # run.sh writes its report at its end; when its time bound stopped it, make it from what it left
        here = os.path.dirname(os.path.abspath(__file__))
        result = subprocess.run(["python3", os.path.join(here, "..", "gateway", "report.py"), "--work", perf,
                                 "--command", "bench/gateway/run.sh (stopped by its time bound)",
                                 "--gateway", "federation-gateway", "--clk-tck", str(clk_tck)],
                                capture_output=True, text=True)
        if result.returncode == 0:
            with open(gw_report, "w") as f:
                f.write(result.stdout)
    if os.path.exists(gw_report):
        text = open(gw_report).read()
        text = text.split("## Goals (issue 9)")[0]
        text = re.sub(r"^# .*\n", "", text, count=1)
        s("### Every perf table, as bench/gateway/run.sh reports them")
        s("")
        s(demote(demote(text)).strip())
        s("")
    prop = load_json(os.path.join(perf, "d-propagation.json"))
    if prop and prop.get("propagation"):
        p99 = prop["propagation"]["p99"]
        goals.add("propagation", f"failure through gateway A → gateway B routes around it, p99 ≤ 5 ms "
                  f"({prop['succeeded']}/{prop['trials']} trials)", f"p50 {prop['propagation']['p50']:.2f} ms, "
                  f"p99 {p99:.2f} ms", p99 <= 5)
    else:
        goals.add("propagation", "gateway A → gateway B p99 ≤ 5 ms", "not measured", None)
    goals.add("propagation", "PUBLISH of a health report → every view applied, p99 ≤ 5 ms",
              "not in the suite: the in-process variant is federation-redis-bench (docs/BENCHMARKS.md)", None)

    # ---- control plane -----------------------------------------------------------------------
    fbench = os.path.join(work, "control-plane.out")
    if os.path.exists(fbench) and os.path.getsize(fbench):
        text = open(fbench).read().strip()
        s("## Scale of the control plane: route decision (federation-bench)")
        s("")
        s("```")
        s(text)
        s("```")
        s("")
        m = re.search(r"^100\s+(\S+ \S+)", text, re.M)
        if m:
            value, unit = m.group(1).split()
            us = float(value) * (1000 if unit == "ms" else 1)
            goals.add("control plane", "route decision at 100 nodes < 20 µs (issue 2; round_robin)", f"{us:.1f} µs", us < 20)
    else:
        goals.add("control plane", "route decision µs at 10…10,000 nodes", parts.get("control-plane", ("not run", 0))[0], None)
    goals.add("control plane", "view apply time and Redis ops per health change, 4 views at 100/1,000/10,000 nodes",
              "not measured (not in this part)", None)
    probing = load_json(os.path.join(work, "parts", "health-probe", "health-probe.json"))
    row = next((r for r in (probing or {}).get("rows", []) if r["nodes"] == 1000), None)
    if row:
        goals.add("control plane", "health service CPU while probing 1,000 nodes",
                  f"{row['health_cpu_percent']} % of one core at {row['probes_per_second']:,} probes/s "
                  f"({row['health_cpu_us_per_probe']} µs/probe; redis {row['redis_cpu_percent']} %)", "measured")
    else:
        goals.add("control plane", "health service CPU while probing 1,000 nodes",
                  parts.get("health-probe", ("not run", 0))[0], None)

    # ---- routing, memory, other parts ------------------------------------------------------------
    routing = load_json(os.path.join(work, "parts", "routing", "routing.json"))
    if routing:
        for strategy, g in routing["goals"].items():
            share, share_ok = g["slow_share"]
            ratios = {k: v for k, v in g["p99_ratio"].items()}
            fails = {k: v for k, v in g["failures"].items()}
            goals.add("routing", f"{strategy}: slow node ≤ its capacity share ({routing['capacity_share'] * 100:.1f} %)",
                      f"{share * 100:.1f} %", share_ok)
            goals.add("routing", f"{strategy}: p99 ≤ 1.2 × all-healthy p99 (slow / 30 % / hard)",
                      " / ".join("—" if v is None else f"{v:.2f} ×" for v, _ in ratios.values()),
                      all(ok for _, ok in ratios.values()))
            goals.add("routing", f"{strategy}: zero client-visible failures (slow / 30 % / hard)",
                      " / ".join(str(v) for v, _ in fails.values()), all(ok for _, ok in fails.values()))
    else:
        goals.add("routing", "routing quality goals", parts.get("routing", ("not run", 0))[0], None)
    memory = load_json(os.path.join(work, "parts", "memory", "memory.json"))
    if memory:
        growths = {k: v["growth_second_half"] for k, v in memory["rows"].items()
                   if v.get("growth_second_half") is not None}
        worst = max(growths.items(), key=lambda kv: kv[1]) if growths else None
        gw = growths.get("gateway")
        goals.add("memory", f"no RSS growth in the second half of the {memory['soak_seconds']:.0f} s soak "
                  "(every service < 5 %)",
                  f"gateway {gw * 100:+.1f} %; largest {worst[0]} {worst[1] * 100:+.1f} %" if worst and gw is not None
                  else "—", bool(worst) and worst[1] < 0.05)
    else:
        goals.add("memory", "no RSS growth over the soak", parts.get("memory", ("not run", 0))[0], None)

    part_sections = []
    for name, title, goal in (("routing", None, None), ("memory", None, None), ("health-probe", None, None),
                              ("faults", "Reliability", "zero lost non-streamed requests; recovery within one probe "
                                                        "interval + one lease"),
                              ("fuzz", "Coverage-guided fuzzing", "0 crashes"),
                              ("security", "Security and HTTP abuse", "every abuse refused, no secret in any log")):
        part_dir = os.path.join(work, "parts", name)
        md = os.path.join(part_dir, f"{name}.md")
        status = parts.get(name, ("not run", 0))[0]
        if os.path.exists(md):
            part_sections.append(open(md).read().strip() if title is None else
                                 f"## {title}\n\n" + demote(open(md).read()).strip())
            for png in glob.glob(os.path.join(part_dir, "*.png")):
                shutil.copy(png, out_dir)
        else:
            part_sections.append(f"## {title or name.capitalize()}\n\n{status}" if status.startswith("not run")
                                 else f"## {title or name.capitalize()}\n\n{status}; no {name}.md was written.")
        if goal:
            goals.add(name, goal, "see its section" if os.path.exists(md) else status, None)

    # ---- assemble -------------------------------------------------------------------------------
    cores, model, mem, kernel = machine()
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    lines = []
    w = lines.append
    w(f"# Benchmark suite report, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    w("")
    w(f"- Machine: {cores} cores, {model}, {mem} memory, Linux {kernel}")
    w(f"- Git commit: {commit}{' (with uncommitted changes)' if dirty and dirty != 'unknown' else ''}, "
      f"branch {git('rev-parse', '--abbrev-ref', 'HEAD')}")
    perf_a = os.path.join(perf, "a.txt")
    start_load = open(perf_a).readline().split(None, 1)[1].strip() if os.path.exists(perf_a) else "—"
    w(f"- Load average (1/5/15 min): at the first measurement {start_load}; at the end "
      f"{' '.join(open('/proc/loadavg').read().split()[:3])}. Every table prints the load beside it; this "
      "machine is shared (other engineers build on the same cores), so absolute numbers are context and "
      "only the side-by-side ratios carry meaning.")
    w(f"- Command: `{args.command}`; binaries from `{args.bin}`; took {args.seconds // 60} min {args.seconds % 60} s.")
    w("")
    w("## Goals (issue 11)")
    w("")
    w("| area | goal | measured | status |")
    w("|---|---|---|---|")
    for area, goal, measured, status in goals.rows:
        w(f"| {area} | {goal} | {measured} | {status} |")
    w("")
    w("## Parts")
    w("")
    w("| part | status | seconds |")
    w("|---|---|---|")
    for name, (status, took) in parts.items():
        w(f"| {name} | {status} | {took} |")
    w("")
    lines.extend(sections)
    for section in part_sections:
        w(section)
        w("")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
