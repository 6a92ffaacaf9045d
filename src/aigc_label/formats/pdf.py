"""PDF handler: key ``/AIGC`` in the document information dictionary.

Implements spec section 4 (PDF row): the label JSON is the string value of the
custom key ``/AIGC`` in the Info dictionary named by the trailer's ``/Info``
(ISO 32000-1 14.3.3; custom keys are allowed). Only the Info dictionary of the
newest trailer counts: older revisions are history, not further labels. Also
read, and reported as non-standard: a TC260:AIGC property in the XMP metadata
stream named by the catalog's ``/Metadata`` (what ``exiftool -XMP-TC260:AIGC=``
writes into a PDF).

Writing is an incremental update (7.5.6): the input is copied unchanged, so
its bytes are a byte-for-byte prefix of the output, and a new revision is
appended: the Info dictionary (old entries repeated verbatim from their source
bytes, ``/AIGC`` replaced or added) as a new version of the same object (a new
object when there was none or it was a direct dictionary), a cross-reference
section of the same kind as the newest one (classic table, or an uncompressed
xref stream for PDF 1.5 files, so hybrid readers stay consistent) and a trailer
with ``/Prev`` pointing at the old section and every other key (``/Root``,
``/ID`` ...) kept. When the XMP metadata stream carries a TC260:AIGC copy, a
new version of that stream without it is appended too, so the file ends with
exactly one label. Encrypted files are refused on write (their strings would
have to be encrypted with the document key); reading reports them.

Hand-written because no maintained Python library appends an update without
rewriting the file: pikepdf/qpdf rewrite every object, and pypdf's
``PdfWriter(incremental=True)`` is a new runtime dependency that parses the
whole cross-reference table and holds the original file in memory. Only the
structure needed is parsed (see :mod:`._pdfparse` and :mod:`._pdfdoc`): the
tail, the xref chain as far as a lookup goes, the Info, catalog and metadata
objects; page content is never read.

Limits: ``startxref`` must be in the last 2 KiB; parsed objects and decoded
xref/object streams are bounded by ``limits.max_metadata_bytes``, the XMP
stream by ``limits.max_xmp_bytes``, nesting by ``limits.max_depth``, counts by
``limits.max_items``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import BinaryIO

from .._io import copy_range
from ..errors import CorruptFileError, LimitExceededError, UnsupportedFormatError
from ..limits import Limits
from ..model import Problem
from ..xmp import _aigc_moved_elsewhere
from ._pdfdoc import MAX_OBJECT_NUMBER, Loaded, PdfDocument
from ._pdfparse import FMT, PdfDict, Ref, decode_text, encode_text
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

MAGIC = b"%PDF-"
"""Every PDF starts with the header ``%PDF-1.x`` / ``%PDF-2.0`` (7.5.2)."""

KEY = b"AIGC"
"""The Info dictionary key that holds the label."""

INFO_PLACEMENT = "Info dictionary /AIGC"
XMP_PLACEMENT = "XMP metadata stream"

STREAM_KEYS = frozenset({b"Length", b"Filter", b"DecodeParms", b"DL", b"F", b"FFilter"})
"""Stream dictionary keys dropped when a stream is rewritten uncompressed."""

XREF_STREAM_KEYS = STREAM_KEYS | {b"Type", b"W", b"Index", b"FDecodeParms"}
"""Keys of an xref stream dictionary that are not trailer entries."""

REPLACED_TRAILER_KEYS = frozenset({b"Size", b"Prev", b"Info", b"XRefStm"})
"""Trailer keys the update writes itself; every other key is repeated verbatim."""

GEN_BYTES = 2
"""Width of the generation field in the xref streams we write."""


@dataclass(frozen=True)
class _Info:
    """The current Info dictionary and how it is referenced."""

    entries: PdfDict | None
    ref: Ref | None
    offset: int | None


@dataclass(frozen=True)
class _Xmp:
    """The catalog's metadata stream, when readable."""

    ref: Ref
    loaded: Loaded
    packet: bytes
    found: ReadResult


