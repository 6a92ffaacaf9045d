"""Benchmark: label audio/video/PDF files with aigc-label vs ffmpeg, exiftool, mutagen and cp.

Run: ``.venv/bin/python bench/bench_av.py [--runs 5] [--big]``. Prints a Markdown
table of medians (ms) and ratios against a plain copy; the README carries the
latest table. Targets (issue 3): a 1 GB MP4 labeled into a new file at <= 1.2x
cp (``--big``); in-place labeling where a free box allows it in O(metadata).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import mutagen.id3
import mutagen.mp4
import mutagen.wave
import pikepdf

from aigc_label import LabelRequest, api

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "exiftool_tc260.config"
PRODUCER = "001191440300708461136T1XGW3"
REQ = LabelRequest(producer=PRODUCER, produce_id="bench")
LABEL = REQ.build().to_json()


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


def make_inputs(d: Path, big: bool) -> dict[str, Path]:
    files = {
        "mp4 (50 MB)": d / "clip.mp4",
        "wav (30 MB)": d / "tone.wav",
        "mp3 (5 MB)": d / "song.mp3",
        "pdf (2 MB)": d / "doc.pdf",
    }
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        "20",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-b:v",
        "20M",
        "-c:a",
        "aac",
        "-shortest",
        "-movflags",
        "+faststart",
        files["mp4 (50 MB)"],
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-ac",
        "2",
        "-t",
        "170",
        "-c:a",
        "pcm_s16le",
        files["wav (30 MB)"],
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        "300",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        files["mp3 (5 MB)"],
    )
    pdf = pikepdf.new()
    for i in range(2000):
        pdf.add_blank_page()
        pdf.pages[i].Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (page %d) Tj ET" % i)
    pdf.save(files["pdf (2 MB)"], object_stream_mode=pikepdf.ObjectStreamMode.disable)
    if big:
        files["mp4 (1 GB)"] = d / "big.mp4"
        ffmpeg(
            "-stream_loop",
            "21",
            "-i",
            files["mp4 (50 MB)"],
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            files["mp4 (1 GB)"],
        )
    return files


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def ffmpeg_label(src: Path, out: Path) -> None:
    extra = ["-movflags", "use_metadata_tags"] if src.suffix == ".mp4" else []
    ffmpeg("-i", src, "-map", "0", "-c", "copy", "-metadata", f"AIGC={LABEL}", *extra, out)


def exiftool_label(work: Path) -> None:
    subprocess.run(
        [
            "exiftool",
            "-config",
            str(CONFIG),
            f"-XMP-TC260:AIGC={LABEL}",
            "-overwrite_original",
            str(work),
        ],
        check=True,
        capture_output=True,
    )


def mutagen_label(work: Path) -> None:
    if work.suffix == ".mp3":
        tags = mutagen.id3.ID3(work)
        tags.add(mutagen.id3.TXXX(encoding=0, desc="AIGC", text=[LABEL]))
        tags.save(work)
    elif work.suffix == ".mp4":
        mp4 = mutagen.mp4.MP4(work)
        assert mp4.tags is not None
        mp4.tags["----:com.apple.iTunes:AIGC"] = [LABEL.encode()]
        mp4.save()
    elif work.suffix == ".wav":
        wav = mutagen.wave.WAVE(work)
        if wav.tags is None:
            wav.add_tags()
        assert wav.tags is not None
        wav.tags.add(mutagen.id3.TXXX(encoding=0, desc="AIGC", text=[LABEL]))
        wav.save()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="also a 1 GB MP4 (needs ~3 GB disk)")
    args = ap.parse_args()
    print(
        "| file | cp | aigc-label (no fsync) | / cp | aigc-label (fsync) | in place | "
        "ffmpeg -c copy | exiftool (in place) | mutagen (in place) | inspect |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        d = Path(tmp)
        for name, src in make_inputs(d, args.big).items():
            out = d / f"out{src.suffix}"
            work = d / f"work{src.suffix}"
            shutil.copyfile(src, work)
            runs = 3 if "GB" in name else args.runs
            cp = median_ms(lambda s=src, o=out: shutil.copyfile(s, o), runs)
            lib = median_ms(lambda s=src, o=out: api.label_file(s, o, REQ, durable=False), runs)
            dur = median_ms(lambda s=src, o=out: api.label_file(s, o, REQ), runs)
            inplace = "-"
            if src.suffix == ".mp4":
                inplace = f"{median_ms(lambda w=work: api.label_in_place(w, REQ), runs):.2f} ms"
            ff = "-"
            if src.suffix != ".pdf":
                ff = f"{median_ms(lambda s=src, o=out: ffmpeg_label(s, o), runs):.0f} ms"
            ex = "-"
            if src.suffix in (".mp4", ".pdf"):
                shutil.copyfile(src, work)
                ex = f"{median_ms(lambda w=work: exiftool_label(w), runs):.0f} ms"
            mu = "-"
            if src.suffix in (".mp3", ".mp4", ".wav"):
                shutil.copyfile(src, work)
                mu = f"{median_ms(lambda w=work: mutagen_label(w), runs):.1f} ms"
            api.label_file(src, out, REQ)
            ins = median_ms(lambda o=out: api.inspect_file(o), runs)
            print(
                f"| {name} | {cp:.1f} ms | {lib:.1f} ms | {lib / cp:.2f}x | {dur:.1f} ms | "
                f"{inplace} | {ff} | {ex} | {mu} | {ins:.2f} ms |",
                flush=True,
            )


if __name__ == "__main__":
    main()
