"""Read and update the TC260:AIGC property inside an XMP packet.

The label is the simple property ``AIGC`` in namespace
``http://www.tc260.org.cn/ns/AIGC/1.0/`` (spec section 4), matched by URI and
local name, in element or attribute form. Updating keeps every other property
and the packet wrapper; it also sets ``Iptc4xmpExt:DigitalSourceType`` so IPTC
readers (Google, Meta) see AI content. lxml is used because it keeps namespace
prefixes and unknown markup intact on re-serialization; it is configured not to
load DTDs, resolve entities or touch the network, and DOCTYPEs are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .errors import CorruptFileError, LimitExceededError
from .limits import DEFAULT_LIMITS, Limits

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
"""Namespace URI of the GB 45438 XMP property."""

TC260_PREFIX = "TC260"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
"""IPTC Extension namespace carrying DigitalSourceType."""

IPTC_EXT_PREFIX = "Iptc4xmpExt"
DST_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DST_TRAINED = DST_BASE + "trainedAlgorithmicMedia"
"""IPTC digital source type for fully AI-generated media."""

DST_COMPOSITE = DST_BASE + "compositeWithTrainedAlgorithmicMedia"
"""IPTC digital source type for media edited with AI."""

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
XPACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"

_AIGC = f"{{{TC260_NS}}}AIGC"
_DST = f"{{{IPTC_EXT_NS}}}DigitalSourceType"
_DESC = f"{{{RDF_NS}}}Description"
_ABOUT = f"{{{RDF_NS}}}about"

_HEADER_RE = re.compile(rb"^[\s\x00\xef\xbb\xbf]*<\?xpacket\s+begin=[^?]*\?>")
_TRAILER_RE = re.compile(rb"<\?xpacket\s+end=['\"][rw]['\"]\s*\?>[\s\x00]*$")
_DEFAULT_HEADER = f'<?xpacket begin="\ufeff" id="{XPACKET_ID}"?>'.encode()
_DEFAULT_TRAILER = b'<?xpacket end="w"?>'


@dataclass
class XmpFindings:
    """What an XMP packet says about AI provenance."""

    aigc: list[str] = field(default_factory=list)
    """Every TC260:AIGC value found, in document order."""

    digital_source_types: list[str] = field(default_factory=list)
    """Every Iptc4xmpExt:DigitalSourceType value found."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _split(packet: bytes) -> tuple[bytes, bytes, bytes]:
    """Split a packet into (xpacket header, XML body, trailer); missing parts are b""."""
    header = b""
    m = _HEADER_RE.match(packet)
    if m:
        header = packet[: m.end()].lstrip(b"\x00 \t\r\n")
        packet = packet[m.end() :]
    trailer = b""
    t = _TRAILER_RE.search(packet)
    if t:
        trailer = t.group(0).rstrip(b"\x00 \t\r\n")
        packet = packet[: t.start()]
    return header, packet.strip(b"\x00 \t\r\n"), trailer


def _parse(body: bytes, limits: Limits) -> etree._Element:
    if len(body) > limits.max_xmp_bytes:
        raise LimitExceededError("XMP packet", len(body), limits.max_xmp_bytes, "xmp")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise CorruptFileError("xmp", None, "XMP packet contains a DOCTYPE/ENTITY; refused")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as e:
        raise CorruptFileError("xmp", None, f"XMP packet is not well-formed XML: {e}") from e
    depth = _depth(root, limits.max_xml_depth)
    if depth > limits.max_xml_depth:
        raise LimitExceededError("XMP nesting depth", depth, limits.max_xml_depth, "xmp")
    return root


def _depth(root: etree._Element, cap: int) -> int:
    best = 0
    stack = [(root, 1)]
    while stack:
        el, d = stack.pop()
        best = max(best, d)
        if d > cap:
            return d
        stack.extend((c, d + 1) for c in el if isinstance(c.tag, str))
    return best


def _simple_value(el: etree._Element) -> str:
    """Text of a simple property; tolerate a value wrapped in rdf:Alt/Seq/Bag by mistake."""
    for li in el.iter(f"{{{RDF_NS}}}li"):
        return li.text or ""
    return el.text or ""


def read_xmp(packet: bytes, limits: Limits = DEFAULT_LIMITS) -> XmpFindings:
    """Find TC260:AIGC and DigitalSourceType values in a packet.

    Raises:
        CorruptFileError: the packet is not well-formed or carries a DOCTYPE.
        LimitExceededError: the packet is too large or too deep.
    """
    root = _parse(_split(packet)[1], limits)
    found = XmpFindings()
    for el in root.iter(_AIGC, _DST, _DESC):
        if el.tag == _AIGC:
            found.aigc.append(_simple_value(el))
        elif el.tag == _DST:
            found.digital_source_types.append(_simple_value(el).strip())
        if el.tag == _DESC:
            if _AIGC in el.attrib:
                found.aigc.append(str(el.attrib[_AIGC]))
            if _DST in el.attrib:
                found.digital_source_types.append(str(el.attrib[_DST]).strip())
    return found


