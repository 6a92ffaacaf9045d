"""Generator metadata: what image/audio generators write about themselves.

Read with Pillow's lazy header parsing (``Image.open(...).info`` and
``getexif()``: PNG text chunks, EXIF, XMP, comments; no pixel decoding) and
mutagen for audio tags. Each rule below matches one documented layout:

- AUTOMATIC1111 / Forge: PNG text ``parameters`` (JPEG/WebP: EXIF UserComment)
  holding "prompt / Negative prompt: ... / Steps: N, Sampler: ..., Seed: ...".
- ComfyUI: PNG text ``prompt`` (node graph JSON with ``class_type``) and
  ``workflow`` (editor JSON with ``nodes``/``links``); WebP: EXIF Make/Model
  prefixed ``workflow:`` / ``prompt:``.
- InvokeAI: ``invokeai_metadata`` / ``invokeai_graph`` (v3+), ``sd-metadata``
  (v2), ``Dream`` (v1).
- NovelAI: ``Software: NovelAI``, ``Comment`` JSON with ``uc``/``steps``; and the
  alpha-channel "stealth" data (:class:`StealthDetector`, decodes pixels).
- Fooocus: ``fooocus_scheme``, ``parameters`` JSON with ``Version: Fooocus...``,
  EXIF Software ``Fooocus v...``.
- SwarmUI: ``parameters`` JSON with ``sui_image_params``.
- FLUX (Black Forest Labs API): EXIF Make "Black Forest Labs" / Software
  "AI generated;...;flux".
- Midjourney: a description (PNG ``Description``, EXIF ImageDescription, XMP)
  with "Job ID: <uuid>".
- Suno: audio comments mentioning suno.com / "made with suno".

The rules are small checks on fields Pillow and mutagen already parsed;
prompt-reader packages (sd-parsers, sd-prompt-reader) parse the same chunks
into full prompt objects, cover fewer tools (no FLUX, Midjourney or Suno) and
would add a dependency to answer a yes/no question.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .base import Detector, Evidence, Subject

if TYPE_CHECKING:
    from ..policy import Policy

MAX_FIELD_CHARS = 4 * 1024 * 1024
"""Longest metadata text looked at (Pillow caps PNG text chunks at 1 MB already)."""

EXIF_TAGS: dict[int, str] = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
}
"""IFD0 tags read by name."""

EXIF_IFD = 0x8769
EXIF_SUB_TAGS: dict[int, str] = {0x9286: "UserComment", 0x927C: "MakerNote"}
"""Exif sub-IFD tags read by name."""

A1111_RE = re.compile(r"(?m)^Steps: \d+, (?:Sampler|Seed|CFG scale): ")
"""The settings line AUTOMATIC1111/Forge write as the last line of ``parameters``."""

JOB_ID_RE = re.compile(r"Job ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""Midjourney's job reference appended to the description."""

SUNO_RE = re.compile(r"made with suno|suno\.(?:com|ai)", re.IGNORECASE)

GENERATOR_NAMES = re.compile(
    r"\b(?:Stable Diffusion|NovelAI|Midjourney|DALL[-·]E|ComfyUI|AUTOMATIC1111|InvokeAI|"
    r"Fooocus|Adobe Firefly|Imagen|Ideogram)\b",
    re.IGNORECASE,
)
"""Generator names that, in a Software/CreatorTool field, name the tool that made a file."""

Fields = dict[str, str]
Rule = Callable[[Fields], Evidence | None]


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS].strip("\x00 \t\r\n")
    return None


def decode_user_comment(raw: bytes) -> str:
    """EXIF UserComment: 8-byte charset prefix, then text (UTF-16 in either byte order)."""
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\0":
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace").strip("\x00")
        # piexif (A1111) writes big-endian; Pillow-made files follow the TIFF order.
        big = body[:1] == b"\0" or (len(body) > 1 and body[1:2] != b"\0")
        return body.decode("utf-16-be" if big else "utf-16-le", errors="replace").strip("\x00")
    if prefix in (b"ASCII\0\0\0", b"\0" * 8, b"JIS\0\0\0\0\0"):
        body = raw[8:]
    else:
        body = raw
    return body.decode("utf-8", errors="replace").strip("\x00 ")


