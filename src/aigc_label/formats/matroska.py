"""Matroska/WebM handler: the label is a SimpleTag ``AIGC`` in Segment/Tags.

Implements spec section 4 ("MKV/WebM: Segment/Tags/Tag/SimpleTag with TagName
AIGC, TagString JSON") on the Matroska specification (RFC 9559; WebM is its
subset). The label goes into a Tag whose Targets are global (no track, edition,
chapter or attachment UID), which is where ``ffmpeg -metadata AIGC=...`` puts it
and where ffprobe reports format tags.

Reading walks the Segment's level-1 elements up to the first Cluster, then
follows the SeekHead's Tags entries instead of stepping through clusters (only
a file whose SeekHead names no Tags is walked to the end, seeking over known-size
clusters). Every SimpleTag named AIGC (any case) is reported; one bound to a
track (or other target), or spelled otherwise than ``AIGC``, is non-standard.

Writing never moves a Cluster, so Cues and every other position stay valid.
Every AIGC SimpleTag is removed (a Tag left with no SimpleTag goes too; every
other tag is kept byte for byte), and ours is added to the first global Tag of
the first Tags element (or to a new Tag). That Tags element is then, in order
of preference: rewritten in place when it fits its own bytes plus the Void
elements right after it, or when it is the last element of the Segment; else
it becomes a Void of the same size and the new Tags is appended at the end of
the Segment (whose size field is updated in its original width; unknown-size
live Segments need no change) and the SeekHead entry for Tags is updated or
added (in the SeekHead's bytes plus its trailing Void). CRC-32 elements of the
masters we rebuild are recomputed; a Segment-level CRC-32 becomes a Void.

Why hand-written: no Python library edits Matroska metadata without remuxing,
and ffmpeg/mkvpropedit are external tools. Only headers, SeekHeads and Tags
are loaded (bounded by ``Limits.max_metadata_bytes``); cluster data is copied
in blocks. Element sizes are checked against their parent and the stream,
unknown sizes are only accepted for Segment and Cluster and are resolved by a
bounded header walk, and each walk is capped by ``Limits.max_items``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_bounded, stream_size
from ..errors import AigcLabelError, CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from . import _ebml as E
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "matroska"
DOC_TYPES = ("matroska", "webm")
KEY = "AIGC"
PLACEMENT = "Segment/Tags/Tag/SimpleTag AIGC"
TAGS_ID_BYTES = E.encode_id(E.ID_TAGS)
"""The SeekID value that names a Tags element."""

GLOBAL_TARGET_TYPES = (None, 50)
"""TargetTypeValue of the Tag we add our SimpleTag to (absent means the default 50)."""

UNBOUNDED = 1 << 62
"""Parent end used to parse a top-level header before checking it against the stream."""

Patch = tuple[int, int, bytes]
"""(offset, bytes replaced, new bytes) applied while copying the input."""


@dataclass
class _Segment:
    el: E.Element
    end: int
    """Declared end, or where an unknown-size Segment stops (normally EOF)."""

    @property
    def data(self) -> int:
        return self.el.data_offset


@dataclass(frozen=True)
class _Seek:
    target: bytes
    pos: int
    """Absolute stream offset the entry points at."""


def _segment(f: BinaryIO, limits: Limits, problems: list[Problem] | None) -> _Segment:
    """Check the EBML header and find the first Segment.

    With ``problems`` (reading) a Segment declared past the end of the stream is
    clamped to it and reported; without (writing) that is a CorruptFileError.
    """
    size = stream_size(f)
    doc_type, pos = E.read_doc_type(f, FMT, limits, size)
    if doc_type not in DOC_TYPES:
        raise CorruptFileError(FMT, 0, f"EBML DocType {doc_type!r} is not matroska or webm")
    for _ in range(limits.max_items):
        if pos >= size:
            break
        el = E.read_header(f, pos, UNBOUNDED, FMT, allow_unknown=True)
        if el.eid == E.ID_SEGMENT:
            if el.size is None:
                return _Segment(E.Element(el.eid, pos, el.id_len, el.size_len, None, size), size)
            if el.end > size:
                reason = f"Segment declares {el.size} bytes, past the end of file"
                if problems is None:
                    raise CorruptFileError(FMT, pos, reason)
                problems.append(Problem("truncated", reason, "warning"))
                return _Segment(el, size)
            return _Segment(el, el.end)
        if el.eid not in (E.ID_VOID, E.ID_CRC32) or el.size is None or el.end > size:
            raise CorruptFileError(FMT, pos, f"unexpected top-level element 0x{el.eid:X}")
        pos = el.end
    raise CorruptFileError(FMT, pos, "no Segment element")


def _resolve_cluster(f: BinaryIO, el: E.Element, end: int, limits: Limits) -> E.Element:
    """The real end of an unknown-size Cluster: the next level-1 element or ``end``."""
    pos = el.data_offset
    count = 0
    while pos < end:
        count += 1
        if count > limits.max_items:
            raise LimitExceededError("Cluster children", count, limits.max_items, FMT)
        child = E.read_header(f, pos, end, FMT, allow_unknown=True)
        if child.eid in E.LEVEL1_IDS:
            break
        if child.size is None:
            raise CorruptFileError(FMT, pos, "unknown size inside a Cluster")
        pos = child.end
    return E.Element(el.eid, el.offset, el.id_len, el.size_len, None, pos)


def _walk(
    f: BinaryIO,
    seg: _Segment,
    start: int,
    limits: Limits,
    out: list[E.Element],
    *,
    stop_at_cluster: bool,
) -> E.Element | None:
    """Append the level-1 elements from ``start`` to ``out``; return the Cluster stopped at."""
    pos = start
    count = 0
    while pos < seg.end:
        count += 1
        if count > limits.max_items:
            raise LimitExceededError("level-1 element count", count, limits.max_items, FMT)
        el = E.read_header(f, pos, seg.end, FMT, allow_unknown=True)
        if seg.el.size is None and el.eid in (E.ID_EBML, E.ID_SEGMENT):
            seg.end = pos  # a live Segment ends where the next EBML document starts
            break
        if el.eid == E.ID_CLUSTER and stop_at_cluster:
            return el
        if el.size is None:
            if el.eid != E.ID_CLUSTER:
                raise CorruptFileError(FMT, pos, f"element 0x{el.eid:X} has an unknown size")
            el = _resolve_cluster(f, el, seg.end, limits)
        out.append(el)
        pos = el.end
    return None


def _load(f: BinaryIO, el: E.Element, limits: Limits) -> bytes:
    f.seek(el.offset)
    return read_bounded(f, el.total, limits.max_metadata_bytes, FMT, "metadata element")


def _seek_entry(buf: bytes, seek: E.Element, limits: Limits) -> tuple[bytes, int] | None:
    """(SeekID, SeekPosition) of one Seek element, None when incomplete."""
    target, pos = b"", -1
    for part in E.iter_buffer(buf, seek.data_offset, seek.end, FMT, limits, 0, 2):
        if part.eid == E.ID_SEEKID:
            target = E.element_data(buf, part)
        elif part.eid == E.ID_SEEKPOSITION:
            pos = E.read_uint(E.element_data(buf, part))
    return (target, pos) if target and pos >= 0 else None


def _seeks(buf: bytes, seg: _Segment, limits: Limits) -> list[_Seek]:
    """The (target ID, absolute position) entries of one loaded SeekHead."""
    head = E.parse_header(buf, 0, len(buf), FMT)
    out: list[_Seek] = []
    for seek in E.iter_buffer(buf, head.data_offset, head.end, FMT, limits, 0, 1):
        entry = _seek_entry(buf, seek, limits) if seek.eid == E.ID_SEEK else None
        if entry is not None:
            out.append(_Seek(entry[0], seg.data + entry[1]))
    return out


@dataclass(frozen=True)
class _Simple:
    name: str
    value: str
    target: str | None
    """``"TrackUID=123"`` style name of the non-global target, None when global."""


def _tag_target(buf: bytes, tag: E.Element, limits: Limits) -> tuple[str | None, int | None]:
    """(non-global target description or None, TargetTypeValue or None) of one Tag."""
    for part in E.iter_buffer(buf, tag.data_offset, tag.end, FMT, limits, 0, 2):
        if part.eid != E.ID_TARGETS:
            continue
        target: str | None = None
        ttv: int | None = None
        for t in E.iter_buffer(buf, part.data_offset, part.end, FMT, limits, 0, 3):
            value = E.read_uint(E.element_data(buf, t))
            if t.eid in E.TARGET_UID_NAMES and value and target is None:
                target = f"{E.TARGET_UID_NAMES[t.eid]}={value}"
            elif t.eid == E.ID_TARGETTYPEVALUE:
                ttv = value
        return target, ttv
    return None, None


def _simple_name(buf: bytes, st: E.Element, limits: Limits) -> tuple[str, bytes | None]:
    name, value = "", None
    for part in E.iter_buffer(buf, st.data_offset, st.end, FMT, limits, 0, 3):
        if part.eid == E.ID_TAGNAME:
            name = E.element_data(buf, part).rstrip(b"\x00").decode("utf-8", "replace")
        elif part.eid == E.ID_TAGSTRING:
            value = E.element_data(buf, part)
    return name, value


def _labels_in_tags(buf: bytes, limits: Limits) -> list[_Simple]:
    """Every SimpleTag named AIGC (any case) directly under a Tag of one loaded Tags."""
    tags = E.parse_header(buf, 0, len(buf), FMT)
    found: list[_Simple] = []
    for tag in E.iter_buffer(buf, tags.data_offset, tags.end, FMT, limits, 0, 1):
        if tag.eid != E.ID_TAG:
            continue
        target, _ = _tag_target(buf, tag, limits)
        for st in E.iter_buffer(buf, tag.data_offset, tag.end, FMT, limits, 0, 2):
            if st.eid != E.ID_SIMPLETAG:
                continue
            name, value = _simple_name(buf, st, limits)
            if name.upper() == KEY and value is not None:
                text = value.rstrip(b"\x00").decode("utf-8", "replace")
                found.append(_Simple(name, text, target))
    return found


def _our_simple_tag(label_json: str) -> bytes:
    return E.encode_element(
        E.ID_SIMPLETAG,
        E.encode_element(E.ID_TAGNAME, KEY.encode())
        + E.encode_element(E.ID_TAGSTRING, label_json.encode("utf-8")),
    )


def _rebuild_tags(buf: bytes, limits: Limits, label_json: str | None) -> tuple[bytes, bool]:
    """New data of a Tags element without AIGC SimpleTags (plus ours when ``label_json``).

    ``buf`` holds the whole Tags element (empty for "no Tags yet"). Returns the
    data (CRC-32 recomputed when there was one) and whether anything changed.
    """
    children: list[bytes] = []
    tag_parts: dict[int, tuple[list[bytes], bool]] = {}
    had_crc = changed = False
    global_index: int | None = None
    if buf:
        tags = E.parse_header(buf, 0, len(buf), FMT)
        for tag in E.iter_buffer(buf, tags.data_offset, tags.end, FMT, limits, 0, 1):
            if tag.eid == E.ID_CRC32:
                had_crc = True
                continue
            if tag.eid != E.ID_TAG:
                children.append(E.element_bytes(buf, tag))
                continue
            kept: list[bytes] = []
            tag_crc = False
            removed = simples = 0
            for part in E.iter_buffer(buf, tag.data_offset, tag.end, FMT, limits, 0, 2):
                if part.eid == E.ID_CRC32:
                    tag_crc = True
                    continue
                if part.eid == E.ID_SIMPLETAG:
                    if _simple_name(buf, part, limits)[0].upper() == KEY:
                        removed += 1
                        continue
                    simples += 1
                kept.append(E.element_bytes(buf, part))
            raw = E.element_bytes(buf, tag)
            if removed:
                changed = True
                if not simples:
                    continue  # the Tag held only a label: it goes with it
                raw = E.encode_element(E.ID_TAG, E.master_with_crc(kept, tag_crc))
            target, ttv = _tag_target(buf, tag, limits)
            if global_index is None and target is None and ttv in GLOBAL_TARGET_TYPES:
                global_index = len(children)
                tag_parts[global_index] = (kept, tag_crc)
            children.append(raw)
    if label_json is not None:
        changed = True
        ours = _our_simple_tag(label_json)
        if global_index is not None:
            kept, tag_crc = tag_parts[global_index]
            children[global_index] = E.encode_element(
                E.ID_TAG, E.master_with_crc([*kept, ours], tag_crc)
            )
        else:
            children.append(E.encode_element(E.ID_TAG, E.encode_element(E.ID_TARGETS, b"") + ours))
    if not children:
        return b"", changed
    return E.master_with_crc(children, had_crc), changed


def _voids_after(children: list[E.Element], index: int) -> int:
    """Total size of the Void elements directly following ``children[index]``."""
    total = 0
    end = children[index].end
    for el in children[index + 1 :]:
        if el.eid != E.ID_VOID or el.offset != end:
            break
        total += el.total
        end = el.end
    return total


def _voids_reserved_for_seekheads(children: list[E.Element]) -> set[int]:
    """Offsets of the Void elements right after a SeekHead (its room to grow)."""
    out: set[int] = set()
    for i, el in enumerate(children):
        if el.eid != E.ID_SEEKHEAD:
            continue
        end = el.end
        for void in children[i + 1 :]:
            if void.eid != E.ID_VOID or void.offset != end:
                break
            out.add(void.offset)
            end = void.end
    return out


@dataclass
class _Head:
    """A loaded SeekHead: its children (raw), CRC flag and which children are Tags entries."""

    index: int
    parts: list[bytes]
    crc: bool
    tags_entries: dict[int, int]
    """Index in ``parts`` -> absolute position, for the Seek entries naming Tags."""

    stale: list[int]


def _load_heads(
    f: BinaryIO, seg: _Segment, children: list[E.Element], limits: Limits, keep: set[int]
) -> list[_Head]:
    heads: list[_Head] = []
    for index, el in enumerate(children):
        if el.eid != E.ID_SEEKHEAD:
            continue
        buf = _load(f, el, limits)
        local = E.parse_header(buf, 0, len(buf), FMT)
        head = _Head(index, [], False, {}, [])
        for seek in E.iter_buffer(buf, local.data_offset, local.end, FMT, limits, 0, 1):
            if seek.eid == E.ID_CRC32:
                head.crc = True
                continue
            entry = _seek_entry(buf, seek, limits) if seek.eid == E.ID_SEEK else None
            if entry is not None and entry[0] == TAGS_ID_BYTES:
                head.tags_entries[len(head.parts)] = seg.data + entry[1]
                if seg.data + entry[1] not in keep:
                    head.stale.append(len(head.parts))
            head.parts.append(E.element_bytes(buf, seek))
        heads.append(head)
    return heads


def _seekhead_patches(
    f: BinaryIO,
    seg: _Segment,
    children: list[E.Element],
    limits: Limits,
    keep: set[int],
    new_pos: int,
) -> list[Patch]:
    """Make the SeekHead's Tags entries valid and point one at ``new_pos``.

    Tags entries pointing anywhere but ``keep`` (the Tags elements that stay,
    ``new_pos`` included) are stale: the first is updated to ``new_pos`` unless
    an entry already points there, the others become Voids. A SeekHead grows
    into the Void elements after it; when none has room for the entry, every
    Tags entry is voided, so that no entry points at a Void and readers walk the
    Segment instead of trusting an index that misses our Tags. Returns no patch
    when the index is already right.
    """
    new_seek = E.encode_element(
        E.ID_SEEK,
        E.encode_element(E.ID_SEEKID, TAGS_ID_BYTES)
        + E.encode_uint(E.ID_SEEKPOSITION, new_pos - seg.data),
    )
    heads = _load_heads(f, seg, children, limits, keep)
    indexed = [h for h in heads if new_pos in h.tags_entries.values()]
    candidates = [] if indexed else [h for h in heads if h.stale] + heads[:1]
    patches: list[Patch] = []
    placed: _Head | None = indexed[0] if indexed else None
    for head in candidates:
        el = children[head.index]
        updated = [b"" if i in head.stale else part for i, part in enumerate(head.parts)]
        if head.stale:
            updated[head.stale[0]] = new_seek
        else:
            updated.append(new_seek)
        span = el.total + _voids_after(children, head.index)
        fitted = E.fit_element(E.ID_SEEKHEAD, E.master_with_crc(updated, head.crc), span)
        if fitted is not None:
            patches.append((el.offset, span, fitted))
            placed = head
            break
    for head in heads:
        drop = head.stale if placed is not None else list(head.tags_entries)
        if head is placed or not drop:
            continue
        el = children[head.index]
        parts = [E.void_element(len(p)) if i in drop else p for i, p in enumerate(head.parts)]
        same = E.fit_element(E.ID_SEEKHEAD, E.master_with_crc(parts, head.crc), el.total)
        if same is not None:
            patches.append((el.offset, el.total, same))
    return patches


def _apply(src: BinaryIO, dst: BinaryIO, patches: list[Patch]) -> None:
    pos = 0
    for offset, length, data in sorted(patches, key=lambda p: (p[0], p[1])):
        if offset < pos:
            raise CorruptFileError(FMT, offset, "overlapping rewrites (internal error)")
        copy_range(src, dst, pos, offset - pos, FMT)
        dst.write(data)
        pos = offset + length
    copy_range(src, dst, pos, None, FMT)


class MatroskaHandler(Handler):
    name = "matroska"
    extensions = (
        "mkv",
        "webm",
        "mka",
        "mk3d",
    )
    mime_types = (
        "video/x-matroska",
        "video/webm",
    )

    def sniff(self, head: bytes) -> bool:
        if not head.startswith(E.EBML_MAGIC):
            return False
        try:
            el = E.parse_header(head, 0, 1 << 62, FMT)
            for child in E.iter_buffer(
                head, el.data_offset, min(el.end, len(head)), FMT, Limits(), 0, 1
            ):
                if child.eid == E.ID_DOCTYPE and child.end <= len(head):
                    doc = E.element_data(head, child).rstrip(b"\x00")
                    return doc.decode("ascii", "replace") in DOC_TYPES
        except AigcLabelError:
            pass
        return True

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        seg = _segment(src, limits, result.problems)
        children: list[E.Element] = []
        try:
            cluster = _walk(src, seg, seg.data, limits, children, stop_at_cluster=True)
        except CorruptFileError as e:
            result.problems.append(Problem("corrupt_file", e.message, "warning"))
            cluster = None
        seen = {el.offset for el in children}
        seeks: list[_Seek] = []
        try:
            for el in children:
                if el.eid == E.ID_SEEKHEAD:
                    seeks += _seeks(_load(src, el, limits), seg, limits)
            for s in [s for s in seeks if s.target == E.encode_id(E.ID_SEEKHEAD)]:
                if s.pos not in seen and seg.data <= s.pos < seg.end:
                    head = E.read_header(src, s.pos, seg.end, FMT)
                    if head.eid == E.ID_SEEKHEAD:
                        seen.add(s.pos)
                        seeks += _seeks(_load(src, head, limits), seg, limits)
        except CorruptFileError as e:  # a broken index: walk the Segment instead
            result.problems.append(Problem("corrupt_seekhead", e.message, "warning"))
            seeks = []
        tags = {el.offset: el for el in children if el.eid == E.ID_TAGS}
        tag_seeks = [s for s in seeks if s.target == TAGS_ID_BYTES]
        trusted = bool(tag_seeks)
        for s in tag_seeks:
            found = tags.get(s.pos) or self._tags_at(src, seg, s.pos, result.problems)
            if found is None:
                trusted = False  # a stale index may miss Tags elements too
            else:
                tags[found.offset] = found
        if cluster is not None and not trusted:
            rest: list[E.Element] = []
            try:
                _walk(src, seg, cluster.offset, limits, rest, stop_at_cluster=False)
            except CorruptFileError as e:
                result.problems.append(Problem("corrupt_file", e.message, "warning"))
            tags.update((el.offset, el) for el in rest if el.eid == E.ID_TAGS)
        for el in sorted(tags.values(), key=lambda el: el.offset):
            for simple in _labels_in_tags(_load(src, el, limits), limits):
                standard = simple.target is None and simple.name == KEY
                where = "Tag" if simple.target is None else f"Tag[{simple.target}]"
                placement = f"Segment/Tags/{where}/SimpleTag {simple.name}"
                result.labels.append(FoundLabel(simple.value, placement, el.offset, standard))
        return result

    @staticmethod
    def _tags_at(
        src: BinaryIO, seg: _Segment, pos: int, problems: list[Problem]
    ) -> E.Element | None:
        """The Tags element a SeekHead entry points at, None (and a warning) if there is none."""
        try:
            el = E.read_header(src, pos, seg.end, FMT) if seg.data <= pos < seg.end else None
        except CorruptFileError:
            el = None
        if el is None or el.eid != E.ID_TAGS:
            msg = f"SeekHead entry for Tags points at offset {pos}, where no Tags element starts"
            problems.append(Problem("bad_seek_entry", msg, "warning"))
            return None
        return el

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        seg = _segment(src, limits, None)
        children: list[E.Element] = []
        _walk(src, seg, seg.data, limits, children, stop_at_cluster=False)
        patches: list[Patch] = []
        tag_indexes = [i for i, el in enumerate(children) if el.eid == E.ID_TAGS]
        voided: set[int] = set()
        for i in tag_indexes[1:]:
            el = children[i]
            data, changed = _rebuild_tags(_load(src, el, limits), limits, None)
            if changed:
                new = E.fit_element(E.ID_TAGS, data, el.total, el.size_len) if data else None
                if new is None:
                    voided.add(el.offset)
                patches.append((el.offset, el.total, new or E.void_element(el.total)))
        new_pos: int | None = None
        grow = 0
        if tag_indexes:
            index = tag_indexes[0]
            el = children[index]
            data, _ = _rebuild_tags(_load(src, el, limits), limits, opts.label_json)
            span = el.total + _voids_after(children, index)
            fitted = E.fit_element(E.ID_TAGS, data, span, el.size_len)
            if fitted is not None:
                patches.append((el.offset, span, fitted))
            elif el.end == seg.end:
                new = E.encode_element(E.ID_TAGS, data)
                patches.append((el.offset, el.total, new))
                grow = len(new) - el.total
            else:
                patches.append((el.offset, el.total, E.void_element(el.total)))
                new_pos = seg.end
        else:
            data, _ = _rebuild_tags(b"", limits, opts.label_json)
            new_pos = seg.end
            after_head = _voids_reserved_for_seekheads(children)
            for i, el in enumerate(children):
                if el.eid != E.ID_VOID or el.offset in after_head:
                    continue
                fitted = E.fit_element(E.ID_TAGS, data, el.total + _voids_after(children, i))
                if fitted is not None:
                    patches.append((el.offset, el.total + _voids_after(children, i), fitted))
                    new_pos = el.offset
                    break
        if new_pos == seg.end:
            new = E.encode_element(E.ID_TAGS, data)
            patches.append((seg.end, 0, new))
            grow = len(new)
        final = new_pos if new_pos is not None else children[tag_indexes[0]].offset
        keep = {children[i].offset for i in tag_indexes[1:]} - voided | {final}
        patches += _seekhead_patches(src, seg, children, limits, keep, final)
        if grow and seg.el.size is not None:
            field = E.encode_size(seg.el.size + grow, seg.el.size_len)
            if field is None:
                raise CorruptFileError(FMT, seg.el.offset, "Segment size field is too narrow")
            patches.append((seg.el.offset + seg.el.id_len, seg.el.size_len, field))
        if children and children[0].eid == E.ID_CRC32 and patches:
            patches.append(
                (children[0].offset, children[0].total, E.void_element(children[0].total))
            )
        _apply(src, dst, patches)
