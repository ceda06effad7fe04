#!/usr/bin/env bash
# The gateway benchmark (issue 9 §3), everything in ONE run on loopback, side by side:
#   the same nodes called directly, through nginx (a plain reverse proxy), and through
#   federation-gateway (when .build/release/federation-gateway exists, or --gateway-standin).
#   (a) closed-loop throughput (wrk) and CPU µs per request of each proxy process
#   (b) open-loop added latency at 500, 1000, 2500 req/s (federation-loadgen, latency from the
#       intended send time): p50/p99/p99.9 of each proxy minus direct
#   (c) streaming: added time to first token and inter-token gap; N concurrent streams held
#       (RSS of the proxy before / while held / after)
#   (d) replica propagation: first failing request through replica A → replica B routes around
#       the node, p50/p99 over ≥ 100 trials
#   With a peer router (vllm-router from PyPI, in .venv: FED_VENV_BENCH=1 scripts/python-env), it is a
#   fourth column beside nginx in (a), (b) and (c). scripts/bench runs this script as its perf part.
# Usage: bench/gateway/run.sh [--quick] [--gateway-standin] [--no-build] [--keep] [--out FILE]
#          [--bin DIR] [--work DIR] [--peer-router PATH|none] [--rates "500 1000"] [--holds "1000 5000"]
#   --quick            short parts (about 2 minutes; numbers are rough)
#   --gateway-standin  without a gateway binary, run the gateway column against nginx servers that
#                      stand in for two replicas (proves the script end to end; not gateway numbers)
#   --no-build         use the release binaries as they are
#   --keep             keep the temp dir (logs, raw JSON) instead of deleting it
#   --bin DIR          use the release binaries in DIR (no build)
#   --work DIR         write logs and raw results into DIR (created; kept) instead of a temp dir
#   --peer-router P    the vllm-router executable (default: .venv/bin/vllm-router when present;
#                      "none" skips the peer column)
#   --rates "R…"       open-loop rates (default 500 1000 2500 5000)
#   --holds "N…"       concurrent streams held through each target (default 1000)
#   --trials N         propagation trials (default 100, --quick 10)
#   --open-seconds S   measured seconds per target and rate in (b) (default 15, --quick 3)
#   --no-client-compare  skip (b'), the load generator's NIO-vs-AsyncHTTPClient overhead
# Writes bench/gateway/results/<UTC date and time>.md (or --out FILE) and prints it.
set -euo pipefail
QUICK=0 STANDIN=0 BUILD=1 KEEP=0 CLIENTS=1 OUT="" OPEN_SECONDS_ARG="" BIN_DIR="" WORK_DIR="" PEER="" RATES_ARG="" HOLDS_ARG="" TRIALS_ARG=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --gateway-standin) STANDIN=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    --no-client-compare) CLIENTS=0 ;;
    --open-seconds) OPEN_SECONDS_ARG=$2; shift ;;
    --out) OUT=$2; shift ;;
    --bin) BIN_DIR=$2; BUILD=0; shift ;;
    --work) WORK_DIR=$2; shift ;;
    --peer-router) PEER=$2; shift ;;
    --rates) RATES_ARG=$2; shift ;;
    --holds) HOLDS_ARG=$2; shift ;;
    --trials) TRIALS_ARG=$2; shift ;;
    *) echo "unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/gateway"
cd "$ROOT"

if [ "$QUICK" = 1 ]; then
  WRK_ROUNDS=1 WRK_SECONDS=3 OPEN_SECONDS=3 OPEN_WARMUP=1 STREAM_SECONDS=2 HOLD=1000 TRIALS=10
else
  WRK_ROUNDS=3 WRK_SECONDS=5 OPEN_SECONDS=15 OPEN_WARMUP=2 STREAM_SECONDS=10 HOLD=1000 TRIALS=100
fi
read -r -a RATES <<<"${RATES_ARG:-500 1000 2500 5000}"
read -r -a HOLDS <<<"${HOLDS_ARG:-$HOLD}"
HOLD=${HOLDS[0]}
TRIALS=${TRIALS_ARG:-$TRIALS}
OPEN_SECONDS=${OPEN_SECONDS_ARG:-$OPEN_SECONDS}
if [ -z "$PEER" ] && [ -x "$ROOT/.venv/bin/vllm-router" ]; then PEER="$ROOT/.venv/bin/vllm-router"; fi
[ "$PEER" = none ] && PEER=""
if [ -n "$PEER" ] && [ ! -x "$PEER" ]; then
  echo "no peer router at $PEER: FED_VENV_BENCH=1 scripts/python-env installs vllm-router into .venv (or --peer-router none)" >&2
  exit 2
