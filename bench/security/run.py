#!/usr/bin/env python3
"""Bad input and security, counted (issue 11): HTTP abuse against the gateway while a
well-behaved client keeps sending, refusals of bad API keys / tenant overrides / admin writes
without the token, Redis with one ACL user per service, and no secret in any log or metric.

    .venv/bin/python bench/security/run.py --bin DIR --out DIR [--quick] [--keep]

--bin   the directory with federation-catalog, -health, -router, -gateway, -node (e.g.
        "$(swift build -c release --show-bin-path)"); without it (and without FED_BENCH_BIN)
        the release products are built first (swift build -c release --product …)
--out   where security.md and results.json go
--quick shorter attacks (≈ 1 min instead of ≈ 2)
--keep  keep the cluster's temp dir (logs, config) and print its path

Starts a real cluster (bench/security/cluster.py) in a temp dir on free ports, stops it on every
exit path (also Ctrl-C), and removes the temp dir unless --keep. bench/security/README.md says
what each check does.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cluster import PRODUCTS, REPO_ROOT, ClusterError, SecurityCluster  # noqa: E402


def log(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def build_release() -> pathlib.Path:
    for product in PRODUCTS:
        log(f"building {product} (release)")
        result = subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO_ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"swift build -c release --product {product} failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return pathlib.Path(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO_ROOT,
                                       check=True, capture_output=True, text=True).stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", help="directory of the release binaries (default: FED_BENCH_BIN, else build)")
    parser.add_argument("--out", required=True, help="directory for security.md and results.json")
    parser.add_argument("--quick", action="store_true", help="short attacks (about 1 minute in all)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with every log")
    parser.add_argument("--idle-connections", type=int, default=10000, help="idle connections to hold (10000)")
    args = parser.parse_args()
    if args.idle_connections < 1 or args.idle_connections > 100000:
        parser.error(f"--idle-connections must be in 1…100000, not {args.idle_connections}")
    try:
        import openai  # noqa: F401
    except ImportError:
        raise SystemExit("the openai package is missing: run ./scripts/python-env and use .venv/bin/python "
                         "(it installs tests/python/requirements.txt)")

    import abuse

    def interrupted(signum, frame):
        abuse.STOP.set()
        raise KeyboardInterrupt

    # SIGTERM and Ctrl-C alike: the with-blocks below stop the cluster, the attack workers stop
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    bin_dir = args.bin or os.environ.get("FED_BENCH_BIN") or str(build_release())
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from abuse import raise_fd_limit, run_attacks
    import checks
    import report

    fd_limit = raise_fd_limit(args.idle_connections + 2000)
    started = time.monotonic()
    results = {"mode": "quick" if args.quick else "full", "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
               "load_before": loadavg(), "cpus": os.cpu_count(), "fd_limit": fd_limit, "bin": str(pathlib.Path(bin_dir).resolve())}
    try:
        with SecurityCluster(bin_dir, keep=args.keep, gateway_max_connections=args.idle_connections + 2000) as cluster:
            log(f"cluster up in {cluster.root} (gateway {cluster.url['gateway']}, redis :{cluster.ports['redis']})")
            results["gateway_max_connections"] = cluster.gateway_max_connections
            log("API keys");           results["auth"] = checks.gateway_auth(cluster)
            log("tenants");            results["tenants"] = checks.tenant_rules(cluster)
            log("admin APIs");         results["admin"] = checks.admin_refusals(cluster)
            log("Redis ACL");          results["acl"] = checks.redis_acl(cluster)
            log("HTTP abuse (load before: " + loadavg() + ")")
            results["abuse"] = run_attacks(cluster, args.quick, args.idle_connections, log=log)
            log("Redis ACL once more, after the abuse (ACL LOG)")
            results["acl_after"] = [{**r, "check": "ACL LOG after the abuse phase (and a second round of writers)"}
                                    for r in checks.redis_acl(cluster) if r["check"].startswith("ACL LOG")]
            log("secrets: a catalog with a wrong Redis password, then every log and /metrics")
            checks.wrong_redis_password(cluster)
            results["secrets"], results["secret_sources"] = checks.secret_scan(cluster)
            results["alive"] = cluster.alive()
            if args.keep:
                log(f"kept {cluster.root}")
    except ClusterError as error:
        raise SystemExit(f"!! {error}")
    except KeyboardInterrupt:
        log("interrupted: the cluster was stopped")
        return 130
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_after"] = loadavg()
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "security.md").write_text(report.markdown(results))
    log(f"wrote {out / 'security.md'} ({results['seconds']} s)")
    print((out / "security.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