def _info(doc: PdfDocument) -> _Info:
    value = doc.trailer.get(b"Info")
    if value is None:
        return _Info(None, None, None)
    if isinstance(value, PdfDict):
        return _Info(value, None, doc.newest.offset)
    if not isinstance(value, Ref):
        raise CorruptFileError(FMT, doc.newest.offset, "trailer /Info is not a dictionary")
    loaded = doc.load(value)
    if loaded is None or loaded.value is None:
        return _Info(None, value, None)
    if not isinstance(loaded.value, PdfDict) or loaded.stream_at is not None:
        raise CorruptFileError(FMT, loaded.offset, "the /Info object is not a dictionary")
    return _Info(loaded.value, value, loaded.offset)


def _xmp(doc: PdfDocument, limits: Limits, problems: list[Problem]) -> _Xmp | None:
    """The catalog's /Metadata stream and the labels in it; unreadable ones are warnings."""
    try:
        root = doc.resolve(doc.trailer.get(b"Root"))
        ref = root.get(b"Metadata") if isinstance(root, PdfDict) else None
        if not isinstance(ref, Ref):
            return None
        loaded = doc.load(ref)
        if loaded is None or loaded.stream_at is None:
            return None
        packet = doc.stream_data(loaded, limits.max_xmp_bytes)
    except (CorruptFileError, LimitExceededError) as e:
        problems.append(Problem("xmp_unreadable", f"PDF metadata stream: {e.message}", "warning"))
        return None
    found = ReadResult()
    collect_xmp(packet, XMP_PLACEMENT, loaded.offset, limits, found)
    found.labels = [replace(f, standard=False) for f in found.labels]
    return _Xmp(ref, loaded, packet, found)


def _dict_bytes(entries: PdfDict | None, drop: frozenset[bytes], extra: list[bytes]) -> bytes:
    """``<< ... >>`` with the kept entries' source bytes, then ``extra`` lines."""
    lines = (
        []
        if entries is None
        else [k + b" " + v for key, (k, v) in entries.raw.items() if key not in drop]
    )
    return b"<<\n" + b"".join(line + b"\n" for line in [*lines, *extra]) + b">>"


