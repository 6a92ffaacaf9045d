"""Blend a rendered label tile into decoded video frames in their own YUV planes.

The tile (an RGBA Pillow image from :class:`.image.LabelRenderer`) is converted
once to the frame's colour coding - BT.601, BT.709 or BT.2020 matrix, limited
or full range, 8 or 10 bits, 4:2:0/4:2:2/4:4:4 - with a per-plane alpha
(chroma alpha and colour averaged over each subsampled block, colour weighted
by alpha). Each labeled frame is then made writable (FFmpeg copies a buffer the
decoder still references) and only the pixels under the tile are touched, so
the rest of the frame keeps its decoded values exactly and no RGB round trip
blurs it. Other pixel formats go through Pillow (RGB) and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

F32 = npt.NDArray[np.float32]

PLANAR_YUV = (
    "yuv420p",
    "yuvj420p",
    "yuv422p",
    "yuvj422p",
    "yuv444p",
    "yuvj444p",
    "yuv420p10le",
    "yuv422p10le",
    "yuv444p10le",
)
"""Pixel formats blended in place; others use the Pillow path."""

KR_KB = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}
"""AVColorSpace value to the (Kr, Kb) luma coefficients: BT.709, BT.601 (x2), BT.2020."""

FULL_RANGE = 2
"""AVCOL_RANGE_JPEG."""


@dataclass(frozen=True)
class _PlanePatch:
    plane: int
    y0: int
    x0: int
    value: F32
    alpha: F32


class Overlay:
    """One tile at one place, ready to blend into frames of one format and size."""

    def __init__(
        self,
        tile: Image.Image,
        xy: tuple[int, int],
        fmt: str,
        size: tuple[int, int],
        colorspace: int,
        color_range: int,
    ) -> None:
        self.tile = tile.convert("RGBA")
        self.xy = xy
        self.fmt = fmt
        self.size = size
        self.patches: list[_PlanePatch] = []
        if fmt in PLANAR_YUV:
            self._prepare(colorspace, color_range)

    def _prepare(self, colorspace: int, color_range: int) -> None:
        w, h = self.size
        kr, kb = KR_KB.get(colorspace, KR_KB[1] if h >= 720 else KR_KB[5])
        full = color_range == FULL_RANGE or self.fmt.startswith("yuvj")
        depth = 10 if self.fmt.endswith("10le") else 8
        scale = float(1 << (depth - 8))
        fmt = av.VideoFormat(self.fmt)
        # Subsampling factors from a frame size that is a multiple of every block.
        sx, sy = 64 // fmt.chroma_width(64), 64 // fmt.chroma_height(64)
        # Pad the tile to whole chroma blocks, inside the frame.
        x0, y0 = self.xy
        x1, y1 = min(w, x0 + self.tile.width), min(h, y0 + self.tile.height)
        ax0, ay0 = x0 - x0 % sx, y0 - y0 % sy
        ax1, ay1 = -(-x1 // sx) * sx, -(-y1 // sy) * sy  # may pass an odd edge by one
        rgba = np.zeros((ay1 - ay0, ax1 - ax0, 4), dtype=np.float32)
        crop = np.asarray(self.tile, dtype=np.float32)[: y1 - y0, : x1 - x0] / 255.0
        rgba[y0 - ay0 : y1 - ay0, x0 - ax0 : x1 - ax0] = crop
        r, g, b, a = (rgba[..., i] for i in range(4))
        luma = kr * r + (1 - kr - kb) * g + kb * b
        cb = (b - luma) / (2 * (1 - kb))
        cr = (r - luma) / (2 * (1 - kr))
        if full:
            yv, cbv, crv = luma * 255, 128 + cb * 255, 128 + cr * 255
        else:
            yv, cbv, crv = 16 + luma * 219, 128 + cb * 224, 128 + cr * 224
        self.patches.append(_PlanePatch(0, ay0, ax0, yv * scale, a))
        ca = _blocks(a, sy, sx)
        with np.errstate(divide="ignore", invalid="ignore"):
            for plane, value in ((1, cbv), (2, crv)):
                weighted = _blocks(value * a, sy, sx)
                v = np.where(ca > 0, weighted / ca, 0.0).astype(np.float32)
                self.patches.append(_PlanePatch(plane, ay0 // sy, ax0 // sx, v * scale, ca))

    def apply(self, frame: av.VideoFrame) -> av.VideoFrame:
        """``frame`` with the tile blended in (a writable copy where the decoder shares it)."""
        if not self.patches:
            return self._apply_pillow(frame)
        frame.make_writable()
        dtype = np.uint16 if self.fmt.endswith("10le") else np.uint8
        maxv = 1023 if dtype == np.uint16 else 255
        for p in self.patches:
            plane = frame.planes[p.plane]
            item = np.dtype(dtype).itemsize
            arr = np.frombuffer(cast(Any, plane), dtype=dtype).reshape(-1, plane.line_size // item)
            ph, pw = p.alpha.shape
            region = arr[p.y0 : p.y0 + ph, p.x0 : min(p.x0 + pw, plane.width)]
            rh, rw = region.shape
            alpha, value = p.alpha[:rh, :rw], p.value[:rh, :rw]
            mixed = region.astype(np.float32) * (1 - alpha) + value * alpha
            region[...] = np.clip(np.rint(mixed), 0, maxv).astype(dtype)
        return frame

    def _apply_pillow(self, frame: av.VideoFrame) -> av.VideoFrame:
        image: Image.Image = cast(Any, frame).to_image().convert("RGBA")
        image.alpha_composite(self.tile, self.xy)
        rgb: av.VideoFrame = cast(Any, av.VideoFrame).from_image(image.convert("RGB"))
        out = rgb.reformat(format=frame.format.name)
        out.pts, out.time_base = frame.pts, frame.time_base
        return out


def _blocks(x: F32, sy: int, sx: int) -> F32:
    """Mean over ``sy`` x ``sx`` blocks (the shape is a multiple of the block)."""
    h, w = x.shape
    return np.asarray(x.reshape(h // sy, sy, w // sx, sx).mean(axis=(1, 3)), dtype=np.float32)
