"""Counting a scenario's records, drawing its timeline and writing faults.md."""

import collections
import math
import os
import platform
import time

EPS = 0.05  # a request sent this much before the fault mark still counts as in the window


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def counts(records) -> dict:
    c = collections.Counter(r.outcome for r in records)
    return {"sent": len(records), "ok": c["ok"], "failed": c["failed"], "lost": c["lost"],
            "front_retries": sum(1 for r in records if r.front_retry),
            "redirected": sum(1 for r in records if r.redirected)}


def analyze(ctx, scenario) -> dict:
    records = sorted(ctx.load.records, key=lambda r: r.t)
    start, end = ctx.window
    end = end if end is not None else ctx.now()
    result = {"key": scenario.key, "title": scenario.title, **counts(records), "window": (start, end),
              "events": list(ctx.events), "checks": list(ctx.checks), "facts": list(ctx.facts)}
    bad = [r for r in records if r.outcome != "ok"]
    result["before_fault"] = sum(1 for r in bad if r.t < start - EPS)
    result["in_window"] = sum(1 for r in bad if start - EPS <= r.t <= end)
    origin = ctx.recovery_from if ctx.recovery_from is not None else start
    result["recovery_from"] = origin
    after = [r for r in bad if r.t >= start - EPS]
    if after:
        last = max(after, key=lambda r: r.t + r.latency)
        result["recovery_s"] = last.t + last.latency - origin
        result["recovery_text"] = f"{result['recovery_s']:.2f} s"
    else:
        result["recovery_s"] = 0.0
        result["recovery_text"] = "no failure seen"
    # node faults (a, g) are bounded by probe interval + node lease, the others by the health lease
    result["client_bound"] = (ctx.node_bound() if scenario.key in "ag" else ctx.control_bound())[0]
    result["errors"] = collections.Counter(r.error for r in bad).most_common()
    result["error_sources"] = collections.Counter((r.error, r.status, r.node, repr(r.detail)[:50]) for r in bad).most_common(6)
    result["per_replica"] = {home: counts([r for r in records if r.home == home]) for home in ("gateway-1", "gateway-2")}
    steady = [r.latency for r in records if r.outcome == "ok" and r.t < start]
    during = [r.latency for r in records if r.outcome == "ok" and start <= r.t <= end]
    result["latency"] = {"before_p50": percentile(steady, 0.5), "before_p99": percentile(steady, 0.99),
                         "window_p50": percentile(during, 0.5), "window_p99": percentile(during, 0.99),
                         "window_max": max(during) if during else None}
    result["duration"] = records[-1].t if records else 0.0
    result["examples"] = [f"t={r.t:.2f} s home={r.home} replica={r.replica} {r.outcome} status={r.status} "
                          f"error={r.error} node={r.node} latency={r.latency * 1000:.0f} ms" for r in bad[:5]]
    result["log_lines"] = []
    if bad:
        for name in ("gateway-1", "gateway-2"):
            result["log_lines"] += [f"{name}: {line.strip()[:260]}" for line in
                                    ctx.cluster.grep_log(name, "request failed", "error", limit=3)]
    return result


