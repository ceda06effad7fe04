"""results.json → security.md: the tables of every check (expected / actual), the counts, and a
verdict per goal with its numbers. Nothing here is measured: it only formats what run.py measured."""

from __future__ import annotations


def mib(kib) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f}"


def ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |")
    return "\n".join(lines)


def check_table(rows: list[dict]) -> str:
    return table(["check", "expected", "actual", ""],
                 [[r["check"], r["expected"], r["actual"], "ok" if r["ok"] else ("**finding**" if r.get("finding") else "**FAILED**")]
                  for r in rows])


def counts(rows: list[dict]) -> tuple[int, int]:
    return sum(1 for r in rows if r["ok"]), len(rows)


def client_cell(summary: dict) -> str:
    failures = ", ".join(f"{k} {v}×" for k, v in summary["failures"].items())
    return (f"{summary['ok']}/{summary['sent']} ok" + (f" ({failures})" if failures else "")
            + f", p50 {ms(summary['p50_ms'])} / p99 {ms(summary['p99_ms'])} / max {ms(summary['max_ms'])} ms")


def answers(result: dict) -> str:
    return ", ".join(f"{k} {v}×" for k, v in result.items())


def markdown(results: dict) -> str:
    abuse = results["abuse"]
    phases = abuse["phases"]
    baseline = phases[0]["client"]
    attacks = phases[1:]
    out = [f"## Bad input and security, counted ({results['started_utc']} UTC, {results['mode']})", ""]
    out.append(f"Machine: {results['cpus']} cores shared with other engineers' builds and benchmarks; load average "
               f"(1/5/15 min) {results['load_before']} before, {results['load_after']} after. The latencies below are "
               f"rough for that reason (side by side with the baseline of the same run; the counts are exact). "
               f"Binaries: `{results['bin']}`. The run took {results['seconds']} s. Cluster: redis-server with one "
               f"ACL user per service (config/redis-acl.example), catalog, health, router, 3 self-registering nodes, "
               f"one gateway with `--max-connections {results.get('gateway_max_connections')}` and the defaults "
               f"`header_timeout_ms` 10000, `idle_timeout_ms` 75000, `max_body_bytes` 8 MiB; the test process's "
               f"open-file limit {results['fd_limit']}.")
    out.append("")

    # ---- verdicts ----------------------------------------------------------------------------
    kept_sent = sum(p["client"]["kept"]["sent"] for p in attacks)
    kept_failed = sum(p["client"]["kept"]["failed"] for p in attacks)
    fresh_sent = sum(p["client"]["fresh"]["sent"] for p in attacks)
    fresh_failed = sum(p["client"]["fresh"]["failed"] for p in attacks)
    worst = max(attacks, key=lambda p: p["client"]["kept"]["p99_ms"] or 0)
    alive = all(p.get("gateway_alive", True) for p in attacks)
    rss_peak = max(p["rss_peak_kib"] or 0 for p in phases)
    idle = [p for p in attacks if "idle connections" in p["name"]]
    secrets_ok, secrets_n = counts(results["secrets"])
    sources = results["secret_sources"]
    auth_ok, auth_n = counts([r for r in results["auth"] if not r.get("finding")])
    findings_auth = [r for r in results["auth"] if r.get("finding") and not r["ok"]]
    tenants_ok, tenants_n = counts(results["tenants"])
    admin_rows = [r for r in results["admin"] if not r.get("finding")]
    admin_ok, admin_n = counts(admin_rows)
    acl_rows = [r for r in results["acl"] if not r.get("finding")]
    acl_ok, acl_n = counts(acl_rows)
    nopermed = [r for r in acl_rows if r["expected"] == "NOPERM"]
    acl_after = results.get("acl_after", [])
    verdicts = [
        ["the gateway keeps answering others under abuse",
         "met" if kept_failed == 0 and fresh_failed == 0 and alive else "NOT met",
         f"well-behaved client during the attacks: kept-alive {kept_sent - kept_failed}/{kept_sent} ok, fresh connections "
         f"{fresh_sent - fresh_failed}/{fresh_sent} ok; p99 {ms(baseline['kept']['p99_ms'])} ms at baseline, worst "
         f"{ms(worst['client']['kept']['p99_ms'])} ms ({worst['name'].split(':')[0]}); gateway alive after every attack: {alive}"],
        ["its memory stays bounded", memory_verdict(attacks),
         f"RSS {mib(abuse['rss_start_kib'])} MiB at the start, peak {mib(rss_peak)} MiB, {mib(abuse['rss_end_kib'])} MiB at the end"
         + "".join(f"; {p['name'].split(' (')[0]}: {mib(p['rss_before_kib'])} → peak {mib(p['rss_peak_kib'])} MiB with "
                   f"{p['result']['open_at_peak']} open at once"
                   + (f" (+{((p['rss_peak_kib'] or 0) - (p['rss_before_kib'] or 0)) / p['result']['open_at_peak']:.1f} KiB per connection over the RSS before)"
                      if p['result']['open_at_peak'] else "") for p in idle)],
        ["no or a wrong API key is refused", "met" if auth_ok == auth_n else "NOT met",
         f"{auth_ok}/{auth_n} refused with 401 invalid_api_key (valid key: 200)"
         + (f"; finding: {', '.join(r['check'].split(':')[0] for r in findings_auth)} answer without a key" if findings_auth else "")],
        ["a tenant cannot assert another identity or a lower privacy", "met" if tenants_ok == tenants_n else "NOT met",
         f"{tenants_ok}/{tenants_n} checks"],
        ["admin APIs refuse a missing / wrong token", "met" if admin_ok == admin_n else "NOT met",
         f"{admin_ok}/{admin_n} (catalog, health, router writes × 5 kinds of bad token, state unchanged); the node's "
         f"/admin/faults is open by design"],
        ["Redis: one ACL user per service, refused outside its families", "met" if acl_ok == acl_n else "NOT met",
         f"{acl_ok}/{acl_n} checks; cluster end to end as 4 users; {sum(1 for r in nopermed if r['ok'])}/{len(nopermed)} "
         f"foreign writes and admin commands NOPERM; ACL LOG empty after driving every writer: "
         f"{all(r['ok'] for r in results['acl'] if r['check'].startswith('ACL LOG'))}, and after the abuse: "
         f"{all(r['ok'] for r in acl_after)}"],
        ["no secret in any log line or metric", "met" if secrets_ok == secrets_n else "NOT met",
         f"{secrets_n} secrets × {sources['log files']} log files ({sources['log lines']} lines, {sources['log bytes']} bytes) "
         f"and {sources['metrics endpoints']} /metrics answers ({sources['metrics bytes']} bytes): "
         f"{secrets_n - secrets_ok} found"],
    ]
    out += ["### Verdicts", "", table(["goal", "verdict", "numbers"], verdicts), ""]

    # ---- HTTP abuse --------------------------------------------------------------------------
    out += ["### HTTP abuse against the gateway", "",
            "The well-behaved client runs throughout: the official `openai` package on a kept-alive connection at "
            "20 req/s (tenant acme) and a probe opening a fresh connection for each request at 4 req/s. Its numbers "
            "are for the attack's window; RSS is the gateway's (`/proc/PID/status`, every 200 ms), before the "
            "attack, its peak during it, and 2 s after. The attacker (Python) runs on the same 2 cores as the "
            "cluster, so an attack's CPU shows in the client's latency too.", ""]
    rows = []
    for phase in phases:
        result = phase.get("result")
        if result is None:
            what = "–"
        elif "ended_by_gateway" in result:
            what = (f"{result['connected']}/{result['connections']} connected"
                    + (f", {result['open_at_peak']} open at once" if "open_at_peak" in result else "")
                    + f"; ended by the gateway: {answers(result['ended_by_gateway']) or 'none'}"
                    + (f" after p50 {result.get('lifetime_p50_s') or result.get('ended_after_p50_s'):.1f} s"
                       if (result.get('lifetime_p50_s') or result.get('ended_after_p50_s')) else "")
                    + (f"; {result.get('still_open_at_end', result.get('held_to_the_end'))} still open at the end"))
        else:
            what = "see below"
        rows.append([phase["name"], what, client_cell(phase["client"]["kept"]), client_cell(phase["client"]["fresh"]),
                     f"{mib(phase['rss_before_kib'])} / {mib(phase['rss_peak_kib'])} / {mib(phase['rss_after_kib'])}"])
    out += [table(["phase", "what the gateway did", "kept-alive client", "fresh-connection client",
                   "RSS MiB before / peak / after"], rows), ""]
    expected = {
        "oversize headers": "431 or 400 or closed; never 2xx (except the 16 KiB control)",
        "oversize bodies": "413 (or closed); never 2xx",
        "malformed HTTP": "400 (or another 4xx, or closed); never 2xx, never 5xx",
    }
    for phase in attacks:
        key = next((k for k in expected if phase["name"].startswith(k)), None)
        if key is None:
            continue
        out += [f"**{phase['name']}** — expected: {expected[key]}", "",
                table(["request", "answers (status or what happened)", ""],
                      [[kind, answers(result), verdict_of(key, kind, result)] for kind, result in phase["result"].items()]),
                ""]

    # ---- refusals ---------------------------------------------------------------------------
    out += ["### API keys (gateway `api_keys`: acme in plain text, globex and vault by SHA-256)", "",
            check_table(results["auth"]), ""]
    out += ["### Tenants and `X-Federation-*` headers", "",
            "Tenants: acme `min_privacy: confidential`; globex `regions: [us-west]`, a small `requests_per_minute`; "
            "vault `min_privacy: restricted` (no node is restricted). Nodes: us-west internal, eu-west confidential, "
            "ap-south public (the regions' privacy).", "", check_table(results["tenants"]), ""]
    out += ["### Admin APIs", "", admin_summary(results["admin"]), ""]
    out += ["### Redis with one ACL user per service (config/redis-acl.example)", "",
            check_table(results["acl"] + acl_after), ""]
    out += ["### Secrets in logs and metrics", "",
            f"Every secret of the run (random per run) searched byte for byte in {sources['log files']} log files "
            f"and the /metrics answers ({sources['metrics status']}; the nodes export no /metrics). Control that "
            f"the logs hold real request lines: {sources[next(k for k in sources if k.startswith('control'))]} "
            f"lines with `tenant=acme` in gateway.log.", "", check_table(results["secrets"]), ""]
    findings = [r for section in ["auth", "tenants", "admin", "acl", "secrets"] for r in results[section]
                if r.get("finding") or not r["ok"]]
    for phase in attacks:
        key = next((k for k in expected if phase["name"].startswith(k)), None)
        for kind, result in (phase["result"].items() if key else []):
            verdict = verdict_of(key, kind, result)
            if verdict.startswith("**"):
                findings.append({"check": f"{key}: {kind}", "expected": expected[key], "actual": answers(result)})
    out += ["### Findings (for the lead; nothing in Sources/ was changed)", ""]
    out += [f"- {r['check']}: expected {r['expected']}, got {r['actual']}" for r in findings] or ["- none"]
    out.append("")
    return "\n".join(out)


