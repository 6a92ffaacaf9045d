"""Benchmark: explicit labels for pictures, text, chat streams and scene frames.

Run: ``.venv/bin/python bench/bench_explicit.py [--runs 5]``. Prints a Markdown
table of medians. No hard target in the issue; these numbers show the cost a
service pays per request: a drawn label costs about one decode + encode of the
picture (the label itself is a small alpha blend), text insertion is linear,
the chat wrapper adds little per chunk, and a start-screen overlay is cheap
enough for a render loop (< 2 ms per 1080p frame once laid out).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from aigc_label.explicit import ExplicitOptions, add_explicit_label
from aigc_label.explicit.scene import StartScreenOverlay
from aigc_label.explicit.text import insert_prompt, stream_with_prompt


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def photo(w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) % 256], axis=-1)
    noise = rng.integers(0, 24, (h, w, 1))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        big = photo(4000, 3000)
        big.save(d / "big.jpg", quality=90)
        photo(1920, 1080).save(d / "hd.png")
        frames = [photo(480, 270).rotate(i * 6) for i in range(60)]
        frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:], duration=40)
        for name in ("big.jpg", "hd.png", "anim.gif"):
            src = d / name
            out = d / f"out-{name}"
            ms = median_ms(lambda s=src, o=out: add_explicit_label(s, o, ExplicitOptions()), runs)

            def decode_encode(s: Path = src, o: Path = out) -> None:
                with Image.open(s) as im:
                    im.save(o, save_all=getattr(im, "n_frames", 1) > 1)

            base = median_ms(decode_encode, runs)
            rows.append((f"image {name}", ms, f"Pillow decode+encode alone: {base:.0f} ms"))
        text = ("这是一段人工智能生成的示例文字。" * 20 + "\n\n") * 20_000  # ~13 MB UTF-8
        ms = median_ms(lambda: insert_prompt(text, position="middle"), runs)
        rows.append(("text 13 MB, middle", ms, f"{len(text.encode()) / ms / 1000:.0f} MB/s"))
        chunks = [text[i : i + 20] for i in range(0, 2_000_000, 20)]
        ms = median_ms(lambda: sum(1 for _ in stream_with_prompt(chunks, position="end")), runs)
        rows.append(("chat stream, 100k chunks", ms, f"{ms * 1000 / len(chunks):.2f} us/chunk"))
        frame = np.asarray(photo(1920, 1080)).copy()
        overlay = StartScreenOverlay(fps=60)
        overlay.draw(frame)  # lay out once
        ms = median_ms(lambda: overlay.apply(frame, 0), max(runs, 30))
        rows.append(("scene frame 1920x1080", ms, "per frame, after the first"))
    print("| case | median ms | note |\n|---|---:|---|")
    for name, ms, note in rows:
        print(f"| {name} | {ms:.1f} | {note} |")


if __name__ == "__main__":
    main()