fi

log() { printf '== %s\n' "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- build (release) ------------------------------------------------------------------------
products=(federation-node federation-catalog federation-health federation-router federation-loadgen)
grep -q 'executable(name: "federation-gateway"' Package.swift && products+=(federation-gateway)
if [ "$BUILD" = 1 ]; then
  for product in "${products[@]}"; do
    log "building $product (release)"
    if ! swift build -c release --product "$product" >/tmp/fed-bench-build.log 2>&1; then
      if [ "$product" = federation-gateway ]; then
        log "federation-gateway does not build yet (see /tmp/fed-bench-build.log): gateway column skipped"
      else
        tail -20 /tmp/fed-bench-build.log >&2; exit 1
      fi
    fi
  done
fi
if [ -n "$BIN_DIR" ]; then BIN=$(cd "$BIN_DIR" && pwd); else BIN=$(swift build -c release --show-bin-path); fi
for product in federation-node federation-catalog federation-health federation-router federation-loadgen; do
  [ -x "$BIN/$product" ] || { echo "missing $BIN/$product: build it (or drop --no-build)" >&2; exit 1; }
done
command -v wrk >/dev/null && [ -x /usr/sbin/nginx ] || {
  echo "needs wrk and Debian's nginx: apt-get install -y nginx wrk" >&2; exit 1; }
GATEWAY_BIN=""
[ -x "$BIN/federation-gateway" ] && GATEWAY_BIN="$BIN/federation-gateway"

# ---- start everything in a temp dir, stop it on any exit ------------------------------------
if [ -n "$WORK_DIR" ]; then mkdir -p "$WORK_DIR"; WORK=$(cd "$WORK_DIR" && pwd); KEEP=1; else WORK=$(mktemp -d /tmp/fed-bench.XXXXXX); fi
PIDS=()
cleanup() {
  local status=$? pid
  set +e
  trap - EXIT INT TERM
  [ -n "$CHILD" ] && { pkill -TERM -P "$CHILD"; kill "$CHILD"; } 2>/dev/null
  [ -n "$SLOW_PID" ] && kill "$SLOW_PID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  # nginx is a daemon (not our child): wait for its master and workers, then SIGKILL what is left
  for _ in $(seq 50); do
    alive=0
    for pid in $NGINX_PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $NGINX_PIDS; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ "$KEEP" = 1 ] || [ "$status" != 0 ]; then
    echo "logs and raw results kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CHILD="" SLOW_PID="" NGINX_PIDS=""
# Long measurements run in the background and are waited for, so that a signal interrupts the wait
# at once (bash runs traps only after a foreground command ends) and cleanup stops the child too.
fg_run() {
  "$@" &
  CHILD=$!
  wait "$CHILD"
  CHILD=""
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # url name [seconds]
  local i
  for i in $(seq 1 $((${3:-10} * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not answer on $1 (log: $WORK/$2.log)" >&2
  return 1
}
start() { # name command…: start in the background, log to $WORK/name.log, remember the pid
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

NS="bench$$"
REDIS_PORT=$(free_port)
CATALOG_PORT=$(free_port) HEALTH_PORT=$(free_port) ROUTER_PORT=$(free_port)
FAST1_PORT=$(free_port) FAST2_PORT=$(free_port) STREAM_PORT=$(free_port) HOLD_PORT=$(free_port)
NGINX_FAST=$(free_port) NGINX_STREAM=$(free_port) NGINX_HOLD=$(free_port) STANDIN_A=$(free_port) STANDIN_B=$(free_port)
PEER_FAST=$(free_port) PEER_STREAM=$(free_port) PEER_HOLD=$(free_port)
GW_A_PORT=$(free_port) GW_B_PORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

mkdir -p "$WORK/redis"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Short circuit timings so that propagation trials recover quickly (docs/HEALTH.md): one failure
# opens a circuit, 200 ms later it is half-open, one success closes it.
cat >"$WORK/federation.yaml" <<YAML
namespace: $NS
redis:
  url: $REDIS_URL
log_level: warning
regions:
  local: { privacy: confidential, cost: 0.5 }
policy:
  strategy: round_robin
  min_score: 0
  max_candidates: 10
  panic_threshold: 0
catalog:
  port: $CATALOG_PORT
health:
  port: $HEALTH_PORT
  probe_interval_ms: 500
  probe_timeout_ms: 500
  circuit: { failure_threshold: 1, reset_timeout_ms: 200, half_open_success_threshold: 1, half_open_max_probes: 1, backoff_multiplier: 1.0, max_open_duration_ms: 1000 }
router:
  port: $ROUTER_PORT
gateway:
  port: $GW_A_PORT
  request_timeout_ms: 10000
  retry: { max_retries: 1, base_delay_ms: 0, multiplier: 1, max_delay_ms: 0, jitter: 0 }
YAML
for service in catalog health router; do
  port_var="${service^^}_PORT"
  start "$service" "$BIN/federation-$service" --config "$WORK/federation.yaml" --port "${!port_var}" \
    --redis-url "$REDIS_URL" --namespace "$NS" --log-level warning
  wait_http "http://127.0.0.1:${!port_var}/healthz" "$service"
done

node_flags=(--region local --latency fixed:0 --log-level warning --register-url "http://127.0.0.1:$CATALOG_PORT"
  --register-interval 5 --max-connections 16384)
# Overhead runs: zero latency, no token pacing. Streams: 100 tokens/s (10 ms between frames).
# Held streams: 2 tokens/s, so that 1,000 open streams cost little CPU (≈ 10 s each for 20 tokens).
start node-fast-1 "$BIN/federation-node" --node-id bench-fast-1 --port "$FAST1_PORT" --tokens-per-second 0 \
  --max-concurrency 1000 --model fed-chat=generate+code "${node_flags[@]}"
start node-fast-2 "$BIN/federation-node" --node-id bench-fast-2 --port "$FAST2_PORT" --tokens-per-second 0 \
  --max-concurrency 1000 --model fed-chat=generate+code "${node_flags[@]}"
start node-stream "$BIN/federation-node" --node-id bench-stream --port "$STREAM_PORT" --tokens-per-second 100 \
  --max-concurrency 4000 --model fed-stream=generate "${node_flags[@]}"
start node-hold "$BIN/federation-node" --node-id bench-hold --port "$HOLD_PORT" --tokens-per-second 2 \
  --max-concurrency 12000 --model fed-hold=generate "${node_flags[@]}"
for port in "$FAST1_PORT" "$FAST2_PORT" "$STREAM_PORT" "$HOLD_PORT"; do wait_http "http://127.0.0.1:$port/healthz" node; done
for _ in $(seq 100); do
  n=$(curl -fsS "http://127.0.0.1:$CATALOG_PORT/v1/nodes" 2>/dev/null | grep -o '"bench-[a-z0-9-]*"' | sort -u | wc -l || true)
  [ "${n:-0}" -ge 4 ] && break
  sleep 0.1
done
[ "${n:-0}" -ge 4 ] || { echo "the nodes did not register with the catalog (logs in $WORK)" >&2; exit 1; }

sed -e "s#__DIR__#$WORK#g" -e "s#__FAST1__#$FAST1_PORT#g" -e "s#__FAST2__#$FAST2_PORT#g" \
  -e "s#__STREAM__#$STREAM_PORT#g" -e "s#__HOLD__#$HOLD_PORT#g" -e "s#__NGINX_FAST__#$NGINX_FAST#g" \
  -e "s#__NGINX_STREAM__#$NGINX_STREAM#g" -e "s#__NGINX_HOLD__#$NGINX_HOLD#g" \
  -e "s#__STANDIN_A__#$STANDIN_A#g" -e "s#__STANDIN_B__#$STANDIN_B#g" "$HERE/nginx.conf.template" >"$WORK/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;' 2>"$WORK/nginx.log"
wait_http "http://127.0.0.1:$NGINX_FAST/healthz" nginx
NGINX_PIDS="$(cat "$WORK/nginx.pid") $(ps -o pid= --ppid "$(cat "$WORK/nginx.pid")" | tr '\n' ' ')"

# The peer router: vllm-router (Rust, from PyPI), plain round robin over the same nodes, one
# instance per node group like nginx's three servers. Limits raised so that it never queues or
# sheds what the others pass (its defaults queue beyond a small concurrency).
PEER_FAST_URL="" PEER_STREAM_URL="" PEER_HOLD_URL="" PEER_PID_FAST="" PEER_PID_STREAM="" PEER_PID_HOLD=""
if [ -n "$PEER" ]; then
  for group in fast stream hold; do
    case $group in
      fast) port=$PEER_FAST workers=("http://127.0.0.1:$FAST1_PORT" "http://127.0.0.1:$FAST2_PORT") ;;
      stream) port=$PEER_STREAM workers=("http://127.0.0.1:$STREAM_PORT") ;;
      hold) port=$PEER_HOLD workers=("http://127.0.0.1:$HOLD_PORT") ;;
    esac
    start "peer-$group" "$PEER" --host 127.0.0.1 --port "$port" --worker-urls "${workers[@]}" --policy round_robin \
      --log-level warning --max-concurrent-requests 20000 --queue-size 20000 --request-timeout-secs 120 \
      --prometheus-host 127.0.0.1 --prometheus-port "$(free_port)"
    wait_http "http://127.0.0.1:$port/health" "peer-$group" 60
  done
  PEER_FAST_URL="http://127.0.0.1:$PEER_FAST/v1/chat/completions"
  PEER_STREAM_URL="http://127.0.0.1:$PEER_STREAM/v1/chat/completions"
  PEER_HOLD_URL="http://127.0.0.1:$PEER_HOLD/v1/chat/completions"
  PEER_PID_FAST=$PID_peer_fast PEER_PID_STREAM=$PID_peer_stream PEER_PID_HOLD=$PID_peer_hold
fi

DIRECT_FAST="http://127.0.0.1:$FAST1_PORT/v1/chat/completions"
DIRECT_STREAM="http://127.0.0.1:$STREAM_PORT/v1/chat/completions"
NGINX_FAST_URL="http://127.0.0.1:$NGINX_FAST/v1/chat/completions"
NGINX_STREAM_URL="http://127.0.0.1:$NGINX_STREAM/v1/chat/completions"
DIRECT_HOLD="http://127.0.0.1:$HOLD_PORT/v1/chat/completions"
NGINX_HOLD_URL="http://127.0.0.1:$NGINX_HOLD/v1/chat/completions"
GW_KIND="" GW_FAST_URL="" GW_STREAM_URL="" GW_HOLD_URL="" GW_B_URL="" GW_PIDS="" GW_NODE_MARKER=""
if [ -n "$GATEWAY_BIN" ]; then
  for replica in a b; do
    port_var="GW_${replica^^}_PORT"
    start "gateway-$replica" "$GATEWAY_BIN" --config "$WORK/federation.yaml" --port "${!port_var}" \
      --redis-url "$REDIS_URL" --namespace "$NS" --log-level warning --max-connections 16384
    wait_http "http://127.0.0.1:${!port_var}/healthz" "gateway-$replica" 30
  done
  GW_KIND="federation-gateway"
  GW_FAST_URL="http://127.0.0.1:$GW_A_PORT/v1/chat/completions"
  GW_STREAM_URL=$GW_FAST_URL
  GW_HOLD_URL=$GW_FAST_URL
  GW_B_URL="http://127.0.0.1:$GW_B_PORT/v1/chat/completions"
  GW_PIDS=$PID_gateway_a
  GW_NODE_MARKER=bench-fast-1
  # routable: the replicas' views have the nodes
  for url in "$GW_FAST_URL" "$GW_B_URL"; do
    ok=0
    for _ in $(seq 300); do
      curl -fsS -o /dev/null -H 'Content-Type: application/json' -d @"$HERE/chat.json" "$url" 2>/dev/null \
        && { ok=1; break; }
      sleep 0.1
    done
    [ "$ok" = 1 ] || { echo "the gateway at $url never answered a chat completion (logs in $WORK)" >&2; exit 1; }
  done
elif [ "$STANDIN" = 1 ]; then
  GW_KIND="nginx stand-in (--gateway-standin): NOT gateway numbers"
  GW_FAST_URL="http://127.0.0.1:$STANDIN_A/v1/chat/completions"
  GW_STREAM_URL=$NGINX_STREAM_URL
  GW_HOLD_URL=$NGINX_HOLD_URL
  GW_B_URL="http://127.0.0.1:$STANDIN_B/v1/chat/completions"
  GW_PIDS=$NGINX_PIDS
  GW_NODE_MARKER="127.0.0.1:$FAST1_PORT"
else
  log "no $BIN/federation-gateway: the gateway column and the propagation part are skipped"
fi
GW_RSS_IDLE=""
[ -n "$GATEWAY_BIN" ] && GW_RSS_IDLE=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID_gateway_a/status")

LOADGEN="$BIN/federation-loadgen"
echo "started: redis $REDIS_PORT, catalog $CATALOG_PORT, health $HEALTH_PORT, router $ROUTER_PORT," \
  "nodes $FAST1_PORT $FAST2_PORT $STREAM_PORT $HOLD_PORT, nginx $NGINX_FAST/$NGINX_STREAM/$NGINX_HOLD, gateway: ${GW_KIND:-none}" \
  >"$WORK/setup.txt"

cpu_ticks() { # pids… → utime+stime summed, in clock ticks
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(echo "$fields" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}

# ---- (a) closed loop: wrk, interleaved rounds -------------------------------------------------
python3 - "$HERE/chat.json" >"$WORK/chat.lua" <<'PY'
import json, sys
body = open(sys.argv[1]).read().strip()
print('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body))
PY
targets_a=("direct $DIRECT_FAST $PID_node_fast_1" "nginx $NGINX_FAST_URL $NGINX_PIDS")
[ -n "$GW_FAST_URL" ] && targets_a+=("gateway $GW_FAST_URL $GW_PIDS")
[ -n "$PEER_FAST_URL" ] && targets_a+=("vllm-router $PEER_FAST_URL $PEER_PID_FAST")
log "(a) closed loop: wrk -t1 -c32, $WRK_ROUNDS round(s) × ${WRK_SECONDS}s per target (load $(load))"
echo "load_before $(load)" >"$WORK/a.txt"
for spec in "${targets_a[@]}"; do
  read -r name url _ <<<"$spec"
  fg_run wrk -t1 -c32 -d1s -s "$WORK/chat.lua" "$url" >/dev/null
done
for round in $(seq "$WRK_ROUNDS"); do
  for spec in "${targets_a[@]}"; do
    read -r name url pids <<<"$spec"
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids)
    fg_run /usr/bin/time -f '%U %S' -o "$WORK/wrk-time.txt" wrk -t1 -c32 -d"${WRK_SECONDS}s" -s "$WORK/chat.lua" \
      "$url" >"$WORK/wrk.out"
    out=$(cat "$WORK/wrk.out")
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids)
    wrk_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/wrk-time.txt")
    requests=$(echo "$out" | awk '/requests in/ { print $1 }')
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    echo "round $round $name requests ${requests:-0} rps ${rps:-0} cpu_ticks $((after - before)) non2xx ${non2xx:-0} wrk_cpu_s $wrk_cpu" \
      >>"$WORK/a.txt"
  done
done
echo "load_after $(load)" >>"$WORK/a.txt"

# ---- (b) open loop: added latency -------------------------------------------------------------
targets_b=(--target "direct=$DIRECT_FAST" --target "nginx=$NGINX_FAST_URL")
[ -n "$GW_FAST_URL" ] && targets_b+=(--target "gateway=$GW_FAST_URL")
[ -n "$PEER_FAST_URL" ] && targets_b+=(--target "vllm-router=$PEER_FAST_URL")
for rate in "${RATES[@]}"; do
  log "(b) open loop at $rate req/s, ${OPEN_SECONDS}s per target in 1 s slices (load $(load))"
  fg_run "$LOADGEN" run "${targets_b[@]}" --rate "$rate" --duration "$OPEN_SECONDS" --warmup "$OPEN_WARMUP" --slice 1 \
    --connections 256 --body "$HERE/chat.json" --json >"$WORK/b-$rate.json"
done
# the generator's own cost, our NIO client against AsyncHTTPClient (same target, same rate)
[ "$CLIENTS" = 1 ] && log "(b') load generator overhead: nio vs AsyncHTTPClient at 2500 req/s against the node (load $(load))"
[ "$CLIENTS" = 1 ] && for client in nio ahc; do
  fg_run "$LOADGEN" run --target "direct=$DIRECT_FAST" --rate 2500 --duration "$OPEN_SECONDS" --warmup "$OPEN_WARMUP" \
    --connections 256 --client "$client" --body "$HERE/chat.json" --json >"$WORK/b-client-$client.json"
done

# ---- (c) streaming ------------------------------------------------------------------------------
targets_c=(--target "direct=$DIRECT_STREAM" --target "nginx=$NGINX_STREAM_URL")
[ -n "$GW_STREAM_URL" ] && targets_c+=(--target "gateway=$GW_STREAM_URL")
[ -n "$PEER_STREAM_URL" ] && targets_c+=(--target "vllm-router=$PEER_STREAM_URL")
log "(c) streams at 50/s, 16 tokens at 100 tokens/s, ${STREAM_SECONDS}s per target (load $(load))"
fg_run "$LOADGEN" run "${targets_c[@]}" --stream --rate 50 --duration "$STREAM_SECONDS" --warmup 1 --slice 1 \
  --connections 512 --body "$HERE/stream.json" --json >"$WORK/c-stream.json"
# a slow reader: streams whose client reads a few bytes a second (small receive buffer) must not
# hold up the inter-token gaps of the others through the same gateway
if [ -n "$GW_STREAM_URL" ]; then
  log "(c) slow reader: gateway streams alone, then beside 4 slow readers (load $(load))"
  fg_run "$LOADGEN" run --target "gateway=$GW_STREAM_URL" --stream --rate 50 --duration "$STREAM_SECONDS" \
    --warmup 1 --connections 512 --body "$HERE/stream.json" --json >"$WORK/c-slow-without.json"
  python3 "$ROOT/bench/suite/slow_reader.py" --url "$GW_STREAM_URL" --model fed-stream --streams 4 \
    --seconds $((STREAM_SECONDS + 4)) --out "$WORK/c-slow-reader.json" &
  SLOW_PID=$!
  sleep 2
  fg_run "$LOADGEN" run --target "gateway=$GW_STREAM_URL" --stream --rate 50 --duration "$STREAM_SECONDS" \
    --warmup 1 --connections 512 --body "$HERE/stream.json" --json >"$WORK/c-slow-with.json"
  wait "$SLOW_PID"
fi

# ---- (d) replica propagation -------------------------------------------------------------------
if [ -n "$GW_B_URL" ]; then
  log "(d) propagation: $TRIALS trials, A → B around bench-fast-1 (load $(load))"
  fg_run "$LOADGEN" propagation --via "a=$GW_FAST_URL" --observe "b=$GW_B_URL" \
    --fault-url "http://127.0.0.1:$FAST1_PORT/admin/faults" --node "$GW_NODE_MARKER" --trials "$TRIALS" \
    --body "$HERE/chat.json" --json >"$WORK/d-propagation.json"
fi

# ---- (c) held streams last: the longest part (a time-bounded caller keeps all the others) ----
# every target's held streams, for each count in --holds; RSS via --watch-pid, CPU of the serving
# process(es) from /proc/PID/stat around the run
hold_specs=("direct $DIRECT_HOLD $PID_node_hold $PID_node_hold"
  "nginx $NGINX_HOLD_URL $(echo "$NGINX_PIDS" | awk '{ print $2 }') $NGINX_PIDS")
[ -n "$GW_HOLD_URL" ] && hold_specs+=("gateway $GW_HOLD_URL $(echo "$GW_PIDS" | awk '{ print ($2 == "" ? $1 : $2) }') $GW_PIDS")
[ -n "$PEER_HOLD_URL" ] && hold_specs+=("vllm-router $PEER_HOLD_URL $PEER_PID_HOLD $PEER_PID_HOLD")
for count in "${HOLDS[@]}"; do
  log "(c) $count concurrent streams held (20 tokens at 2 tokens/s each) (load $(load))"
  for spec in "${hold_specs[@]}"; do
    read -r name url watch pids <<<"$spec"
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids)
    fg_run "$LOADGEN" run --target "$name=$url" --hold "$count" --timeout 90 --body "$HERE/hold.json" \
      --watch-pid "$watch" --json >"$WORK/c-hold-$count-$name.json"
    # shellcheck disable=SC2086
    echo "cpu_ticks $(($(cpu_ticks $pids) - before))" >"$WORK/c-hold-$count-$name.cpu"
  done
done

# ---- report -------------------------------------------------------------------------------------
STAMP=$(date -u +%Y-%m-%d-%H%M)
OUT=${OUT:-$HERE/results/$STAMP.md}
mkdir -p "$(dirname "$OUT")"
COMMAND="bench/gateway/run.sh"
[ "$QUICK" = 1 ] && COMMAND+=" --quick"
[ "$STANDIN" = 1 ] && COMMAND+=" --gateway-standin"
python3 "$HERE/report.py" --work "$WORK" --command "$COMMAND" --gateway "${GW_KIND:-}" \
  --gateway-rss-idle "${GW_RSS_IDLE:-}" --hold "$HOLD" --clk-tck "$(getconf CLK_TCK)" >"$OUT"
cat "$OUT"
log "report written to $OUT"
