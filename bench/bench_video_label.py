"""Benchmark: the video start-frame label (head re-encode) vs an ffmpeg drawtext full re-encode.

Run: ``.venv/bin/python bench/bench_video_label.py [--seconds 60] [--runs 1]``.
Makes a 1080p H.264 + AAC clip with ffmpeg in a temp folder (kept out of the
repo), then times:

- ``ffmpeg -vf drawtext`` (the label for 3 s, libx264 defaults, audio copied):
  what a full re-encode costs;
- :func:`aigc_label.explicit.video.add_video_label` (head re-encode up to the
  first IDR after 3 s, the rest stream-copied);
- the same with ``full_reencode=True`` (our own full path) for reference.

Target (issue 4): the head re-encode takes at most 10% of the drawtext time.
Prints a Markdown table; the README carries the latest one. Every output is
checked with ``ffmpeg -v error -f null``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aigc_label.explicit.image import FONT_FILE
from aigc_label.explicit.video import VideoLabelOptions, add_video_label

FONT = Path(__file__).resolve().parents[1] / "src/aigc_label/explicit/fonts" / FONT_FILE


def make_clip(path: Path, seconds: int) -> None:
    """1080p30 H.264 (libx264 defaults: High, keyint 250) with a 48 kHz AAC track."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
         "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def drawtext(src: Path, dst: Path) -> None:
    font = str(FONT).replace(":", r"\:")
    vf = (
        f"drawtext=fontfile='{font}':text='AI生成':fontsize=h*0.08:fontcolor=white:"
        "box=1:boxcolor=black@0.6:x=40:y=40:enable='lt(t,3)'"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", vf,
         "-c:v", "libx264", "-c:a", "copy", str(dst)],
        check=True,
    )  # fmt: skip


def plays_clean(path: Path) -> bool:
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.returncode == 0 and not r.stderr.strip()


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--skip-full", action="store_true", help="skip our own full re-encode")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is needed to make the clip and for the drawtext baseline", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aigc-bench-video-") as tmp:
        d = Path(tmp)
        clip = d / "clip.mp4"
        t0 = time.perf_counter()
        make_clip(clip, args.seconds)
        print(f"clip: {args.seconds} s 1080p30 H.264, {clip.stat().st_size / 1e6:.1f} MB, "
              f"made in {time.perf_counter() - t0:.1f} s", file=sys.stderr)  # fmt: skip
        rows: list[tuple[str, float, str]] = []
        base = timed(lambda: drawtext(clip, d / "drawtext.mp4"), args.runs)
        rows.append(("ffmpeg -vf drawtext (full re-encode)", base, ""))
        outcome = add_video_label(clip, d / "head.mp4")
        head = timed(lambda: add_video_label(clip, d / "head.mp4"), args.runs)
        rows.append((
            "aigc-label video, head re-encode", head,
            f"{outcome.reencoded_frames} frames re-encoded up to {outcome.cut_s:.2f} s, "
            f"{outcome.copied_video_packets} copied",
        ))  # fmt: skip
        if not args.skip_full:
            full_opts = VideoLabelOptions(full_reencode=True)
            full = timed(lambda: add_video_label(clip, d / "full.mp4", full_opts), args.runs)
            rows.append(("aigc-label video, full re-encode", full, "libx264 medium"))
        print("| method | seconds | vs drawtext | notes |")
        print("|---|---:|---:|---|")
        for name, secs, note in rows:
            print(f"| {name} | {secs:.2f} | {secs / base:.1%} | {note} |")
        for out in sorted(d.glob("*.mp4")):
            if out != clip and not plays_clean(out):
                print(f"{out.name}: ffmpeg reports decode errors", file=sys.stderr)
                return 1
        ratio = head / base
        print(f"\nhead re-encode / drawtext = {ratio:.1%} (target <= 10%)", file=sys.stderr)
        return 0 if ratio <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
