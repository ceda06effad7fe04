"""The refusal and secret checks of bench/security (docs/BENCHMARKS.md, "Bad input and security")
as tests, on a real cluster: redis-server with one ACL user per service (config/redis-acl.example),
catalog, health, router, three nodes and a gateway with API keys, tenants and an admin token
(bench/security/cluster.py, the helper run.py uses). The HTTP-abuse measurements stay in
run.py: they measure, they are not timed assertions.

Binaries: `swift build --show-bin-path` (debug, as CI builds them; FEDERATION_NODE_BUILD_CONFIGURATION
picks another configuration), or the directory in FED_BENCH_BIN.
"""

import os
import pathlib
import socket
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "bench" / "security"))

import checks  # noqa: E402
from cluster import PRODUCTS, SecurityCluster, http  # noqa: E402


def bin_dir() -> pathlib.Path:
    if os.environ.get("FED_BENCH_BIN"):
        return pathlib.Path(os.environ["FED_BENCH_BIN"])
    configuration = os.environ.get("FEDERATION_NODE_BUILD_CONFIGURATION", "debug")
    path = pathlib.Path(subprocess.run(["swift", "build", "-c", configuration, "--show-bin-path"], cwd=REPO_ROOT,
                                       check=True, capture_output=True, text=True).stdout.strip())
    missing = [name for name in PRODUCTS if not (path / name).exists()]
    if missing:
        pytest.fail(f"{path} lacks {', '.join(missing)}; build first: cd {REPO_ROOT} && swift build -c {configuration}")
    return path


@pytest.fixture(scope="module")
def cluster():
    with SecurityCluster(bin_dir()) as running:
        yield running


def failed(rows):
    return [f"{r['check']}: expected {r['expected']}, got {r['actual']}" for r in rows
            if not r["ok"] and not r.get("finding")]


def test_missing_and_wrong_api_keys_get_401(cluster):
    rows = checks.gateway_auth(cluster)
    assert not failed(rows), failed(rows)
    assert any(r["check"].startswith("chat: acme's valid key") and r["ok"] for r in rows)


def test_model_list_needs_an_api_key(cluster):
    status, _, _ = http("GET", cluster.url["gateway"] + "/v1/models")
    assert status == 401


def test_a_tenant_cannot_assert_another_identity_or_a_lower_privacy(cluster):
    rows = checks.tenant_rules(cluster, count=6)
    assert not failed(rows), failed(rows)


def test_admin_writes_without_or_with_a_wrong_token_are_refused(cluster):
    rows = checks.admin_refusals(cluster)
    assert not failed(rows), failed(rows)
    assert sum(1 for r in rows if r["expected"].startswith(("401", "403"))) == 45


def test_each_redis_user_is_refused_outside_its_families(cluster):
    rows = checks.redis_acl(cluster)
    assert not failed(rows), failed(rows)
    assert sum(1 for r in rows if r["expected"] == "NOPERM" and r["ok"]) >= 40


def test_an_invalid_chunk_size_is_a_client_error(cluster):
    key = cluster.api_keys["acme"].encode()
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer " + key
               + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", cluster.ports["gateway"]), timeout=5) as sock:
        sock.sendall(request)
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 4"), head[:60]


def test_no_secret_in_any_log_or_metric(cluster):
    checks.wrong_redis_password(cluster)
    rows, sources = checks.secret_scan(cluster)
    assert not failed(rows), failed(rows)
    assert sources["log files"] >= 9 and sources["metrics endpoints"] >= 4
    assert sources["control: 'tenant=acme' lines in gateway.log"] > 0, "the gateway's request log is empty"
