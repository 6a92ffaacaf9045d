"""Service benchmark: POST /v1/inspect requests/s and latency on 1 MB images over loopback.

Starts ``aigc-label serve`` on a free loopback port (``--workers``, default 2), then
drives it with a small asyncio HTTP/1.1 keep-alive client: each connection sends a
pre-built multipart request (a labeled ~1 MB PNG of noise, so nothing compresses it
away) and reads the JSON answer. The client runs on the same machine, so on 2 cores
it competes with the server for CPU; the numbers are a floor, not a ceiling.

Target (issue 6): >= 300 requests/s with p99 < 100 ms on 2 cores.

    .venv/bin/python bench/bench_service.py [--seconds 10] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from aigc_label import api
from aigc_label.model import Label

PRODUCER = "001191440300708461136T1XGW3"
BOUNDARY = "benchboundary7d3a9f"


def make_image(target_bytes: int = 1_000_000) -> bytes:
    """A labeled PNG of random noise of about ``target_bytes``."""
    side = int((target_bytes / 3) ** 0.5)
    pixels = np.random.default_rng(6).integers(0, 256, (side, side, 3), dtype=np.uint8)
    raw = io.BytesIO()
    Image.fromarray(pixels).save(raw, "PNG", compress_level=1)
    label = Label("1", PRODUCER, "bench-1", "", PRODUCER, "bench-1", "")
    out = io.BytesIO()
    api.label_stream(io.BytesIO(raw.getvalue()), out, label)
    return out.getvalue()


def build_request(port: int, image: bytes) -> bytes:
    body = (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="bench.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        "POST /v1/inspect HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def connection(port: int, request: bytes, deadline: float, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status, body = await read_response(reader)
            lat.append(time.perf_counter() - t0)
            if status != 200 or b'"verdict":"compliant"' not in body:
                errors += 1
    finally:
        writer.close()
    return errors


async def load(port: int, request: bytes, seconds: float, conns: int) -> tuple[list[float], int]:
    lat: list[float] = []
    deadline = time.perf_counter() + seconds
    errs = await asyncio.gather(*(connection(port, request, deadline, lat) for _ in range(conns)))
    return lat, sum(errs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("aigc-label")
    cmd = [str(exe), "serve", "--port", str(port), "--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_LABEL_")}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=1.0)
    args = ap.parse_args()

    image = make_image()
    port = free_port()
    request = build_request(port, image)
    proc = start_server(port, args.workers)
    try:
        asyncio.run(load(port, request, args.warmup, args.connections))
        lat, errors = asyncio.run(load(port, request, args.seconds, args.connections))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lat.sort()
    n = len(lat)
    p = lambda q: lat[min(n - 1, int(q * n))] * 1000  # noqa: E731
    result = {
        "image_bytes": len(image),
        "workers": args.workers,
        "connections": args.connections,
        "cpus": os.cpu_count(),
        "requests": n,
        "errors": errors,
        "req_per_s": round(n / args.seconds, 1),
        "p50_ms": round(p(0.50), 2),
        "p99_ms": round(p(0.99), 2),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
    }
    print(json.dumps(result))
    ok = result["req_per_s"] >= 300 and p(0.99) < 100 and errors == 0
    print("target (>= 300 req/s, p99 < 100 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
