"""Benchmark: ledger appends/s and trace lookup latency at 1 M+ rows, SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/bench_ledger.py [--rows 1000000] [--backends sqlite,postgresql]
[--pg postgresql://postgres@127.0.0.1:5432/test]``. Prints a Markdown table.

Measured per back end, on a fresh ledger (temp file / fresh schema, removed after):
- single: durable one-by-one appends (one COMMIT + fsync each), ``Ledger.append``;
- batch: ``Ledger.append_many`` in batches of ``--batch`` (one COMMIT per batch),
  which also fills the ledger to ``--rows``;
- lookup: ``Ledger.trace`` (indexed SELECT + parsing the entries) for random
  ProduceIDs, PropagateIDs, content SHA-256 and absent keys, median and p99
  (PostgreSQL: after an ANALYZE, as autovacuum would have run in steady state);
- verify: recomputing the whole chain, rows/s.
Targets (issue 6): >= 5000 appends/s on SQLite, lookup <= 2 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aigc_label.ledger import Event, Ledger

PRODUCER = "001191440300708461136T1XGW3"


def event(i: int) -> Event:
    pid = f"0190f0c8-7d3a-7b1e-8f00-{i:012d}"
    label = {
        "Label": "1",
        "ContentProducer": PRODUCER,
        "ProduceID": pid,
        "ReservedCode1": "",
        "ContentPropagator": PRODUCER,
        "PropagateID": f"plat-{i}",
        "ReservedCode2": "",
    }
    return Event(
        kind="generation",
        provider=PRODUCER,
        produce_id=pid,
        propagate_id=f"plat-{i}",
        sha256_before=hashlib.sha256(b"in%d" % i).hexdigest(),
        sha256_after=hashlib.sha256(b"out%d" % i).hexdigest(),
        format="png",
        label=label,
        model="image-model-7",
        requester=f"user-{i % 9973}",
    )


@contextmanager
def sqlite_url(query: str = "") -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as d:
        yield f"sqlite://{Path(d) / 'ledger.sqlite3'}{query}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    import psycopg

    schema = f"bench_ledger_{int(time.time())}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def settle(url: str) -> None:
    """Refresh planner statistics after the bulk fill, as autovacuum would in steady state."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE ledger_entries")


def rate(n: int, fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def latencies_ms(lg: Ledger, keys: list[str]) -> tuple[float, float]:
    samples = []
    for key in keys:
        t = time.perf_counter()
        lg.trace(key)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


THREADS = 32
"""Concurrent appenders in the group-commit measurement (a service's request threads)."""


def bench(name: str, url: str, args: argparse.Namespace) -> list[str]:
    rows: list[str] = []
    with Ledger.open(url) as lg:
        single_n = args.single
        single = rate(single_n, lambda: [lg.append(event(i)) for i in range(single_n)])
        rows.append(f"| {name} | append, one by one (durable) | {single:,.0f} /s | |")
        per = args.single // THREADS

        def work(k: int) -> None:
            for j in range(per):
                lg.append(event(single_n + k * per + j))

        workers = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
        t = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        grouped = THREADS * per / (time.perf_counter() - t)
        rows.append(
            f"| {name} | append, {THREADS} threads (group commit, durable) | {grouped:,.0f} /s | |"
        )
        done, t0, batch_time = single_n + THREADS * per, time.perf_counter(), 0.0
        while done < args.rows:
            n = min(args.batch, args.rows - done)
            events = [event(i) for i in range(done, done + n)]
            t = time.perf_counter()
            lg.append_many(events)
            batch_time += time.perf_counter() - t
            done += n
            if done % 100_000 < args.batch:
                print(f"  {name}: {done:,} rows, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        batched = (args.rows - single_n - THREADS * per) / batch_time
        rows.append(f"| {name} | append, batches of {args.batch} | {batched:,.0f} /s | |")
        settle(url)
        rng = random.Random(7)
        picks = [rng.randrange(args.rows) for _ in range(args.lookups)]
        kinds: dict[str, list[str]] = {
            "ProduceID": [event(i).produce_id for i in picks],
            "PropagateID": [f"plat-{i}" for i in picks],
            "content SHA-256": [str(event(i).sha256_after) for i in picks],
            "absent id": [f"absent-{i}" for i in picks],
        }
        for what, keys in kinds.items():
            latencies_ms(lg, keys[:50])  # warm caches
            med, p99 = latencies_ms(lg, keys)
            rows.append(
                f"| {name} | trace by {what} at {lg.count():,} rows | {med:.3f} ms | {p99:.3f} ms |"
            )
        t = time.perf_counter()
        result = lg.verify()
        took = time.perf_counter() - t
        ok = "ok" if result.ok else f"BROKEN {result.problem}"
        rows.append(f"| {name} | verify ({ok}) | {result.checked / took:,.0f} rows/s | |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--single", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--backends", default="sqlite,sqlite-normal,postgresql")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    table = ["| back end | measure | median / rate | p99 |", "|---|---|---|---|"]
    for name in args.backends.split(","):
        if name == "sqlite":
            with sqlite_url() as url:
                table += bench(name, url, args)
        elif name == "sqlite-normal":
            with sqlite_url("?synchronous=normal") as url:
                table += bench(name, url, args)
        elif name == "postgresql":
            try:
                with postgres_url(args.pg) as url:
                    table += bench(name, url, args)
            except Exception as e:  # a bench reports, it does not crash
                table.append(f"| postgresql | skipped: {type(e).__name__}: {e} | | |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
