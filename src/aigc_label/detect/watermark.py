"""The open Stable Diffusion / SDXL invisible watermark (imwatermark ``dwtDct``).

The reference SD 1.x/2.x scripts embed the 17 bytes ``StableDiffusionV1``
(136 bits) and SDXL (sgm, diffusers) the 48-bit constant
0b101100111110110010010000011110111011000110011110, both with the
``invisible-watermark`` package's ``dwtDct`` method. That package pulls in
torch (for an unrelated method), so the decoder is re-implemented here from the
algorithm with numpy alone:

1. Take the image as the encoder saw it (BGR uint8; diffusers' SDXL watermarker
   passes RGB where BGR is expected, so both channel orders are tried), crop
   to multiples of 4 and compute the U plane of OpenCV's 8-bit BGR->YUV
   (Y = .299R + .587G + .114B, U = .492(B - Y) + 128, rounded, saturated).
   Only U carries bits (scales [0, 36, 36] over channels 0 and 1).
2. One-level Haar DWT approximation band: each 2x2 pixel block sums to
   LL = (a + b + c + d) / 2 (what ``pywt.dwt2(..., 'haar')`` gives for even
   sizes, so PyWavelets is not needed).
3. Cut LL into 4x4 blocks in raster order; block n carries bit n mod L. In each
   block the largest-magnitude coefficient other than the first was quantized
   to (k + 0.25 + 0.5 * bit) * 36, so bit = (|v| mod 36) > 18.
4. Average the votes per bit; a bit is 1 when the mean is above 127/255.

The decoded bits are compared with the known payloads. An unmarked image
agrees with a payload bit by chance (p = 1/2), so the agreement is judged by
its binomial tail: the probability that chance alone matches as many bits.
Real SD encodes lose some bits (the encoder wraps saturated U values), so
the threshold is that probability (``watermark_max_chance``), not exactness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Detector, Evidence, Subject

if TYPE_CHECKING:
    import numpy as np

    from ..policy import Policy

SCALE = 36.0
"""Quantization step of the U channel (imwatermark default scales[1])."""

BLOCK = 4
"""Side of the coefficient blocks in the LL band."""

MIN_PIXELS = 256 * 256
"""The encoder refuses smaller images, so nothing smaller carries the mark."""

SD1_PAYLOAD = b"StableDiffusionV1"
"""Bytes the SD 1.x/2.x reference scripts embed."""

SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
"""The 48-bit constant SDXL (sgm, diffusers) embeds."""


LOSSLESS_FORMATS = frozenset({"png", "webp", "tiff"})
"""Formats that can keep the mark (SD saves PNG). JPEG is decoded only without chroma
subsampling: 4:2:0 averages the U plane over 2x2 pixels and erases the mark."""


def _full_chroma(im: Any) -> bool:
    from PIL import JpegImagePlugin

    return JpegImagePlugin.get_sampling(im) == 0


def _bits_of_bytes(data: bytes) -> tuple[int, ...]:
    return tuple((byte >> (7 - i)) & 1 for byte in data for i in range(8))


PAYLOADS: dict[str, tuple[int, ...]] = {
    "sd": _bits_of_bytes(SD1_PAYLOAD),
    "sdxl": tuple(int(b) for b in bin(SDXL_MESSAGE)[2:]),
}
"""Known payloads as bit sequences (MSB first, as imwatermark packs them)."""


U_WEIGHTS = (0.492 * 0.886, -0.492 * 0.587, -0.492 * 0.299)
"""U - 128 = 0.492 (B - Y) with Y = .299R + .587G + .114B, as weights on (B, G, R)."""


def u_planes(rgb: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """U planes for both channel orders in one pass: [..., 0] reads the array as BGR
    (what the SD scripts hand the encoder after RGB->BGR), [..., 1] as RGB read as BGR."""
    import numpy as np

    wb, wg, wr = U_WEIGHTS
    weights = np.array([[wr, wb], [wg, wg], [wb, wr]], dtype=np.float32)  # rows: R, G, B
    u = rgb.astype(np.float32) @ weights
    u += 128.0
    np.rint(u, out=u)
    planes: np.ndarray[Any, Any] = np.clip(u, 0, 255, out=u)
    return planes


def u_plane(bgr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """OpenCV's 8-bit BGR->YUV U channel (rounded and saturated like cv2)."""
    plane: np.ndarray[Any, Any] = u_planes(bgr[..., ::-1])[..., 0]
    return plane


