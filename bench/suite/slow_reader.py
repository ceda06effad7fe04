#!/usr/bin/env python3
"""Slow readers for the stream part: N streamed chat completions whose client keeps a tiny receive
buffer and reads a few bytes at a time, so the proxy in front of the node must hold back (or buffer)
that stream without delaying anybody else's. Runs --seconds, then closes; writes what it read.

  slow_reader.py --url http://127.0.0.1:8080/v1/chat/completions --model fed-stream --streams 4 \
      --seconds 14 --out slow.json
"""
import argparse
import json
import socket
import threading
import time
import urllib.parse


def one_reader(url, model, seconds, read_bytes, pause, result):
    parts = urllib.parse.urlsplit(url)
    body = json.dumps({"model": model, "stream": True, "max_tokens": 16384,
                       "messages": [{"role": "user", "content": "Read me slowly."}]}).encode()
    head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.settimeout(10)
    total = 0
    try:
        sock.connect((parts.hostname, parts.port or 80))
        sock.sendall(head + body)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            chunk = sock.recv(read_bytes)
            if not chunk:
                result["closed_early"] = True
                break
            total += len(chunk)
            time.sleep(pause)
    except OSError as error:
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        sock.close()
    result["bytes_read"] = total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--read-bytes", type=int, default=64, help="bytes per read (default 64)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between reads (default 0.5)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    results = [{} for _ in range(args.streams)]
    threads = [threading.Thread(target=one_reader, args=(args.url, args.model, args.seconds, args.read_bytes,
                                                          args.pause, r)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.out, "w") as f:
        json.dump({"streams": args.streams, "seconds": args.seconds, "read_bytes": args.read_bytes,
                   "pause_seconds": args.pause, "readers": results}, f, indent=1)


if __name__ == "__main__":
    main()
