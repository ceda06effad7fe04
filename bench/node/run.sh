#!/usr/bin/env bash
# Side-by-side benchmark: federation-node (release, zero latency, unlimited token rate) vs a static
# nginx response of the same size, both on loopback, same wrk settings, same run.
# Usage: bench/node/run.sh [duration=10s] [connections=50] [threads=2]
set -euo pipefail
DURATION=${1:-10s}
CONNECTIONS=${2:-50}
THREADS=${3:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/node"
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)/federation-node
[ -x "$BIN" ] || { echo "build first: swift build -c release --product federation-node" >&2; exit 1; }
WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
NODE_PORT=$(free_port)
NGINX_PORT=$(free_port)

"$BIN" --port "$NODE_PORT" --tokens-per-second 0 --latency fixed:0 --max-concurrency 1000 --log-level warning \
    > "$WORK/node.log" 2>&1 &
NODE_PID=$!
cleanup() {
    kill "$NODE_PID" 2>/dev/null || true
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    sleep 0.2
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$NODE_PORT/healthz" >/dev/null && break; sleep 0.1; done

# nginx serves exactly the body the node answers, so both send the same bytes.
BODY=$(curl -s -H 'Content-Type: application/json' -d @<(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$HERE/chat.lua") \
    "http://127.0.0.1:$NODE_PORT/v1/chat/completions")
sed -e "s#__DIR__#$WORK#g" -e "s#__PORT__#$NGINX_PORT#g" "$HERE/nginx.conf.template" > "$WORK/nginx.conf.tmp"
python3 - "$WORK/nginx.conf.tmp" "$WORK/nginx.conf" "$BODY" <<'PY'
import sys
src, dst, body = sys.argv[1], sys.argv[2], sys.argv[3]
open(dst, "w").write(open(src).read().replace("__BODY__", body.replace("'", "\\'")))
PY
/usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null && break; sleep 0.1; done

echo "== response sizes: node $(echo -n "$BODY" | wc -c) bytes, nginx $(curl -s "http://127.0.0.1:$NGINX_PORT/" | wc -c) bytes"
echo "== warm-up"
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$HERE/chat.lua" "http://127.0.0.1:$NODE_PORT/v1/chat/completions" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$HERE/chat.lua" "http://127.0.0.1:$NGINX_PORT/" >/dev/null
echo "== federation-node: POST /v1/chat/completions (non-streamed, zero latency)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/chat.lua" \
    "http://127.0.0.1:$NODE_PORT/v1/chat/completions"
echo "== nginx: static response of the same body"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/chat.lua" "http://127.0.0.1:$NGINX_PORT/"
echo "== context: federation-node GET /healthz (a trivial Hummingbird route: the framework's ceiling here)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$NODE_PORT/healthz"