def minimal_packet() -> bytes:
    """An empty, valid XMP packet to build on when a file has none."""
    return (
        _DEFAULT_HEADER
        + b'\n<x:xmpmeta xmlns:x="adobe:ns:meta/">\n <rdf:RDF xmlns:rdf="'
        + RDF_NS.encode()
        + b'">\n </rdf:RDF>\n</x:xmpmeta>\n'
        + _DEFAULT_TRAILER
    )


def update_xmp(
    packet: bytes | None,
    label_json: str,
    *,
    digital_source_type: str | None = DST_TRAINED,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """Return ``packet`` with TC260:AIGC set to ``label_json`` (exactly one copy).

    Every other property is kept. When ``digital_source_type`` is given,
    Iptc4xmpExt:DigitalSourceType is set to it as well. ``packet=None`` builds
    a minimal packet. The result is UTF-8 with an xpacket wrapper.
    """
    header, body, _trailer = _split(packet if packet is not None else minimal_packet())
    root = _parse(body, limits)
    rdf = root if root.tag == f"{{{RDF_NS}}}RDF" else next(root.iter(f"{{{RDF_NS}}}RDF"), None)
    if rdf is None:
        if root.tag != f"{{{X_NS}}}xmpmeta":
            raise CorruptFileError("xmp", None, "XMP packet has no rdf:RDF element")
        rdf = etree.SubElement(root, f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})
    remaining = {_AIGC: label_json}
    if digital_source_type:
        remaining[_DST] = digital_source_type
    kept: etree._Element | None = None
    """The element that now carries our label (property element or Description)."""
    about = ""
    for desc in [d for d in rdf if d.tag == _DESC]:
        about = desc.get(_ABOUT, about)
        for attr in list(desc.attrib):
            if attr in remaining:
                desc.set(attr, remaining.pop(attr))
                kept = desc if attr == _AIGC else kept
        for child in list(desc):
            if child.tag in remaining:
                for sub in list(child):
                    child.remove(sub)
                child.text = remaining.pop(child.tag)
                kept = child if child.tag == _AIGC else kept
    if remaining:
        added = _add_description(rdf, about, remaining)
        kept = next(added.iter(_AIGC), kept)
    # exactly one copy: drop every other TC260:AIGC, wherever it sits in the tree
    emptied: list[etree._Element | None] = []
    for el in list(root.iter(_AIGC)):
        if el is not kept:
            emptied.append(el.getparent())
            _remove_keep_tail(el)
    for desc in list(root.iter(_DESC)):
        if desc is not kept and _AIGC in desc.attrib:
            del desc.attrib[_AIGC]
            emptied.append(desc)
    for parent in emptied:
        if parent is not None and _is_empty_description(parent):
            _remove_keep_tail(parent)
    xml = etree.tostring(root, encoding="utf-8")
    return (header or _DEFAULT_HEADER) + b"\n" + xml + b"\n" + _DEFAULT_TRAILER


def _is_empty_description(el: etree._Element) -> bool:
    if el.tag != _DESC or len(el) > 0:
        return False
    return all(a == _ABOUT for a in el.attrib)


def _remove_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    prev = el.getprevious()
    if prev is not None:
        prev.tail = el.tail if el.tail and el.tail.strip() == "" else prev.tail
    parent.remove(el)


def _add_description(rdf: etree._Element, about: str, props: dict[str, str]) -> etree._Element:
    nsmap = {"rdf": RDF_NS}
    if _AIGC in props:
        nsmap[TC260_PREFIX] = TC260_NS
    if _DST in props:
        nsmap[IPTC_EXT_PREFIX] = IPTC_EXT_NS
    desc = etree.SubElement(rdf, _DESC, {_ABOUT: about}, nsmap=nsmap)
    desc.text = "\n   "
    prop: etree._Element | None = None
    for tag, value in props.items():
        prop = etree.SubElement(desc, tag)
        prop.text = value
        prop.tail = "\n   "
    if prop is not None:
        prop.tail = "\n  "
    desc.tail = "\n "
    prev = desc.getprevious()
    if prev is not None and not (prev.tail or "").strip():
        prev.tail = "\n  "
    elif prev is None and not (rdf.text or "").strip():
        rdf.text = "\n  "
    return desc


def _aigc_moved_elsewhere(packet: bytes, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """``packet`` without its TC260:AIGC, for a label that is moving to the format's standard slot.

    Package-internal on purpose (Art. 10: no label-removal feature): only handler
    ``write`` paths call it, and only in the same operation that writes the new
    label in the standard placement, so the file keeps exactly one label.
    """
    header, body, trailer = _split(packet)
    root = _parse(body, limits)
    emptied: list[etree._Element | None] = []
    for el in list(root.iter(_AIGC)):
        emptied.append(el.getparent())
        _remove_keep_tail(el)
    for desc in list(root.iter(_DESC)):
        if _AIGC in desc.attrib:
            del desc.attrib[_AIGC]
            emptied.append(desc)
    for parent in emptied:
        if parent is not None and _is_empty_description(parent):
            _remove_keep_tail(parent)
    xml = etree.tostring(root, encoding="utf-8")
    return (header or _DEFAULT_HEADER) + b"\n" + xml + b"\n" + (trailer or _DEFAULT_TRAILER)
