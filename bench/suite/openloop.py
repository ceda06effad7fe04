"""An open-loop HTTP/1.1 client for the suite's Python parts (routing quality, soak): request k is
due at start + k / rate, sent then whatever happened to earlier ones (keep-alive connections from a
pool, a new one when none is free), and its latency runs from that intended time to the last byte
of the answer (wrk2's method, no coordinated omission). Each answer's X-Federation-Node header is
kept, so traffic shares can be counted per node and over time."""
import asyncio
import time
import urllib.parse


class Sample:
    __slots__ = ("due", "latency_ms", "status", "node", "error")

    def __init__(self, due, latency_ms, status, node, error):
        self.due, self.latency_ms, self.status, self.node, self.error = due, latency_ms, status, node, error


async def _exchange(pool, host, port, request, timeout):
    reader = writer = None
    if pool:
        reader, writer = pool.pop()
    else:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length:
            await asyncio.wait_for(reader.readexactly(length), timeout)
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            pool.append((reader, writer))
        return status, headers.get("x-federation-node", "-")
    except BaseException:
        writer.close()
        raise


async def run_open_loop(url, rate, seconds, body, header_for=None, timeout=10.0):
    """Sends rate × seconds requests; returns [Sample] in due order (due = seconds from start)."""
    parts = urllib.parse.urlsplit(url)
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    pool = []
    samples = []
    tasks = []
    start = time.monotonic()
    count = int(rate * seconds)

    async def one(k):
        due = start + k / rate
        extra = header_for(k) if header_for else ""
        request = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body
        try:
            status, node = await _exchange(pool, host, port, request, timeout)
            error = None if 200 <= status < 300 else f"status {status}"
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            status, node, error = 0, "-", type(e).__name__
        samples.append(Sample(due - start, (time.monotonic() - due) * 1000, status, node, error))

    for k in range(count):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(k)))
    if tasks:
        await asyncio.gather(*tasks)
    for _, writer in pool:
        writer.close()
    samples.sort(key=lambda s: s.due)
    return samples


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]
