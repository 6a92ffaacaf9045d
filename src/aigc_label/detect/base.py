"""What every detector shares: evidence, the upload being examined, the detector shape.

A detector looks at one upload (a :class:`Subject`) and returns
:class:`Evidence`: what it saw, how sure it is, and what kind of fact that is
(a GB 45438 ``label``, a foreign AI ``marker`` such as IPTC/C2PA, or a
generation ``trace``). Detectors never decide the outcome; the platform
workflow does, cheapest detector first. The Subject caches views that several
detectors need (the inspect report, the Pillow header, decoded pixels) so no
file is parsed twice.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal

from ..api import InspectReport
from ..limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from ..policy import Policy

Kind = Literal["label", "marker", "trace"]
"""What a piece of evidence proves: our label, a foreign AI marker, a generation trace."""

Status = Literal["found", "unavailable", "error"]
"""``found``: a real finding; ``unavailable``: the detector cannot run here (missing
package); ``error``: it failed on this file. Only ``found`` evidence decides."""

Modality = Literal["image", "audio", "video", "text", "document"]

MODALITIES: dict[str, Modality] = {
    "jpeg": "image",
    "png": "image",
    "gif": "image",
    "webp": "image",
    "tiff": "image",
    "heif": "image",
    "wav": "audio",
    "mp3": "audio",
    "flac": "audio",
    "ogg": "audio",
    "matroska": "video",
    "avi": "video",
    "flv": "video",
    "mp4": "video",
    "text": "text",
    "markdown": "text",
    "html": "text",
    "svg": "document",
    "pdf": "document",
    "ooxml": "document",
}
"""Handler name -> what the content is, for choosing detectors (documents by default)."""


@dataclass(frozen=True)
class Evidence:
    """One finding about an upload."""

    detector: str
    """Dotted name, family first (``generator.a1111``, ``watermark.sdxl``)."""

    detail: str
    """Human-readable: what was seen and where."""

    confidence: float
    """0..1: how strongly this alone says the content is AI-generated."""

    kind: Kind = "trace"
    status: Status = "found"
    data: dict[str, Any] = field(default_factory=dict)
    """Machine-readable extras (decoded payload, bit accuracy, box position)."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "detector": self.detector,
            "detail": self.detail,
            "confidence": round(self.confidence, 3),
            "kind": self.kind,
            "status": self.status,
        }
        if self.data:
            d["data"] = self.data
        return d


def unavailable(detector: str, kind: Kind, reason: str) -> Evidence:
    """Evidence saying a detector could not run (never decides anything)."""
    return Evidence(detector, f"unavailable: {reason}", 0.0, kind, "unavailable")


def failed(detector: str, kind: Kind, reason: str) -> Evidence:
    """Evidence saying a detector failed on this file (never decides anything)."""
    return Evidence(detector, f"detector failed on this file: {reason}", 0.0, kind, "error")


def missing_modules(*modules: str) -> str | None:
    """None when every module is importable, else a message naming the missing ones."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return f"Python package(s) not installed: {', '.join(missing)}"


class Subject:
    """One upload under examination, with lazily built views shared by detectors."""

    def __init__(
        self,
        path: str,
        src: BinaryIO,
        report: InspectReport,
        *,
        declared: bool = False,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.path = path
        self.src = src
        self.report = report
        self.format = report.format or ""
        self.modality: Modality = MODALITIES.get(self.format, "document")
        self.declared = declared
        self.limits = limits
        self._image: Image.Image | None = None
        self._image_error: str | None = None
        self._pixels: dict[str, np.ndarray[Any, Any]] = {}

    def stream(self) -> BinaryIO:
        """The upload, rewound (detectors share one open handle; never written)."""
        self.src.seek(0)
        return self.src

    def image(self) -> Image.Image | None:
        """The Pillow image opened lazily (header only), or None if Pillow cannot."""
        if self._image is None and self._image_error is None:
            from PIL import Image, UnidentifiedImageError

            try:
                self._image = Image.open(self.stream())
            except (
                UnidentifiedImageError,
                Image.DecompressionBombError,
                OSError,
                ValueError,
                SyntaxError,
            ) as e:
                # SyntaxError: Pillow's plugins raise it for malformed headers.
                self._image_error = str(e)
        return self._image

    def pixels(self, mode: str, max_pixels: int) -> np.ndarray[Any, Any] | None:
        """Decoded pixels in ``mode`` ("RGB", "RGBA"), cached; None when too large/undecodable."""
        if mode in self._pixels:
            return self._pixels[mode]
        im = self.image()
        if im is None or im.width * im.height > max_pixels:
            return None
        import numpy as np
        from PIL import Image

        try:
            im.seek(0)
            arr = np.asarray(im.convert(mode))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
            return None
        self._pixels[mode] = arr
        return arr


class Detector:
    """Base class: subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str] = ""
    """Family name, used in ``Policy.disabled_detectors`` and evidence names."""

    kind: ClassVar[Kind] = "trace"
    cost: ClassVar[int] = 0
    """Relative cost; the workflow runs cheaper detectors first."""

    modules: ClassVar[tuple[str, ...]] = ()
    """Optional third-party modules this detector needs."""

    def applies(self, subject: Subject, policy: Policy) -> bool:
        """True when this detector has something to look at in ``subject``."""
        return True

    def missing(self) -> str | None:
        """Why the detector cannot run at all (a missing package), or None."""
        return missing_modules(*self.modules)

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        """Examine ``subject``; return findings (possibly none)."""
        raise NotImplementedError