def _json(text: str) -> Any:
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def image_fields(subject: Subject) -> Fields:
    """Text metadata of an image: PNG text keys as written, EXIF as ``Exif.<Tag>``."""
    from PIL import Image

    im = subject.image()
    if im is None:
        return {}
    out: Fields = {}
    for key, value in im.info.items():
        if not isinstance(key, str):
            continue
        text = _text(value) if key != "exif" else None
        if text is not None:
            out[key] = text
    try:
        if im.format == "PNG":
            # PNG getexif() decodes the whole image to reach an eXIf chunk after IDAT;
            # generators write text chunks, so only an eXIf chunk before IDAT is read.
            exif = Image.Exif()
            if isinstance(im.info.get("exif"), bytes):
                exif.load(im.info["exif"])
        else:
            exif = im.getexif()
    except (OSError, ValueError, SyntaxError, struct.error):  # malformed foreign EXIF
        return out
    for tag, name in EXIF_TAGS.items():
        text = _text(exif.get(tag))
        if text:
            out[f"Exif.{name}"] = text
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except (OSError, ValueError, KeyError, SyntaxError):
        sub = {}
    for tag, name in EXIF_SUB_TAGS.items():
        raw = sub.get(tag)
        if isinstance(raw, bytes):
            text = decode_user_comment(raw) if tag == 0x9286 else _text(raw)
        else:
            text = _text(raw)
        if text:
            out[f"Exif.{name}"] = text
    return out


def audio_fields(subject: Subject) -> Fields:
    """Comment-like text of audio tags (ID3 COMM/TXXX, Vorbis comments) via mutagen."""
    import mutagen

    try:
        tagged = mutagen.File(subject.stream())
    except (mutagen.MutagenError, ValueError, OSError, EOFError):
        return {}
    tags = getattr(tagged, "tags", None)
    if tags is None:
        return {}
    out: Fields = {}
    for key, value in tags.items():
        texts = getattr(value, "text", value)
        if isinstance(texts, str):
            texts = [texts]
        joined = " ".join(t for t in texts if isinstance(t, str)) if isinstance(texts, list) else ""
        if joined:
            out[str(key)] = joined[:MAX_FIELD_CHARS]
    return out


def _ev(name: str, detail: str, confidence: float, **data: Any) -> Evidence:
    return Evidence(f"generator.{name}", detail, confidence, "trace", data=data)


def _a1111(f: Fields) -> Evidence | None:
    for key in ("parameters", "Exif.UserComment", "comment"):
        text = f.get(key, "")
        if A1111_RE.search(text):
            forge = re.search(r"Version: f\d", text) is not None
            tool = "Forge" if forge else "AUTOMATIC1111"
            return _ev("a1111", f"{tool} generation parameters in {key}", 0.9, tool=tool)
    return None


def _comfyui(f: Fields) -> Evidence | None:
    prompt = _json(f.get("prompt", ""))
    if isinstance(prompt, dict) and any(
        isinstance(v, dict) and "class_type" in v for v in prompt.values()
    ):
        return _ev("comfyui", "ComfyUI node graph in PNG text 'prompt'", 0.9)
    workflow = _json(f.get("workflow", ""))
    if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        return _ev("comfyui", "ComfyUI workflow in PNG text 'workflow'", 0.9)
    for key in ("Exif.Make", "Exif.Model"):
        text = f.get(key, "")
        if text.startswith(("workflow:", "prompt:")) and _json(text.split(":", 1)[1]) is not None:
            return _ev("comfyui", f"ComfyUI {text.split(':', 1)[0]} JSON in {key}", 0.9)
    return None


def _invokeai(f: Fields) -> Evidence | None:
    for key in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream"):
        if f.get(key):
            return _ev("invokeai", f"InvokeAI metadata in PNG text {key!r}", 0.9)
    return None


def _novelai(f: Fields) -> Evidence | None:
    if f.get("Software", "").strip() == "NovelAI":
        return _ev("novelai", "PNG text Software = NovelAI", 0.9)
    comment = _json(f.get("Comment", ""))
    settings = isinstance(comment, dict) and ("steps" in comment or "sampler" in comment)
    if settings and "uc" in comment:
        return _ev("novelai", "NovelAI generation settings in PNG text 'Comment'", 0.85)
    return None


def _fooocus(f: Fields) -> Evidence | None:
    if f.get("fooocus_scheme"):
        return _ev("fooocus", "Fooocus metadata scheme in PNG text 'fooocus_scheme'", 0.9)
    for key in ("parameters", "Exif.UserComment"):
        params = _json(f.get(key, ""))
        if isinstance(params, dict) and str(params.get("Version", "")).startswith("Fooocus"):
            return _ev("fooocus", f"Fooocus parameters JSON in {key}", 0.9)
    if f.get("Exif.Software", "").startswith("Fooocus"):
        return _ev("fooocus", "EXIF Software names Fooocus", 0.85)
    return None


def _swarmui(f: Fields) -> Evidence | None:
    params = _json(f.get("parameters", ""))
    if isinstance(params, dict) and "sui_image_params" in params:
        return _ev("swarmui", "SwarmUI parameters JSON in PNG text 'parameters'", 0.9)
    return None


def _flux(f: Fields) -> Evidence | None:
    make, software = f.get("Exif.Make", ""), f.get("Exif.Software", "")
    if "black forest labs" in make.lower():
        return _ev("flux", f"EXIF Make = {make!r}", 0.9)
    low = software.lower()
    if "ai generated" in low and "flux" in low:
        return _ev("flux", f"EXIF Software = {software!r}", 0.9)
    return None


