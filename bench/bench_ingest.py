"""Benchmark: platform ingest throughput (files/s) on a mixed corpus, with and without OCR.

Run: ``.venv/bin/python bench/bench_ingest.py [--files 400] [--workers 2] [--ocr-files 40]``.
The corpus mixes what a platform receives: camera JPEGs (640x480), generated
PNGs (512x512: plain, A1111/ComfyUI metadata, SD watermark, GB 45438 labels),
WebP, MP3/WAV audio and text, repeated under distinct names. Every file is
fully ingested (classify + relabel or copy) into a fresh output folder.
Target (issue 5): >= 200 files/s without OCR on 2 cores. Prints a Markdown table;
"CPU ms/file" is the workers' CPU time per file, which does not depend on what
else the machine runs (2 cores / CPU ms = the CPU-bound ceiling; the wall rate
also pays the fsync of every atomic output).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.platform import corpus, negatives  # noqa: E402

from aigc_label.platform import ingest_file  # noqa: E402
from aigc_label.policy import Policy  # noqa: E402

_POLICY: Policy | None = None


def make_corpus(d: Path, n: int) -> list[Path]:
    """``n`` files cycling over a mixed base set (distinct names, repeated content)."""
    base_dir = d / "base"
    base_dir.mkdir()
    base: list[Path] = []
    for i, (make, model, software) in enumerate(negatives.CAMERAS):
        p = base_dir / f"camera{i}.jpg"
        corpus.photo(640, 480, 200 + i).save(p, quality=90, exif=_exif(make, model, software))
        base.append(p)
    for i in range(3):
        p = base_dir / f"gen{i}.png"
        corpus.photo(512, 512, 300 + i).save(p)
        base.append(p)
    base += [corpus.a1111_png(base_dir), corpus.comfyui_png(base_dir), corpus.labeled_png(base_dir)]
    if corpus.imwatermark_encoder() is not None:
        base.append(corpus.sd_watermark_png(base_dir))
    webp = base_dir / "photo.webp"
    corpus.photo(512, 384, 400).save(webp, quality=85)
    base.append(webp)
    if shutil.which("ffmpeg") and shutil.which("sox"):
        base += [corpus.suno_mp3(base_dir), corpus.morse_wav(base_dir)]
        music = base_dir / "music.wav"
        corpus._sox("-n -r 22050 -b 16 -c 1", music, "synth 3 pluck C4")
        base.append(music)
    base.append(corpus.text_label_txt(base_dir))
    for p in negatives.texts(base_dir):
        base.append(p)
    files = []
    inputs = d / "in"
    inputs.mkdir()
    for i in range(n):
        src = base[i % len(base)]
        dst = inputs / f"{i:05d}_{src.name}"
        shutil.copyfile(src, dst)
        files.append(dst)
    return files


def _exif(make: str, model: str, software: str) -> object:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = make, model, software
    return exif


def _init(policy: Policy, warm: str) -> None:
    global _POLICY
    _POLICY = policy
    with tempfile.TemporaryDirectory() as t:
        ingest_file(warm, os.path.join(t, Path(warm).name), policy)  # imports, OCR model load


def _one(job: tuple[str, str]) -> str:
    if _POLICY is None:
        raise RuntimeError("worker not initialised")
    return ingest_file(job[0], job[1], _POLICY).outcome


def _cpu() -> float:
    return time.process_time()


def run(
    files: list[Path], out: Path, policy: Policy, workers: int
) -> tuple[float, float, Counter[str]]:
    """Wall seconds, worker CPU seconds (load-independent) and outcomes for one pass."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    jobs = [(str(p), str(out / p.name)) for p in files]
    warm = str(next(p for p in files if p.suffix == ".png"))
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(policy, warm)) as pool:
        list(pool.map(_one, jobs[:workers], chunksize=1))  # start every worker before timing
        cpu0 = sum(pool.map(_cpu_after, [0.2] * workers, chunksize=1))
        t = time.perf_counter()
        outcomes = Counter(pool.map(_one, jobs, chunksize=8))
        elapsed = time.perf_counter() - t
        cpu1 = sum(pool.map(_cpu_after, [0.2] * workers, chunksize=1))
    return elapsed, cpu1 - cpu0, outcomes


def _cpu_after(pause: float) -> float:
    """This worker's CPU time; the pause spreads the calls over all workers."""
    time.sleep(pause)
    return _cpu()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--ocr-files", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    policy = Policy(platform=corpus.PLATFORM)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = make_corpus(d, args.files)
        rows = []
        for label, pol, subset in (
            ("without OCR", policy.with_overrides(ocr=False), files),
            ("with OCR", policy, files[: args.ocr_files]),
        ):
            for workers in sorted({1, args.workers}):
                elapsed, cpu, outcomes = run(subset, d / "out", pol, workers)
                rate = len(subset) / elapsed
                cpu_ms = 1000 * cpu / len(subset)
                mix = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                rows.append((label, workers, len(subset), f"{rate:.0f}", f"{cpu_ms:.1f}", mix))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print("| mode | processes | files | files/s (wall) | CPU ms/file | outcomes |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
