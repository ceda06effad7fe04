#!/usr/bin/env python3
"""The reliability suite (issue 11, "Reliability, automated and counted"): seven faults, each
under steady load through both gateway replicas of a real cluster, counted and plotted.

  bench/faults/run.py --out DIR [--bin DIR] [--quick] [--only a,b,...] [--keep] [--config FILE]

  --bin DIR    the release binaries (federation-catalog/-health/-router/-gateway/-node); default
               $FED_BENCH_BIN, else `swift build -c release --product …` builds them here
  --out DIR    writes faults.md and faults-<scenario>.png there
  --quick      shorter windows (whole suite about 3-4 min instead of 7-9)
  --only a,c   run only these scenarios (a … g)
  --keep       keep the temp dir (every process's log, Redis data, raw records as JSON)
  --config F   the shared configuration the services start with (default config/federation.yaml)

Scenarios (a fresh cluster each, so one fault's circuits never leak into the next):
  a  kill -9 the node serving most, later restart it        e  Redis restarted EMPTY (new dir)
  b  kill -9 the health leader: the standby takes over      f  Redis paused (SIGSTOP N s, SIGCONT)
  c  kill -9 one gateway replica, later restart it          g  a node that answers slowly, then garbage
  d  Redis killed and restarted (append-only file kept)
Runs with python3 (Debian 12) and the project's .venv (matplotlib, PyYAML); when those are not
importable it makes the venv with scripts/python-env and runs itself again with its python.
"""

import argparse
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PRODUCTS = ["federation-catalog", "federation-health", "federation-router", "federation-gateway", "federation-node"]
HEALTH_LEASE_S = 5.0  # HealthServiceOptions' leader lease (docs/HEALTH.md; not a key of the file)


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"!! {message}", file=sys.stderr)
    sys.exit(2)


def ensure_packages():
    try:
        import matplotlib  # noqa: F401
        import yaml  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("FED_FAULTS_REEXEC"):
        fail("matplotlib or PyYAML is still missing in the venv; run scripts/python-env and check its output "
             "(on Debian it needs python3-venv: apt-get install -y python3-venv)")
    print("== matplotlib/PyYAML not importable: making the venv with scripts/python-env", file=sys.stderr)
    result = subprocess.run(
        [str(REPO / "scripts" / "python-env")], capture_output=True, text=True,
        env={**os.environ, "FED_VENV_BENCH": "1"})
    if result.returncode != 0:
        fail(f"scripts/python-env failed:\n{result.stderr}")
    python = result.stdout.strip().splitlines()[-1]
    os.environ["FED_FAULTS_REEXEC"] = "1"
    os.execv(python, [python, str(pathlib.Path(__file__).resolve()), *sys.argv[1:]])


def binaries(arg) -> pathlib.Path:
    chosen = arg or os.environ.get("FED_BENCH_BIN")
    if not chosen:
        if not shutil.which("swift"):
            fail("no --bin / FED_BENCH_BIN given and no `swift` on PATH to build the release binaries")
        for product in PRODUCTS:
            print(f"== building {product} (release)", file=sys.stderr)
            build = subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO,
                                   capture_output=True, text=True)
            if build.returncode != 0:
                fail(f"swift build -c release --product {product} failed:\n{build.stdout[-3000:]}{build.stderr[-2000:]}")
        chosen = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout.strip()
    path = pathlib.Path(chosen)
    missing = [p for p in PRODUCTS if not os.access(path / p, os.X_OK)]
    if missing:
        fail(f"{path} lacks {', '.join(missing)}: build them (swift build -c release --product NAME) or point --bin elsewhere")
    return path


