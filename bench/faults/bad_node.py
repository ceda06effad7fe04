#!/usr/bin/env python3
"""A node that misbehaves, for scenario (g) of bench/faults/run.py.

It registers itself with the catalog exactly as federation-node does (POST /v1/deployments with
`lease_seconds` = 3 x the renewal interval, renewed every interval; docs/CATALOG.md, docs/NODE.md)
and serves `POST /v1/chat/completions` and `GET /health` in one of two modes:

  slow     every chat completion is a valid OpenAI answer, but only after --slow-seconds;
           /health answers at once ({"status":"ok"}): the process is up, its requests are slow
  garbage  every answer (chat and /health) is broken, rotating through three kinds:
           `bytes`     bytes that are not HTTP at all, then the connection closes
           `truncated` a 200 head announcing 4096 bytes of body, 20 sent, then the connection closes
           `badjson`   a well-framed 200 whose body is not JSON

It starts in `slow` (or in `--mode garbage`); SIGUSR1 switches it to `garbage`. With
`--healthy-probe` its /health stays a fast 200 in garbage mode too: a node that looks well to the
health service and answers every request with garbage, so only the gateways' own outcome reports
can take it out. Every answer is one line on stdout
(`<CLOCK_MONOTONIC s> answer <mode> <kind> <path>`), so the suite counts what the node really sent. SIGTERM/SIGINT
deregister it (DELETE /v1/nodes/{id}) and stop it.

  bad_node.py --port 8199 --node-id bad-node-1 --region us-west --model llama-3-8b \
      --register-url http://127.0.0.1:7101 [--register-interval 10] [--slow-seconds 2]
"""

import argparse
import http.server
import itertools
import json
import signal
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.request

GARBAGE_KINDS = ("bytes", "truncated", "badjson")


class State:
    def __init__(self, slow_seconds: float, mode: str, healthy_probe: bool):
        self.mode = mode
        self.healthy_probe = healthy_probe
        self.slow_seconds = slow_seconds
        self.kinds = itertools.cycle(GARBAGE_KINDS)
        self.lock = threading.Lock()

    def next_kind(self) -> str:
        with self.lock:
            return next(self.kinds)


def chat_completion(model: str) -> bytes:
    return json.dumps({
        "id": f"chatcmpl-bad-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "slow but fine"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
    }).encode()


def make_handler(state: State, node_id: str, model: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):  # one line per answer is printed by answered() instead
            pass

        def answered(self, kind: str):
            # one write per line under a lock: print() writes the text and its newline apart, and
            # lines of two threads then interleave
            with state.lock:
                sys.stdout.write(f"{time.monotonic():.3f} answer {state.mode} {kind} {self.path}\n")
                sys.stdout.flush()

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= 8 * 1024 * 1024:
                self.rfile.read(length)

        def send_json(self, status: int, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def garbage(self):
            kind = state.next_kind()
            self.answered(kind)
            if kind == "bytes":
                self.wfile.write(b"\x00\xffTHIS IS NOT HTTP\r\n\x13\x37" * 8)
            elif kind == "truncated":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 4096\r\n\r\n{\"id\":\"chatcmpl-trunc")
            else:
                body = b"<<garbage>> \x00\x01 not json at all"
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
                self.wfile.flush()
            self.close_connection = True

        def do_GET(self):
            if state.mode == "garbage" and not (state.healthy_probe and self.path in ("/health", "/healthz")):
                return self.garbage()
            if self.path in ("/health", "/healthz"):
                self.answered("health")
                return self.send_json(200, json.dumps({"status": "ok", "node_id": node_id}).encode())
            self.send_json(404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')

        def do_POST(self):
            self.read_body()
            if state.mode == "garbage":
                return self.garbage()
            if self.path == "/v1/chat/completions":
                time.sleep(state.slow_seconds)
                self.answered("slow")
                return self.send_json(200, chat_completion(model))
            self.send_json(404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def catalog_call(method: str, url: str, body=None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--register-url", required=True)
    parser.add_argument("--register-interval", type=float, default=10.0)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--mode", choices=("slow", "garbage"), default="slow")
    parser.add_argument("--healthy-probe", action="store_true", help="/health stays a fast 200 in garbage mode")
    args = parser.parse_args()
    if not 0 < args.register_interval <= 3600 or not 0 <= args.slow_seconds <= 600:
        parser.error("--register-interval must be in (0, 3600] and --slow-seconds in [0, 600]")

    state = State(args.slow_seconds, args.mode, args.healthy_probe)
    server = Server(("127.0.0.1", args.port), make_handler(state, args.node_id, args.model))
    stop = threading.Event()
    registration = {
        "node_id": args.node_id, "region": args.region, "endpoint": f"http://127.0.0.1:{args.port}",
        "gpu": True, "models": [{"name": args.model, "capabilities": ["generate", "code"]}],
        "lease_seconds": int(3 * args.register_interval),
    }

    def register_loop():
        while not stop.is_set():
            try:
                status = catalog_call("POST", args.register_url + "/v1/deployments", registration)
                print(f"registered {status}", flush=True)
            except OSError as error:
                print(f"registration failed: {error}", flush=True)
            stop.wait(args.register_interval)

    def to_garbage(*_):
        state.mode = "garbage"
        print("mode garbage", flush=True)

    def shut_down(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGUSR1, to_garbage)
    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    threading.Thread(target=register_loop, daemon=True).start()
    print(f"listening on {args.port} mode {args.mode}", flush=True)
    server.serve_forever()
    try:
        catalog_call("DELETE", f"{args.register_url}/v1/nodes/{args.node_id}")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