def plot(ctx, result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = list(ctx.load.records)
    seconds = int(math.ceil(result["duration"])) + 1
    ok = [0] * seconds
    failed = [0] * seconds
    lost = [0] * seconds
    retried = [0] * seconds
    per_node = collections.defaultdict(lambda: [0] * seconds)
    latencies = collections.defaultdict(list)
    for r in records:
        second = min(seconds - 1, int(r.t))
        if r.outcome == "ok":
            ok[second] += 1
            # (c) is about replicas: the share panel shows which replica answered, elsewhere which node
            per_node[(r.replica if result["key"] == "c" else r.node) or "?"][second] += 1
            latencies[second].append(r.latency * 1000)
        elif r.outcome == "failed":
            failed[second] += 1
        else:
            lost[second] += 1
        if r.front_retry:
            retried[second] += 1
    x = list(range(seconds))
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True,
                                                 gridspec_kw={"height_ratios": [3, 2, 2]})
    top.bar(x, ok, width=1.0, align="edge", color="#4caf50", label="succeeded")
    top.bar(x, failed, width=1.0, align="edge", bottom=ok, color="#e53935", label="failed (HTTP error / bad body)")
    top.bar(x, lost, width=1.0, align="edge", bottom=[a + b for a, b in zip(ok, failed)], color="black",
            label="lost (no answer)")
    # failures are a few per second against ~120 successes: they get an axis of their own
    bad_axis = top.twinx()
    centers = [s + 0.5 for s in x]
    bad_axis.plot(centers, failed, color="#e53935", marker="v", markersize=4, linewidth=1, label="failed / s (right axis)")
    bad_axis.plot(centers, lost, color="black", marker="x", markersize=4, linewidth=1, label="lost / s (right axis)")
    bad_axis.plot(centers, retried, color="#ff9800", marker=".", linewidth=1, label="front retries / s (right axis)")
    bad_axis.set_ylim(0, max(5, max(failed + lost + retried) * 1.3))
    bad_axis.set_ylabel("failed, lost, front retries / s")
    bad_axis.legend(loc="lower right", fontsize=8)
    top.set_ylabel("requests / s (by send time)")
    top.set_title(f"({result['key']}) {result['title']}: sent {result['sent']}, ok {result['ok']}, "
                  f"failed {result['failed']}, lost {result['lost']}", fontsize=10)
    top.legend(loc="lower left", fontsize=8)
    nodes = sorted(per_node)
    totals = [sum(per_node[n][s] for n in nodes) or 1 for s in x]
    shares = [[per_node[n][s] / totals[s] for s in x] for n in nodes]
    middle.stackplot([s + 0.5 for s in x], shares, labels=nodes, alpha=0.85, step="mid")
    middle.set_ylabel("share of answers per\n" + ("answering replica" if result["key"] == "c" else "serving node"))
    middle.set_ylim(0, 1)
    middle.legend(loc="lower left", fontsize=7, ncol=min(4, max(1, len(nodes))))
    p50 = [percentile(latencies[s], 0.5) or float("nan") for s in x]
    peak = [max(latencies[s]) if latencies[s] else float("nan") for s in x]
    bottom.plot([s + 0.5 for s in x], p50, label="p50", color="#1e88e5")
    bottom.plot([s + 0.5 for s in x], peak, label="max", color="#8e24aa", alpha=0.7)
    bottom.set_yscale("log")
    bottom.set_ylabel("latency of succeeded\nrequests (ms)")
    bottom.set_xlabel("seconds since the load started")
    bottom.legend(loc="upper left", fontsize=8)
    start, end = result["window"]
    for axis in (top, middle, bottom):
        axis.axvspan(start, end, color="#ffcdd2", alpha=0.35, zorder=0)
        axis.axvline(start, color="#c62828", linestyle="--", linewidth=1)
        axis.axvline(end, color="#2e7d32", linestyle="--", linewidth=1)
        for t, _ in result["events"]:
            axis.axvline(t, color="grey", linestyle=":", linewidth=0.8)
    top_y = top.get_ylim()[1]
    for index, (t, label) in enumerate(result["events"]):
        top.text(t + 0.1, top_y * (0.97 - 0.09 * (index % 4)), label, fontsize=7, va="top",
                 bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0})
    if result["recovery_s"] > 0:
        recovered = result["recovery_from"] + result["recovery_s"]
        top.axvline(recovered, color="#1565c0", linewidth=1.5)
        top.text(recovered + 0.1, top_y * 0.55, f"all succeed again\n+{result['recovery_s']:.2f} s", fontsize=7,
                 color="#1565c0")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def fmt(seconds):
    return "—" if seconds is None else f"{seconds:.2f} s"