def _midjourney(f: Fields) -> Evidence | None:
    for key in ("Description", "Exif.ImageDescription", "xmp", "XML:com.adobe.xmp", "comment"):
        if JOB_ID_RE.search(f.get(key, "")):
            return _ev("midjourney", f"Midjourney 'Job ID' in {key}", 0.85)
    return None


def _suno(f: Fields) -> Evidence | None:
    for key, text in f.items():
        if SUNO_RE.search(text):
            return _ev("suno", f"audio tag {key} says the track was made with Suno", 0.85)
    return None


def _software(f: Fields) -> Evidence | None:
    for key in ("Software", "Exif.Software", "Exif.Make", "Exif.Model"):
        m = GENERATOR_NAMES.search(f.get(key, ""))
        if m:
            return _ev("software", f"{key} names the generator {m.group(0)!r}", 0.7)
    xmp = f.get("xmp", "") or f.get("XML:com.adobe.xmp", "")
    for tool in re.findall(r"CreatorTool(?:=\"|>)([^\"<]{1,200})", xmp):
        m = GENERATOR_NAMES.search(tool)
        if m:
            return _ev("software", f"XMP CreatorTool names the generator {m.group(0)!r}", 0.7)
    return None


IMAGE_RULES: tuple[Rule, ...] = (
    _fooocus,
    _swarmui,
    _a1111,
    _comfyui,
    _invokeai,
    _novelai,
    _flux,
    _midjourney,
    _software,
)
"""Image rules, most specific first (Fooocus/SwarmUI before the A1111 text form)."""

AUDIO_RULES: tuple[Rule, ...] = (_suno,)


def match(fields: Fields, rules: tuple[Rule, ...]) -> Iterator[Evidence]:
    for rule in rules:
        ev = rule(fields)
        if ev is not None:
            yield ev


class GeneratorDetector(Detector):
    """Generator metadata in image headers and audio tags (no pixel/sample decoding)."""

    name = "generator"
    cost = 10
    modules = ("PIL", "mutagen")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return subject.modality in ("image", "audio")

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        if subject.modality == "image":
            return list(match(image_fields(subject), IMAGE_RULES))
        return list(match(audio_fields(subject), AUDIO_RULES))


STEALTH_MAGICS = (b"stealth_pnginfo", b"stealth_pngcomp")
"""Signatures at the start of the alpha-channel bit stream (plain / gzip payload)."""

STEALTH_MAX_PAYLOAD = 1024 * 1024
"""Largest stealth payload (bytes) we read back."""


def read_stealth(alpha: Any, max_decompressed: int) -> tuple[str, Mapping[str, Any] | None] | None:
    """Decode the NovelAI stealth stream from an alpha plane (H x W uint8).

    Bits are the alpha LSBs read column by column (x outer, y inner), most
    significant bit first: 15-byte magic, 32-bit big-endian payload length in
    bits, payload (gzip for ``stealth_pngcomp``). Returns (magic, parsed JSON or
    None) or None when no magic is present.
    """
    import numpy as np

    bits = np.ascontiguousarray(alpha.T).reshape(-1) & 1
    if bits.size < (15 + 4) * 8:
        return None
    magic = np.packbits(bits[:120]).tobytes()
    if magic not in STEALTH_MAGICS:
        return None
    length = int.from_bytes(np.packbits(bits[120:152]).tobytes(), "big")
    nbytes = min(length // 8, STEALTH_MAX_PAYLOAD, (bits.size - 152) // 8)
    payload = np.packbits(bits[152 : 152 + nbytes * 8]).tobytes()
    if magic.endswith(b"comp"):
        d = zlib.decompressobj(wbits=31)
        try:
            payload = d.decompress(payload, max_decompressed)
        except zlib.error:
            return magic.decode(), None
    parsed = _json(payload.decode("utf-8", errors="replace"))
    return magic.decode(), parsed if isinstance(parsed, dict) else None


class StealthDetector(Detector):
    """NovelAI / stealth-pnginfo data hidden in the alpha channel's least significant bits."""

    name = "stealth"
    cost = 30
    modules = ("PIL", "numpy")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        if subject.format not in ("png", "webp"):
            return False
        im = subject.image()
        return im is not None and im.mode in ("RGBA", "LA", "PA")

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        rgba = subject.pixels("RGBA", policy.thresholds.stealth_max_pixels)
        if rgba is None:
            return []
        found = read_stealth(rgba[..., 3], subject.limits.max_decompressed)
        if found is None:
            return []
        magic, meta = found
        detail = f"'{magic}' data in the alpha channel LSBs"
        if meta is not None and meta.get("Software"):
            detail += f" (Software {str(meta['Software'])[:40]!r})"
        return [Evidence("generator.novelai_stealth", detail, 0.95, "trace", data={"magic": magic})]
