"""Several writer processes keep one chain; a writer killed with SIGKILL loses nothing it was told.

The writers are real processes (multiprocessing spawn, and a child Python
for the kill test) on a ledger none of them created, so they also race
through the first migration.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aigc_label.ledger import Ledger
from tests.ledger.conftest import append_worker, make_event

ROOT = Path(__file__).resolve().parents[2]
WRITERS, PER_WRITER = 4, 200


def test_concurrent_writer_processes_keep_one_chain(ledger_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        acked = pool.starmap(
            append_worker, [(ledger_url, f"w{w}", PER_WRITER) for w in range(WRITERS)]
        )
    all_seqs = sorted(s for seqs in acked for s in seqs)
    assert all_seqs == list(range(1, WRITERS * PER_WRITER + 1))
    with Ledger.open(ledger_url, create=False) as lg:
        result = lg.verify()
        assert result.ok, result.problem
        assert result.checked == WRITERS * PER_WRITER
        for w, seqs in enumerate(acked):
            assert seqs == sorted(seqs)  # each writer sees its own appends in order
            entry = lg.get(seqs[-1])
            assert entry is not None
            assert entry.event.produce_id == f"w{w}-{PER_WRITER - 1}"


CHILD = """
import sys
from aigc_label.ledger import Ledger
from tests.ledger.conftest import make_event

with Ledger.open(sys.argv[1]) as lg:
    i = 0
    while True:
        e = lg.append(make_event(i, sys.argv[2]))
        print(e.seq, e.event.produce_id, flush=True)
        i += 1
"""


def test_sigkill_loses_no_acknowledged_event(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()  # migrate first: the kill should land in appends
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, ledger_url, name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for name in ("ka", "kb")
    ]
    acked: dict[int, str] = {}
    for child, wanted in zip(children, (60, 97), strict=True):
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        seen = 0
        while seen < wanted and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seq, pid = line.split()
            acked[int(seq)] = pid
            seen += 1
        os.kill(child.pid, signal.SIGKILL)
    for child in children:
        assert child.stdout is not None
        rest = child.stdout.read()  # lines printed before the kill are acknowledged too
        for line in rest.splitlines():
            seq, pid = line.split()
            acked[int(seq)] = pid
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
    assert len(acked) >= 60 + 97
    with Ledger.open(ledger_url, create=False) as lg:
        for seq, pid in acked.items():
            entry = lg.get(seq)
            assert entry is not None, f"acknowledged entry {seq} lost"
            assert entry.event.produce_id == pid
        result = lg.verify()
        assert result.ok, result.problem
        # the killed writers left no lock behind: appends go on
        assert lg.append(make_event(0, "after-kill")).seq == lg.head().seq


def test_sqlite_synchronous_normal_keeps_chain_and_survives_sigkill(tmp_path: Path) -> None:
    """The faster opt-in mode keeps every guarantee except power-loss durability."""
    url = f"sqlite://{tmp_path / 'normal.sqlite3'}?synchronous=normal"
    test_concurrent_writer_processes_keep_one_chain(url)
    test_sigkill_loses_no_acknowledged_event(
        f"sqlite://{tmp_path / 'kill.sqlite3'}?synchronous=normal"
    )


def test_threads_share_group_commits_and_keep_one_chain(tmp_path: Path) -> None:
    """Concurrent appends from threads of one process are committed in groups, in one chain."""
    import threading

    threads, per_thread = 8, 50
    with Ledger.open(f"sqlite://{tmp_path / 'group.sqlite3'}") as lg:
        results: list[list[int]] = [[] for _ in range(threads)]

        def work(n: int) -> None:
            for i in range(per_thread):
                results[n].append(lg.append(make_event(n * per_thread + i, prefix="t")).seq)

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seqs = sorted(s for r in results for s in r)
        assert seqs == list(range(1, threads * per_thread + 1))
        assert all(r == sorted(r) for r in results)  # each thread's events keep their order
        assert lg.verify().ok
        assert lg.find(ids=["t-0", f"t-{threads * per_thread - 1}"])