def write_report(out, results, settings, config, bin_dir, args, elapsed, load_end):
    s = settings
    offered = 2 * args.rate
    lines = [
        "## Reliability under faults (`bench/faults/run.py`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {'--quick' if args.quick else 'full'}, "
        f"{elapsed:.0f} s in all, on {platform.node()} ({os.cpu_count()} cores, shared with other engineers' "
        f"builds and runs: numbers are rough); load average at the end {load_end}. Binaries: `{bin_dir}`.",
        "",
        f"Each scenario gets a fresh cluster: redis-server (append-only), catalog, health leader + standby, "
        f"router, gateway-1 + gateway-2, three federation-nodes (20/25/30 ms) registering with a "
        f"{s['node_lease_s']:g} s lease. Load: open loop, {args.rate:g} req/s offered to each replica "
        f"({offered:g} req/s in all; {args.workers} client threads per replica, latency from the intended send "
        "time), non-streamed chat completions, keep-alive; a request without an answer "
        f"within {args.client_timeout:g} s is **lost**. The clients sit behind a modelled front (HAProxy-like: "
        "`retry-on conn-failure empty-response` + `option redispatch` once to the other replica, health check "
        "`/healthz` every 0.5 s); what it absorbed is the *front retries* column — without a front those "
        "requests would have been lost.",
        "",
        f"Settings read from `{config}`: probe interval {s['probe_interval_s']:g} s, probe timeout "
        f"{s['probe_timeout_s']:g} s, health failure threshold {s['failure_threshold']}, circuit "
        f"{s['circuit_failures']} failures / reset {s['circuit_reset_s']:g} s, catalog default lease "
        f"{s['catalog_default_lease_s']:g} s, strategy {s['strategy']}, gateway retries {s['retries']}; node "
        f"lease {s['node_lease_s']:g} s (3 × federation-node --register-interval {s['register_interval_s']:g}); "
        f"health leader lease {s['health_lease_s']:g} s (HealthServiceOptions, not in the file). "
        "Recovery bounds: probe interval + node lease "
        f"= {s['probe_interval_s'] + s['node_lease_s']:g} s for node faults (a, g), probe interval + health "
        f"lease = {s['probe_interval_s'] + s['health_lease_s']:g} s for the control plane (b–f).",
        "",
        "| scenario | sent | ok | failed | lost | front retries | failed+lost in fault window | client-visible recovery | control plane recovered | load avg (1/5/15 min) before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        plane = "; ".join(f"{what}: {fmt(value)}" for what, value, *_ in r["checks"][:2])
        lines.append(f"| ({r['key']}) {r['title']} | {r['sent']} | {r['ok']} | {r['failed']} | {r['lost']} | "
                     f"{r['front_retries']} | {r['in_window']} | {r['recovery_text']} | {plane} | "
                     f"{r['load_average'][0]} → {r['load_average'][1]} |")
    lines.append("")
    lost_total = sum(r["lost"] for r in results)
    failed_total = sum(r["failed"] for r in results)
    sent_total = sum(r["sent"] for r in results)
    lines.append("### Verdicts")
    lines.append("")
    lost_where = ", ".join(f"({r['key']}) {r['lost']}" for r in results if r["lost"]) or "none"
    lines.append(f"- **Zero lost non-streamed requests while another node can serve: "
                 f"{'MET' if lost_total == 0 else 'NOT MET'}** — {lost_total} lost of {sent_total} sent "
                 f"(where: {lost_where}); {sum(r['front_retries'] for r in results)} attempts without an answer "
                 "were absorbed by the front's one retry.")
    failed_where = ", ".join(f"({r['key']}) {r['failed']}" for r in results if r["failed"]) or "none"
    lines.append(f"- Client-visible failures (an HTTP error or a bad body): {failed_total} of {sent_total} "
                 f"(where: {failed_where}) — the issue's routing goal asks for zero.")
    missed, unseen = [], []
    for r in results:
        for what, value, bound, text, observed in r["checks"]:
            if value is None and observed < bound:
                unseen.append((r["key"], what, observed, bound, text))
            elif value is None or value > bound:
                missed.append((r["key"], what, value, bound, text))
    slow_clients = [r for r in results if r["recovery_s"] > r["client_bound"]]
    verdict = "NOT MET" if missed or slow_clients else ("MET where observed" if unseen else "MET")
    recoveries = ", ".join(f"({r['key']}) {r['recovery_text']} (bound {r['client_bound']:g} s)" for r in results)
    lines.append(f"- **Every recovery within one probe interval + one lease period: {verdict}** — client-visible "
                 f"recoveries {recoveries}; control-plane checks: "
                 f"{sum(len(r['checks']) for r in results) - len(missed) - len(unseen)} of "
                 f"{sum(len(r['checks']) for r in results)} within their bound, {len(missed)} beyond it, "
                 f"{len(unseen)} not reached within a window shorter than the bound.")
    for key, what, value, bound, text in missed:
        lines.append(f"  - beyond the bound: ({key}) {what}: "
                     + (f"{fmt(value)}" if value is not None else "not reached in the scenario's window")
                     + f" — bound {bound:g} s ({text})")
    for key, what, observed, bound, text in unseen:
        lines.append(f"  - not shown: ({key}) {what}: not reached in the {observed:.0f} s watched, shorter than "
                     f"the bound {bound:g} s ({text}); a full run watches longer")
    lines.append("")
    lines.append("### Findings (from the counts above)")
    lines.append("")
    findings = 0
    for r in results:
        for (error, status, node, detail), n in r["error_sources"]:
            findings += 1
            if error == "bad_body":
                lines.append(f"- ({r['key']}) {n} client requests got **HTTP 200 with a body that is not a chat "
                             f"completion** (`X-Federation-Node: {node}`, body starts {detail}): the gateway relays a "
                             "node's 200 without checking its body, so it neither retries it elsewhere nor reports a "
                             "failure (the health log shows such answers counted as successes).")
            else:
                lines.append(f"- ({r['key']}) {n} × {error} (status {status}, node {node}, body starts {detail})")
        for fact in r["facts"]:
            if fact.startswith("slow phase:"):
                findings += 1
                lines.append(f"- ({r['key']}) {fact}: a node that just registered is routed by its probe round trip "
                             "until its first answers report their latency, so a slow newcomer draws most of the traffic "
                             "for about one of its response times.")
    if not findings:
        lines.append("- none: no request failed or was lost.")
    lines.append("")
    lines.append("### Per scenario")
    for r in results:
        lines.append("")
        lines.append(f"**({r['key']}) {r['title']}** — fault window {r['window'][0]:.1f}–{r['window'][1]:.1f} s, "
                     f"scenario {r['seconds']:.0f} s with cluster start/stop; latency of succeeded requests p50/p99 "
                     f"{fmt_ms(r['latency']['before_p50'])}/{fmt_ms(r['latency']['before_p99'])} before, "
                     f"{fmt_ms(r['latency']['window_p50'])}/{fmt_ms(r['latency']['window_p99'])} in the window "
                     f"(max {fmt_ms(r['latency']['window_max'])}). ![timeline](faults-{r['key']}.png)")
        lines.append("")
        if r["recovery_from"] != r["window"][0]:
            lines.append(f"- client-visible recovery counted from t={r['recovery_from']:.1f} s (the garbage), not from "
                         "the window's start")
        for home, c in r["per_replica"].items():
            lines.append(f"- clients of {home}: sent {c['sent']}, ok {c['ok']}, failed {c['failed']}, lost {c['lost']}, "
                         f"front retries {c['front_retries']}, redirected by the front's health check {c['redirected']}")
        for what, value, bound, text, observed in r["checks"]:
            seen = f"{fmt(value)} after the mark" if value is not None else f"not within the {observed:.0f} s watched"
            lines.append(f"- {what}: {seen} (bound {bound:g} s: {text}; sampled every 0.2 s)")
        for fact in r["facts"]:
            lines.append(f"- {fact}")
        if r["errors"]:
            lines.append(f"- errors: {', '.join(f'{e} ×{n}' for e, n in r['errors'])}; "
                         f"{r['before_fault']} of them before the fault")
            for (error, status, node, detail), n in r["error_sources"]:
                lines.append(f"  - {n} × {error} (status {status}, X-Federation-Node {node}, body starts {detail})")
            for example in r["examples"]:
                lines.append(f"  - `{example}`")
            for line in r["log_lines"]:
                lines.append(f"  - log: `{line}`")
    (out / "faults.md").write_text("\n".join(lines) + "\n")


def fmt_ms(seconds):
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"