def _int(value: object, what: str, offset: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < MAX_OBJECT_NUMBER:
        raise CorruptFileError(FMT, offset, f"trailer {what} is missing or invalid")
    return value


def _ref_bytes(ref: Ref) -> bytes:
    return b"%d %d R" % (ref.num, ref.gen)


class PdfHandler(Handler):
    name = "pdf"
    extensions = ("pdf",)
    mime_types = ("application/pdf",)

    def sniff(self, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        doc = PdfDocument(src, limits)
        result = ReadResult()
        if doc.trailer.get(b"Encrypt") is not None:
            result.problems.append(
                Problem(
                    "encrypted",
                    "encrypted PDF: Info strings are not decrypted, so /AIGC cannot be read",
                    "warning",
                )
            )
        else:
            info = _info(doc)
            value = doc.resolve(info.entries.get(KEY)) if info.entries is not None else None
            if isinstance(value, bytes):
                result.labels.append(FoundLabel(decode_text(value), INFO_PLACEMENT, info.offset))
            elif value is not None:
                result.problems.append(
                    Problem("bad_label_type", "Info /AIGC is not a string", "warning")
                )
        xmp = _xmp(doc, limits, result.problems)
        if xmp is not None:
            result.labels.extend(xmp.found.labels)
            result.problems.extend(xmp.found.problems)
            result.digital_source_types.extend(xmp.found.digital_source_types)
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        doc = PdfDocument(src, limits)
        trailer = doc.trailer
        if trailer.get(b"Encrypt") is not None:
            raise UnsupportedFormatError(
                "pdf: encrypted PDFs cannot be labeled (the Info strings would need the "
                "document key); decrypt it first, label, then re-encrypt"
            )
        if not isinstance(trailer.get(b"Root"), Ref):
            raise CorruptFileError(FMT, doc.newest.offset, "trailer has no /Root reference")
        size = _int(trailer.get(b"Size"), "/Size", doc.newest.offset)
        info = _info(doc)
        objects: list[tuple[Ref, bytes]] = []
        label = b"/AIGC " + encode_text(opts.label_json)
        info_ref = info.ref
        if info_ref is None:
            info_ref, size = Ref(size, 0), size + 1
        if info_ref.gen > 0xFFFF:
            raise CorruptFileError(FMT, info.offset, "/Info generation number out of range")
        objects.append((info_ref, _dict_bytes(info.entries, frozenset({KEY}), [label])))
        xmp = _xmp(doc, limits, [])
        if xmp is not None and xmp.found.labels:
            packet = _aigc_moved_elsewhere(xmp.packet, limits)
            sdict = xmp.loaded.value
            head = _dict_bytes(
                sdict if isinstance(sdict, PdfDict) else None,
                STREAM_KEYS,
                [b"/Length %d" % len(packet)],
            )
            objects.append((xmp.ref, head + b"\nstream\n" + packet + b"\nendstream"))

        copy_range(src, dst, 0, doc.size, FMT)
        pos = doc.size
        if doc.last_byte not in (b"\n", b"\r"):
            dst.write(b"\n")
            pos += 1
        offsets: list[tuple[Ref, int]] = []
        for ref, body in objects:
            chunk = b"%d %d obj\n" % (ref.num, ref.gen) + body + b"\nendobj\n"
            offsets.append((ref, pos))
            dst.write(chunk)
            pos += len(chunk)
        size = max(size, *(ref.num + 1 for ref, _ in objects))
        drop = REPLACED_TRAILER_KEYS | (XREF_STREAM_KEYS if doc.newest.is_stream else frozenset())
        keep = trailer if trailer.raw else None
        extra = [b"/Info " + _ref_bytes(info_ref), b"/Prev %d" % doc.startxref]
        if doc.newest.is_stream:
            xref_ref = Ref(size, 0)
            offsets.append((xref_ref, pos))
            dst.write(self._xref_stream(xref_ref, offsets, keep, drop, extra))
        else:
            dst.write(self._xref_table(offsets, size, keep, drop, extra))
        dst.write(b"startxref\n%d\n%%%%EOF\n" % pos)

    @staticmethod
    def _xref_table(
        offsets: list[tuple[Ref, int]],
        size: int,
        keep: PdfDict | None,
        drop: frozenset[bytes],
        extra: list[bytes],
    ) -> bytes:
        rows = [b"xref\n"]
        for ref, at in sorted(offsets, key=lambda o: o[0].num):
            rows.append(b"%d 1\n%010d %05d n\r\n" % (ref.num, at, ref.gen))
        trailer = _dict_bytes(keep, drop, [b"/Size %d" % size, *extra])
        return b"".join(rows) + b"trailer\n" + trailer + b"\n"

    @staticmethod
    def _xref_stream(
        xref_ref: Ref,
        offsets: list[tuple[Ref, int]],
        keep: PdfDict | None,
        drop: frozenset[bytes],
        extra: list[bytes],
    ) -> bytes:
        ordered = sorted(offsets, key=lambda o: o[0].num)
        width = max(1, (max(at for _, at in ordered).bit_length() + 7) // 8)
        data = b"".join(
            b"\x01" + at.to_bytes(width, "big") + ref.gen.to_bytes(GEN_BYTES, "big")
            for ref, at in ordered
        )
        index = b" ".join(b"%d 1" % ref.num for ref, _ in ordered)
        head = _dict_bytes(
            keep,
            drop,
            [
                b"/Type /XRef",
                b"/Size %d" % (xref_ref.num + 1),
                b"/W [1 %d %d]" % (width, GEN_BYTES),
                b"/Index [" + index + b"]",
                b"/Length %d" % len(data),
                *extra,
            ],
        )
        return (
            b"%d %d obj\n" % (xref_ref.num, xref_ref.gen)
            + head
            + b"\nstream\n"
            + data
            + b"\nendstream\nendobj\n"
        )