def verdict_of(kind_group: str, kind: str, result: dict) -> str:
    statuses = list(result)
    two_xx = [s for s in statuses if s.startswith("2")]
    if "control" in kind or "every response" in kind:
        return "info"
    if kind_group == "oversize bodies":
        return "ok" if not two_xx and all(s in {"413", "400", "closed", "reset"} for s in statuses) else "**check**"
    if any(s.startswith("5") for s in statuses):
        return "**finding: a 5xx for the client's error**"
    if "bare LF" in kind:
        return "ok (RFC 9112 §2.2 allows accepting a bare LF)" if two_xx else "ok"
    return "ok" if not two_xx else "**accepted**"


def admin_summary(rows: list[dict]) -> str:
    grouped: dict[str, list[dict]] = {}
    other = []
    for r in rows:
        if ": " in r["check"] and r["check"].split(" ")[0] in {"catalog", "health", "router"} and "(control)" not in r["check"]:
            endpoint, variant = r["check"].rsplit(": ", 1)
            grouped.setdefault(endpoint, []).append({**r, "variant": variant})
        else:
            other.append(r)
    variants = [r["variant"] for r in next(iter(grouped.values()))] if grouped else []
    header = ["endpoint"] + [f"{v} (expected {r['expected']})" for v, r in zip(variants, next(iter(grouped.values())))]
    body = [[endpoint] + [r["actual"] + ("" if r["ok"] else " **FAILED**") for r in entries]
            for endpoint, entries in grouped.items()]
    return table(header, body) + "\n\n" + check_table(other)


def memory_verdict(attacks: list[dict]) -> str:
    """Met when no attack other than the idle connections raised the peak RSS by more than
    64 MiB over its start, and (full run) the second round of idle connections peaked within 10 %
    of the first: memory is bounded by the connections held, not by what arrives on them."""
    others = [p for p in attacks if "idle connections" not in p["name"]]
    rise = max(((p["rss_peak_kib"] or 0) - (p["rss_before_kib"] or 0)) for p in others) if others else 0
    idle = [p for p in attacks if "idle connections" in p["name"]]
    if rise > 64 * 1024:
        return f"NOT met (an attack raised RSS by {rise / 1024:.0f} MiB)"
    if len(idle) >= 2:
        first, second = idle[0]["rss_peak_kib"] or 0, idle[1]["rss_peak_kib"] or 0
        ok = second <= first * 1.1
        return ("met" if ok else "NOT met") + f" (round 2 of idle connections peaked at {second / 1024:.1f} MiB, round 1 at {first / 1024:.1f} MiB; other attacks ≤ +{rise / 1024:.1f} MiB)"
    return f"met (other attacks ≤ +{rise / 1024:.1f} MiB; the full run repeats the idle round to check growth)"
