"""SVG: the label as XMP ``TC260:AIGC`` in the root ``<metadata>`` (spec section 4, SVG row).

The guides give no SVG placement (uncertain); we follow SVG 1.1 section 21 and
what Inkscape and exiftool do: an ``rdf:RDF`` element directly inside the root
``<svg>``'s ``<metadata>`` child (exiftool reads exactly that as XMP; an
``x:xmpmeta`` wrapper there is read as plain XML). An existing ``rdf:RDF`` /
``x:xmpmeta`` in that ``<metadata>`` is updated with :func:`update_xmp`
(every other property kept); otherwise one is inserted, creating
``<metadata>`` as the root's first child when needed. Labels in XMP elsewhere
in the document are reported as non-standard and removed on write.

Hand-written, because re-serializing an SVG through an XML library changes
bytes everywhere (attribute quoting, whitespace, namespace declarations,
entities). A small tokenizer finds element boundaries in a bounded head region
and the file is rewritten as byte splices; all other bytes stay identical.
It never expands entities or reads DTDs (a DOCTYPE is skipped as a token).

Limits: the tokenized region is at most ``limits.max_metadata_bytes``; a label
beyond it is refused (``LimitExceededError``) rather than duplicated; element
nesting is bounded by ``limits.max_xml_depth``; XMP packets by the XMP limits.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from .._io import COPY_BLOCK, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError, UnsupportedFormatError
from ..limits import Limits
from ..xmp import RDF_NS, TC260_NS, update_xmp
from ._text import (
    Edit,
    TextRegion,
    detect_bom,
    load_region,
    skip_markup_prolog,
    sniff_text,
    write_spliced,
)
from .base import Handler, ReadResult, WriteOptions, collect_xmp

FMT = "svg"

_TOKEN = re.compile(
    r"""<!--.*?-->
    |<!\[CDATA\[.*?\]\]>
    |<\?.*?\?>
    |<![A-Za-z](?:[^\[>"']|"[^"]*"|'[^']*'|\[.*?\])*>
    |</(?P<end>[^\s>]*)\s*>
    |<(?P<start>[^\s/>!?][^\s/>]*)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*?)(?P<close>/?)>""",
    re.S | re.X,
)
_XMLNS = re.compile(r"""xmlns:([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_XPACKET = re.compile(rb"^\s*<\?xpacket[^>]*\?>\s*|\s*<\?xpacket[^>]*\?>\s*$")
_NEW_RDF = f'<rdf:RDF xmlns:rdf="{RDF_NS}"></rdf:RDF>'.encode()
_AIGC_TAG = f"{{{TC260_NS}}}AIGC"
_LABEL_NEEDLE = b"tc260.org.cn/ns/AIGC"
_PROBE = b"<?xml version='1.0'?><svg xmlns:a=\"b\"/>\n"
"""Markup characters that must encode as ASCII for an encoding to be handled."""


@dataclass
class _Packet:
    start: int
    end: int
    scope: dict[str, str]
    """Namespace declarations in scope from ancestors and not redeclared on the element."""

    in_metadata: bool
    name_end: int
    """Character index just past the element name in its start tag."""

    def injected(self, text: str) -> str:
        """The ancestor declarations the element uses, so it parses standalone."""
        body = text[self.start : self.end]
        return "".join(f' xmlns:{p}="{uri}"' for p, uri in self.scope.items() if f"{p}:" in body)

    def xml(self, text: str) -> bytes:
        body = text[self.start : self.name_end] + self.injected(text)
        return (body + text[self.name_end : self.end]).encode("utf-8", "surrogateescape")

    def restore(self, text: str, updated: str) -> str:
        """``updated`` without the declarations :meth:`xml` injected into its start tag."""
        tag_end = updated.find(">")
        head = updated[:tag_end]
        for decl in re.findall(r' xmlns:[^=\s]+="[^"]*"', self.injected(text)):
            head = head.replace(decl, "", 1)
        return head + updated[tag_end:]


@dataclass
class _Doc:
    region: TextRegion
    root_prefix: str = ""
    root_tag: tuple[int, int, bool] = (0, 0, False)
    metadata: list[tuple[int, int, bool]] = field(default_factory=list)
    """Start tags of the root's <metadata> children: (start, end, self-closing)."""

    packets: list[_Packet] = field(default_factory=list)


class SvgHandler(Handler):
    """XMP (rdf:RDF) inside the root <metadata>, spliced into the original bytes."""

    name = FMT
    extensions = ("svg",)
    mime_types = ("image/svg+xml",)

    def sniff(self, head: bytes) -> bool:
        text = sniff_text(head, markup=True)
        if text is None:
            return False
        rest = skip_markup_prolog(text)
        cut = len(head) >= 64
        if rest.startswith("<!"):
            return rest.startswith("<!DOCTYPE svg") or (cut and "<!DOCTYPE svg".startswith(rest))
        if rest:
            return bool(re.match(r"<svg[\s>/]", rest)) or (cut and "<svg".startswith(rest))
        # The prolog (a long comment) runs past the sniff window: look for the root anyway.
        return text.lstrip().startswith("<?xml") and "<svg" in text

    def sniff_weak(self, head: bytes) -> bool:
        text = sniff_text(head, markup=True)
        return text is not None and text.lstrip().startswith("<")

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        doc = _scan(src, limits)
        result = ReadResult()
        for packet in doc.packets:
            found = ReadResult()
            placement = "SVG <metadata> XMP" if packet.in_metadata else "SVG XMP outside <metadata>"
            offset = doc.region.byte_offset(packet.start)
            collect_xmp(packet.xml(doc.region.text), placement, offset, limits, found)
            result.labels.extend(
                lab if packet.in_metadata else dataclasses.replace(lab, standard=False)
                for lab in found.labels
            )
            result.problems.extend(found.problems)
            result.digital_source_types.extend(found.digital_source_types)
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        doc = _scan(src, limits)
        text = doc.region.text
        labeled = [p for p in doc.packets if _has_label(p.xml(text), limits)]
        in_meta = [p for p in doc.packets if p.in_metadata]
        target = next((p for p in labeled if p.in_metadata), in_meta[0] if in_meta else None)
        edits: list[Edit] = []
        for packet in labeled:
            if packet is not target:
                stripped = _strip_label(packet.xml(text), limits)
                edits.append((packet.start, packet.end, packet.restore(text, stripped)))
        existing = target.xml(text) if target is not None else _NEW_RDF
        new = _bare(
            update_xmp(
                existing,
                opts.label_json,
                digital_source_type=opts.digital_source_type,
                limits=limits,
            )
        )
        nl = doc.region.newline()
        new = new.replace("\n", nl)
        if target is not None:
            edits.append((target.start, target.end, target.restore(text, new)))
        elif doc.metadata:
            start, end, self_closing = doc.metadata[0]
            if self_closing:
                tag = text[start:end][:-2].rstrip()
                name = tag[1:].split(None, 1)[0]
                edits.append((start, end, f"{tag}>{nl}{new}{nl}</{name}>"))
            else:
                edits.append((end, end, nl + new + nl))
        else:
            start, end, self_closing = doc.root_tag
            meta = f"{doc.root_prefix}metadata"
            element = f"<{meta}>{nl}{new}{nl}</{meta}>"
            if self_closing:
                tag = text[start:end][:-2].rstrip()
                edits.append((start, end, f"{tag}>{nl}{element}{nl}</{doc.root_prefix}svg>"))
            else:
                edits.append((end, end, nl + element))
        write_spliced(src, dst, doc.region, edits)


def _codec(src: BinaryIO) -> str:
    """The encoding an XML declaration names (UTF-8 without one); ASCII-compatible only."""
    src.seek(0)
    head = src.read(256)
    m = _ENCODING.match(head)
    if detect_bom(head)[0] is not None or m is None:
        return "utf-8"
    try:
        name = codecs.lookup(m.group(1).decode("ascii")).name
        compatible = _PROBE.decode("ascii").encode(name) == _PROBE
    except (LookupError, UnicodeError) as e:
        raise UnsupportedFormatError(f"svg: unknown XML encoding {m.group(1)!r}") from e
    if not compatible:
        raise UnsupportedFormatError(f"svg: XML encoding {name} is not supported without a BOM")
    return name


def _scan(src: BinaryIO, limits: Limits) -> _Doc:
    """Tokenize the head region: root start tag, root <metadata> children, XMP elements."""
    region = load_region(src, limits.max_metadata_bytes, FMT, _codec(src))
    if not region.complete:
        _refuse_label_past(src, region, limits)
    text = region.text
    doc = _Doc(region)
    stack: list[dict[str, str]] = []
    meta_depth: int | None = None
    packet: _Packet | None = None
    packet_depth = 0
    root_done = False
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        m = _TOKEN.match(text, lt)
        if m is None:
            if not region.complete:
                break
            raise CorruptFileError(FMT, region.byte_offset(lt), "unterminated markup")
        pos = m.end()
        name = m.group("start")
        if name is not None:
            if root_done and not stack:
                raise CorruptFileError(FMT, region.byte_offset(lt), "second root element")
            local = name.rpartition(":")[2]
            self_closing = bool(m.group("close"))
            if not stack:
                if local != "svg":
                    raise UnsupportedFormatError(f"svg: root element is <{name}>, not <svg>")
                doc.root_prefix = name[: len(name) - 3]
                doc.root_tag = (lt, pos, self_closing)
                root_done = self_closing
            elif len(stack) == 1 and local == "metadata":
                doc.metadata.append((lt, pos, self_closing))
                meta_depth = None if self_closing else 1
            if packet is None and stack and local in ("xmpmeta", "RDF"):
                scope = _scope(stack, m.group("attrs"))
                packet = _Packet(lt, pos, scope, meta_depth is not None, lt + 1 + len(name))
                packet_depth = len(stack)
                if self_closing:
                    doc.packets.append(packet)
                    packet = None
            if not self_closing:
                stack.append(_declared(m.group("attrs")))
                if len(stack) > limits.max_xml_depth:
                    raise LimitExceededError("SVG nesting", len(stack), limits.max_xml_depth, FMT)
        elif m.group("end") is not None:
            if not stack:
                raise CorruptFileError(FMT, region.byte_offset(lt), "end tag without start tag")
            stack.pop()
            if packet is not None and len(stack) == packet_depth:
                packet.end = pos
                doc.packets.append(packet)
                packet = None
            if meta_depth is not None and len(stack) == meta_depth:
                meta_depth = None
            root_done = not stack
        found = len(doc.packets) + len(doc.metadata)
        if found > limits.max_items:
            raise LimitExceededError("SVG metadata elements", found, limits.max_items, FMT)
    if not doc.root_tag[1]:
        raise CorruptFileError(FMT, None, "no root <svg> element")
    if region.complete and stack:
        raise TruncatedError(FMT, region.byte_offset(len(text)), "root <svg> is not closed")
    return doc


def _declared(attrs: str) -> dict[str, str]:
    """Prefixed namespace declarations of one start tag (values that need no re-quoting)."""
    return {p: dq or sq for p, dq, sq in _XMLNS.findall(attrs) if '"' not in sq}


def _scope(stack: list[dict[str, str]], own_attrs: str) -> dict[str, str]:
    scope: dict[str, str] = {}
    for decls in stack:
        scope.update(decls)
    for prefix in _declared(own_attrs):
        scope.pop(prefix, None)
    return scope


def _refuse_label_past(src: BinaryIO, region: TextRegion, limits: Limits) -> None:
    """Raise when a TC260 namespace appears past the tokenized region (we would miss it)."""
    needle = _LABEL_NEEDLE.decode().encode(region.codec)
    start = region.byte_offset(len(region.text))
    size = stream_size(src)
    src.seek(max(0, start - len(needle)))
    tail = b""
    while True:
        block = src.read(COPY_BLOCK)
        if not block:
            return
        if needle in tail + block:
            raise LimitExceededError(
                "SVG bytes before its TC260 metadata", size, limits.max_metadata_bytes, FMT
            )
        tail = block[-len(needle) :]


def _bare(packet: bytes) -> str:
    """An updated XMP packet without its xpacket processing instructions, as text."""
    return _XPACKET.sub(b"", packet).decode("utf-8", "surrogateescape")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _has_label(xml: bytes, limits: Limits) -> bool:
    if TC260_NS.encode() not in xml:
        return False
    if len(xml) > limits.max_xmp_bytes:
        return True  # too big to check: _strip_label refuses it
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError:
        return False
    return any(_AIGC_TAG in el.attrib or el.tag == _AIGC_TAG for el in root.iter())


def _strip_label(xml: bytes, limits: Limits) -> str:
    """The packet element with every TC260:AIGC property removed (a copy outside <metadata>)."""
    if len(xml) > limits.max_xmp_bytes:
        raise LimitExceededError("XMP packet", len(xml), limits.max_xmp_bytes, FMT)
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as e:
        raise CorruptFileError(FMT, None, f"XMP outside <metadata> is malformed: {e}") from e
    for el in list(root.iter()):
        if _AIGC_TAG in el.attrib:
            del el.attrib[_AIGC_TAG]
        if el.tag == _AIGC_TAG and (parent := el.getparent()) is not None:
            parent.remove(el)
    return etree.tostring(root, encoding="unicode")