def haar_ll(plane: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Approximation band of a one-level 2-D Haar DWT of an even-sized plane."""
    ll: np.ndarray[Any, Any] = (
        plane[0::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 0::2] + plane[1::2, 1::2]
    ) / 2.0
    return ll


def block_votes(ll: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """One 0/1 vote per 4x4 LL block, raster order."""
    import numpy as np

    rows, cols = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    blocks = ll[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    coeffs = blocks.transpose(0, 2, 1, 3).reshape(rows * cols, BLOCK * BLOCK)
    flat: np.ndarray[Any, Any] = np.abs(coeffs)[:, 1:]
    peak = flat[np.arange(flat.shape[0]), np.argmax(flat, axis=1)]
    votes: np.ndarray[Any, Any] = (np.mod(peak, SCALE) > SCALE / 2).astype(np.float64)
    return votes


def decode_bits(votes: np.ndarray[Any, Any], length: int) -> np.ndarray[Any, Any]:
    """Average the votes of every block carrying each bit; threshold at 127/255."""
    import numpy as np

    index = np.arange(votes.size) % length
    sums = np.bincount(index, weights=votes, minlength=length)
    counts = np.bincount(index, minlength=length)
    means = np.divide(sums, counts, out=np.zeros(length), where=counts > 0)
    return (means * 255 > 127).astype(np.uint8)


def chance(matches: int, length: int) -> float:
    """P(at least ``matches`` of ``length`` fair coin flips agree): the false-alarm odds."""
    return sum(math.comb(length, k) for k in range(matches, length + 1)) / 2.0**length


@dataclass(frozen=True)
class WatermarkMatch:
    """The best agreement of an image with one known payload."""

    payload: str
    accuracy: float
    channel_order: str
    matches: int
    length: int

    @property
    def chance(self) -> float:
        return chance(self.matches, self.length)


def best_matches(rgb: np.ndarray[Any, Any]) -> list[WatermarkMatch]:
    """Agreement with each known payload, for both channel orders; best per payload."""
    import numpy as np

    h, w = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    planes = u_planes(rgb[:h, :w])
    votes = {name: block_votes(haar_ll(planes[..., i])) for i, name in enumerate(("bgr", "rgb"))}
    out = []
    for payload, bits in PAYLOADS.items():
        want = np.array(bits, dtype=np.uint8)
        candidates = []
        for order, v in votes.items():
            hits = int(np.sum(decode_bits(v, want.size) == want))
            candidates.append(WatermarkMatch(payload, hits / want.size, order, hits, want.size))
        best = max(candidates, key=lambda m: m.matches)
        out.append(best)
    return out


class WatermarkDetector(Detector):
    """SD 1.x/2.x and SDXL dwtDct watermarks in decoded pixels."""

    name = "watermark"
    cost = 40
    modules = ("PIL", "numpy")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        if subject.format not in LOSSLESS_FORMATS and subject.format != "jpeg":
            return False
        im = subject.image()
        if im is None or im.width * im.height < MIN_PIXELS:
            return False
        return subject.format != "jpeg" or _full_chroma(im)

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        rgb = subject.pixels("RGB", policy.thresholds.watermark_max_pixels)
        if rgb is None:
            return []
        threshold = policy.thresholds.watermark_max_chance
        found = []
        for m in best_matches(rgb):
            if m.chance <= threshold:
                name = "Stable Diffusion 1.x/2.x" if m.payload == "sd" else "SDXL"
                found.append(
                    Evidence(
                        f"watermark.{m.payload}",
                        f"{name} invisible watermark (dwtDct): {m.matches}/{m.length} bits "
                        f"match (chance {m.chance:.1e})",
                        0.95 if m.chance <= threshold * 1e-3 else 0.85,
                        "trace",
                        data={
                            "bit_accuracy": round(m.accuracy, 4),
                            "chance": m.chance,
                            "order": m.channel_order,
                        },
                    )
                )
        return found