def read_settings(config: pathlib.Path, register_interval: float) -> dict:
    import yaml

    try:
        document = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        fail(f"cannot read the configuration {config}: {error}")
    health = document.get("health") or {}
    circuit = health.get("circuit") or {}
    return {
        "namespace": document.get("namespace", "fed"),
        "probe_interval_s": float(health.get("probe_interval_ms", 2000)) / 1000,
        "probe_timeout_s": float(health.get("probe_timeout_ms", 1000)) / 1000,
        "failure_threshold": int((health.get("thresholds") or {}).get("failure_threshold", 3)),
        "circuit_failures": int(circuit.get("failure_threshold", 5)),
        "circuit_reset_s": float(circuit.get("reset_timeout_ms", 30000)) / 1000,
        "catalog_default_lease_s": float((document.get("catalog") or {}).get("default_lease_seconds", 30)),
        "node_lease_s": 3 * register_interval,
        "register_interval_s": register_interval,
        "health_lease_s": HEALTH_LEASE_S,
        "strategy": (document.get("policy") or {}).get("strategy", "least_latency"),
        "retries": int(((document.get("gateway") or {}).get("retry") or {}).get("max_retries", 3)),
    }


def load_average() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin")
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="abcdefg")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--config", default=str(REPO / "config" / "federation.yaml"))
    parser.add_argument("--register-interval", type=float, default=10.0,
                        help="federation-node --register-interval (its lease is 3x); default the node's own 10 s")
    parser.add_argument("--rate", type=float, default=60.0, help="requests/s offered to each replica (default 60)")
    parser.add_argument("--workers", type=int, default=96, help="client threads per replica (default 96)")
    parser.add_argument("--client-timeout", type=float, default=10.0,
                        help="seconds without an answer after which a request is lost (default 10)")
    args = parser.parse_args()
    ensure_packages()
    sys.path.insert(0, str(HERE))
    import scenarios
    from report import write_report

    chosen = [key for key in args.only.replace(",", "") if key in scenarios.SCENARIOS]
    if not chosen or len(chosen) != len(args.only.replace(",", "")):
        fail(f"--only takes letters of {''.join(scenarios.SCENARIOS)}, not '{args.only}'")
    if not 1 <= args.workers <= 256 or not 0.1 <= args.rate <= 2000 or not 1 <= args.client_timeout <= 120:
        fail("--workers must be 1…256, --rate 0.1…2000, --client-timeout 1…120")
    if not 1 <= args.register_interval <= 3600:
        fail("--register-interval must be 1…3600 s")
    for tool, package in (("redis-server", "redis-server"),):
        if not shutil.which(tool):
            fail(f"{tool} not found: apt-get install -y {package}")
    config = pathlib.Path(args.config).resolve()
    if not config.is_file():
        fail(f"no configuration at {config} (--config FILE)")
    bin_dir = binaries(args.bin)
    settings = read_settings(config, args.register_interval)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="fed-faults."))

    def on_signal(number, _frame):
        raise KeyboardInterrupt(f"signal {number}")

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # also when started with SIGINT ignored (a background job)
        signal.signal(number, on_signal)
    started = time.time()
    results = []
    status = 0
    print(f"== settings from {config}: probe interval {settings['probe_interval_s']:g} s, node lease "
          f"{settings['node_lease_s']:g} s, health leader lease {settings['health_lease_s']:g} s; "
          f"load average {load_average()}; temp dir {work}", file=sys.stderr)
    try:
        for key in chosen:
            scenario = scenarios.SCENARIOS[key]
            print(f"== ({key}) {scenario.title}  [load {load_average()}]", file=sys.stderr)
            result = scenarios.run(scenario, bin_dir, config, settings, work / key, args, out)
            results.append(result)
            print(f"   sent {result['sent']} ok {result['ok']} failed {result['failed']} lost {result['lost']} "
                  f"recovery {result['recovery_text']}", file=sys.stderr)
        write_report(out, results, settings, config, bin_dir, args, time.time() - started, load_average())
        print(f"== wrote {out / 'faults.md'} and {len(results)} PNGs in {time.time() - started:.0f} s", file=sys.stderr)
    except KeyboardInterrupt as interrupt:
        print(f"!! interrupted ({interrupt}); everything started was stopped", file=sys.stderr)
        status = 130
    except RuntimeError as error:
        print(f"!! {error}", file=sys.stderr)
        status = 1
    finally:
        if args.keep or status != 0:
            print(f"== logs and raw records kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
