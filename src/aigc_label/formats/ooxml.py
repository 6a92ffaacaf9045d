"""OOXML handler (DOCX/XLSX/PPTX): custom document property ``AIGC``.

Implements spec section 4 (DOCX/XLSX/PPTX row): the label JSON is the
``vt:lpwstr`` value of ``<property name="AIGC">`` in the custom properties part
``docProps/custom.xml`` (ECMA-376 Part 1, 22.3 "Custom File Properties"),
registered by a relationship of type ``.../relationships/custom-properties``
in ``_rels/.rels`` and an ``Override`` with content type
``application/vnd.openxmlformats-officedocument.custom-properties+xml`` in
``[Content_Types].xml`` (ECMA-376 Part 2, OPC). Also read, and reported as
non-standard: an ``AIGC`` property in a ``docProps/custom.xml`` that is not
registered (Office ignores it).

Writing updates the custom part (every other property kept; an existing
``AIGC`` property is replaced in place, further copies removed; a new one gets
the next free ``pid``, at least 2), and registers the part in the content types
and package relationships when needed. Every other ZIP member is copied byte
for byte, compressed data included (see :mod:`._zip`); only the parts that
change are deflated anew, at their original position.

Hand-written because :mod:`zipfile` cannot copy compressed members raw and
python-docx/openpyxl/python-pptx load and re-save (and re-compress) the whole
package. XML is parsed with lxml with DTDs, entities and network access off.

Limits: see :mod:`._zip` (member count ``max_items``, central directory
``max_metadata_bytes``, each part we parse inflated to at most
``max_decompressed``, CRC-checked); XML nesting up to ``max_xml_depth``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ..errors import CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from ._zip import (
    LOCAL,
    LOCAL_SIG,
    Archive,
    Member,
    read_archive,
    read_member,
    rewrite,
    unsafe_names,
)
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "ooxml"

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
CUSTOM_PART = "docProps/custom.xml"
"""Where the spec puts the custom properties part."""

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_REL_TYPES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/customProperties",
)
"""Relationship types of the custom properties part (transitional, strict)."""

CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
"""FMTID_UserDefinedProperties, the fmtid Office gives every custom property."""

KEY = "AIGC"
FIRST_PID = 2
"""Custom property ids start at 2 (ECMA-376 Part 1, 22.3.2.2)."""

FIRST_NAMES = (b"[Content_Types].xml", b"_rels/", b"docProps/", b"word/", b"xl/", b"ppt/")
"""First member names that identify an OOXML package by its first bytes."""

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
"""The declaration Office writes on every part."""

_CP = f"{{{CP_NS}}}"
_NEW_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="' + CP_NS.encode() + b'" xmlns:vt="' + VT_NS.encode() + b'"/>'
)
_NEW_RELS = b'<Relationships xmlns="' + REL_NS.encode() + b'"/>'


def _parse(data: bytes, part: str, limits: Limits) -> etree._Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CorruptFileError(FMT, None, f"{part} has a DOCTYPE/ENTITY; refused")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise CorruptFileError(FMT, None, f"{part} is not well-formed XML: {e}") from e
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > limits.max_xml_depth:
            raise LimitExceededError(f"{part} nesting", depth, limits.max_xml_depth, FMT)
        stack.extend((c, depth + 1) for c in el)
    return root


def _serialize(root: etree._Element) -> bytes:
    return XML_DECLARATION + etree.tostring(root, xml_declaration=False, encoding="UTF-8")


def _labels(root: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """Each ``property name="AIGC"`` element and its value."""
    for prop in root.iter(f"{_CP}property"):
        if prop.get("name") == KEY:
            value = next((c.text or "" for c in prop if isinstance(c.tag, str)), "")
            yield prop, value


@dataclass
class _Package:
    """The parts of a package that bear on the label."""

    archive: Archive
    parts: dict[str, Member]
    """Lower-cased part name (no leading slash) -> member."""
    rels: etree._Element | None
    custom: list[str]
    """Part names registered as custom properties parts, in relationship order."""

    def member(self, name: str) -> Member | None:
        return self.parts.get(name.lower())


def _open(src: BinaryIO, limits: Limits) -> _Package:
    archive = read_archive(src, limits, FMT)
    parts: dict[str, Member] = {}
    dupes: set[str] = set()
    for m in archive.members:
        key = m.name.lower()
        if key in parts:
            dupes.add(key)
        parts[key] = m
    if dupes & {CONTENT_TYPES.lower(), ROOT_RELS, CUSTOM_PART.lower()}:
        raise CorruptFileError(FMT, None, "package has duplicate parts")
    pkg = _Package(archive, parts, None, [])
    rels_member = pkg.member(ROOT_RELS)
    if rels_member is not None:
        pkg.rels = _parse(read_member(src, rels_member, limits, FMT), ROOT_RELS, limits)
        for rel in pkg.rels.iter(f"{{{REL_NS}}}Relationship"):
            if rel.get("Type") in CUSTOM_REL_TYPES and rel.get("TargetMode") != "External":
                target = posixpath.normpath("/" + (rel.get("Target") or "")).lstrip("/")
                if target and not target.endswith("/"):
                    pkg.custom.append(target)
    return pkg


def _candidates(pkg: _Package) -> list[tuple[str, bool]]:
    """(part name, registered) for each custom properties part present."""
    names = [(name, True) for name in dict.fromkeys(pkg.custom) if pkg.member(name)]
    if CUSTOM_PART not in pkg.custom and pkg.member(CUSTOM_PART) is not None:
        names.append((CUSTOM_PART, False))
    return names


class OoxmlHandler(Handler):
    name = "ooxml"
    extensions = (
        "docx",
        "xlsx",
        "pptx",
        "docm",
        "xlsm",
        "pptm",
    )
    mime_types = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    )

    def sniff(self, head: bytes) -> bool:
        if len(head) < LOCAL.size or not head.startswith(LOCAL_SIG):
            return False
        name_len = LOCAL.unpack_from(head)[9]
        name = head[LOCAL.size : LOCAL.size + name_len]
        return name.startswith(FIRST_NAMES)

    def sniff_weak(self, head: bytes) -> bool:
        return head.startswith(LOCAL_SIG)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        pkg = _open(src, limits)
        result = ReadResult()
        for name in unsafe_names(pkg.archive):
            result.problems.append(
                Problem("unsafe_member_name", f"ZIP member name {name!r} is unsafe", "warning")
            )
        for part, registered in _candidates(pkg):
            m = pkg.member(part)
            if m is None:  # pragma: no cover - _candidates checked it
                continue
            root = _parse(read_member(src, m, limits, FMT), part, limits)
            where = f"{part} property {KEY}" + ("" if registered else " (part not registered)")
            for _prop, value in _labels(root):
                result.labels.append(FoundLabel(value, where, m.offset, registered))
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        pkg = _open(src, limits)
        ct_member = pkg.member(CONTENT_TYPES)
        if ct_member is None:
            raise CorruptFileError(FMT, None, "no [Content_Types].xml: not an OOXML package")
        changed: dict[str, bytes] = {}
        added: list[tuple[str, bytes]] = []
        target = next((n for n in pkg.custom if pkg.member(n) is not None), None)
        target = target or (pkg.custom[0] if pkg.custom else CUSTOM_PART)
        for part, _registered in _candidates(pkg):
            if part == target:
                continue
            m = pkg.member(part)
            if m is None:  # pragma: no cover
                continue
            root = _parse(read_member(src, m, limits, FMT), part, limits)
            stale = [prop for prop, _ in _labels(root)]
            for prop in stale:
                prop.getparent().remove(prop)  # type: ignore[union-attr]
            if stale:
                changed[m.name] = _serialize(root)

        custom = pkg.member(target)
        data = read_member(src, custom, limits, FMT) if custom is not None else _NEW_CUSTOM
        root = _parse(data, target, limits)
        self._set_label(root, opts.label_json)
        if custom is not None:
            changed[custom.name] = _serialize(root)
        else:
            added.append((target, _serialize(root)))

        ct = _parse(read_member(src, ct_member, limits, FMT), CONTENT_TYPES, limits)
        if self._register_type(ct, target):
            changed[ct_member.name] = _serialize(ct)
        if target not in pkg.custom:
            rels = pkg.rels if pkg.rels is not None else _parse(_NEW_RELS, ROOT_RELS, limits)
            self._register_rel(rels, target)
            rels_member = pkg.member(ROOT_RELS)
            if rels_member is not None:
                changed[rels_member.name] = _serialize(rels)
            else:
                added.append((ROOT_RELS, _serialize(rels)))
        rewrite(src, dst, pkg.archive, changed, added, FMT)

    @staticmethod
    def _set_label(root: etree._Element, value: str) -> None:
        if root.tag != f"{_CP}Properties":
            raise CorruptFileError(FMT, None, "custom properties part has the wrong root element")
        found = [prop for prop, _ in _labels(root)]
        if found:
            prop = found[0]
            for extra in found[1:]:
                root.remove(extra)
            for child in list(prop):
                prop.remove(child)
        else:
            pids = [int(p) for p in (e.get("pid") for e in root) if p and p.isdigit()]
            pid = max([FIRST_PID - 1, *pids]) + 1
            prop = etree.SubElement(
                root, f"{_CP}property", {"fmtid": FMTID, "pid": str(pid), "name": KEY}
            )
        nsmap = None if VT_NS in root.nsmap.values() else {"vt": VT_NS}
        lpwstr = etree.SubElement(prop, f"{{{VT_NS}}}lpwstr", nsmap=nsmap)
        lpwstr.text = value

    @staticmethod
    def _register_type(ct: etree._Element, part: str) -> bool:
        """Make sure an Override names the part's content type; True if ``ct`` changed."""
        name = "/" + part
        for el in ct.iter(f"{{{CT_NS}}}Override"):
            if (el.get("PartName") or "").lower() == name.lower():
                if el.get("ContentType") == CUSTOM_CT:
                    return False
                el.set("ContentType", CUSTOM_CT)
                return True
        etree.SubElement(ct, f"{{{CT_NS}}}Override", {"PartName": name, "ContentType": CUSTOM_CT})
        return True

    @staticmethod
    def _register_rel(rels: etree._Element, part: str) -> None:
        ids = {el.get("Id") for el in rels.iter(f"{{{REL_NS}}}Relationship")}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        etree.SubElement(
            rels,
            f"{{{REL_NS}}}Relationship",
            {"Id": f"rId{n}", "Type": CUSTOM_REL_TYPES[0], "Target": part},
        )
