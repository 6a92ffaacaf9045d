"""XMP packet update: our property set once, everything else kept, hostile XML refused."""

from __future__ import annotations

import pytest
from lxml import etree

from aigc_label.errors import CorruptFileError, LimitExceededError
from aigc_label.limits import Limits
from aigc_label.xmp import DST_TRAINED, TC260_NS, minimal_packet, read_xmp, update_xmp

RICH = b"""<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='Image::ExifTool 12.57'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>
  <dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Sunset</rdf:li></rdf:Alt></dc:title>
 </rdf:Description>
 <rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Gen 1.0'/>
 <rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/'>
  <exif:PixelXDimension>64</exif:PixelXDimension>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""

LABEL = '{"Label":"1","ContentProducer":"P","ProduceID":"1"}'


def test_minimal_packet_created() -> None:
    packet = update_xmp(None, LABEL)
    found = read_xmp(packet)
    assert found.aigc == [LABEL]
    assert found.digital_source_types == [DST_TRAINED]
    assert packet.startswith(b"<?xpacket begin=")
    assert packet.rstrip().endswith(b'<?xpacket end="w"?>')


def test_other_properties_survive() -> None:
    packet = update_xmp(RICH, LABEL)
    root = etree.fromstring(packet.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    ns = {
        "dc": "http://purl.org/dc/elements/1.1/",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    }
    assert root.xpath("//dc:title//rdf:li/text()", namespaces=ns) == ["Sunset"]
    assert b'xmp:CreatorTool="Gen 1.0"' in packet or b"xmp:CreatorTool='Gen 1.0'" in packet
    assert b"<exif:PixelXDimension>64</exif:PixelXDimension>" in packet
    assert b"x:xmptk" in packet


def test_relabel_keeps_one_copy() -> None:
    once = update_xmp(RICH, LABEL)
    twice = update_xmp(once, LABEL.replace('"1"}', '"2"}'))
    assert read_xmp(twice).aigc == [LABEL.replace('"1"}', '"2"}')]
    assert twice.count(b"TC260:AIGC>") == 2  # one open and one close tag


def test_attribute_form_read_and_updated_in_place() -> None:
    packet = (
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/"
        b"22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:a='"
        + TC260_NS.encode()
        + b"' a:AIGC='{&quot;Label&quot;:&quot;3&quot;}'/></rdf:RDF></x:xmpmeta>"
    )
    assert read_xmp(packet).aigc == ['{"Label":"3"}']
    updated = update_xmp(packet, LABEL, digital_source_type=None)
    assert read_xmp(updated).aigc == [LABEL]
    assert b"a:AIGC=" in updated


def test_prefix_does_not_matter_uri_does() -> None:
    packet = RICH.replace(
        b"</rdf:RDF>",
        b"<rdf:Description rdf:about='' xmlns:zz='"
        + TC260_NS.encode()
        + b"'><zz:AIGC>v</zz:AIGC></rdf:Description></rdf:RDF>",
    )
    assert read_xmp(packet).aigc == ["v"]
    wrong_ns = packet.replace(TC260_NS.encode(), b"http://example.com/other/")
    assert read_xmp(wrong_ns).aigc == []


def test_duplicates_collapsed_on_write() -> None:
    dup = RICH.replace(
        b"</rdf:RDF>",
        b"<rdf:Description rdf:about='' xmlns:T='"
        + TC260_NS.encode()
        + b"'><T:AIGC>a</T:AIGC></rdf:Description><rdf:Description rdf:about='' "
        b"xmlns:T='" + TC260_NS.encode() + b"'><T:AIGC>b</T:AIGC></rdf:Description>"
        b"</rdf:RDF>",
    )
    assert read_xmp(dup).aigc == ["a", "b"]
    assert read_xmp(update_xmp(dup, LABEL)).aigc == [LABEL]


@pytest.mark.parametrize(
    "evil",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;">]>'
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>&l2;</x:xmpmeta>",
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>",
    ],
)
def test_hostile_or_broken_xml_refused(evil: bytes) -> None:
    with pytest.raises(CorruptFileError):
        read_xmp(evil)
    with pytest.raises(CorruptFileError):
        update_xmp(evil, LABEL)


def test_limits_enforced() -> None:
    with pytest.raises(LimitExceededError):
        read_xmp(minimal_packet(), Limits(max_xmp_bytes=10))
    deep = b"<a>" * 100 + b"</a>" * 100
    with pytest.raises(LimitExceededError):
        read_xmp(deep, Limits(max_xml_depth=50))


def test_empty_xmpmeta_gets_rdf() -> None:
    packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    assert read_xmp(update_xmp(packet, LABEL)).aigc == [LABEL]
