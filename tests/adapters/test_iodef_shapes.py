"""IODEF written by hand from RFC 7970's element definitions, one document per place the RFC puts a URL, a
domain or a hash -- each first accepted by the official schema (judge.py), then decoded: every location
read, and where it came from kept on the item (``observed_as``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_gateway.adapters.iodef import IodefAdapter
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import HashAlgo, ObservedAs
from hotline_gateway.core.schema import validate_case
from tests.adapters.judge import FORMATS, judge

ADAPTER = IodefAdapter()
MD5 = "0123456789abcdef0123456789abcdef"
MD5_B64 = "ASNFZ4mrze8BI0VniavN7w=="


def document(before_contact: str = "", after_contact: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<IODEF-Document version="2.00" xml:lang="en" xmlns="urn:ietf:params:xml:ns:iodef-2.0"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <Incident purpose="reporting" restriction="amber">
    <IncidentID name="csirt.example.org">INC-42</IncidentID>
    {before_contact}
    <GenerationTime>2026-03-01T10:00:00Z</GenerationTime>
    <Contact type="organization" role="creator">
      <ContactName>CSIRT Example</ContactName>
    </Contact>
    {after_contact}
  </Incident>
</IODEF-Document>""".encode()


def indicator(observable: str) -> str:
    return (f'<IndicatorData><Indicator><IndicatorID name="csirt.example.org" version="1">I-1</IndicatorID>'
            f"<Observable>{observable}</Observable></Indicator></IndicatorData>")


def flow(system: str) -> str:
    return f'<EventData><Flow><System category="source">{system}</System></Flow></EventData>'


SHAPES: dict[str, tuple[bytes, list[tuple[str, ObservedAs]]]] = {
    "observable-address-site-uri": (document(after_contact=indicator(
        '<Address category="site-uri">https://img.example.org/a.jpg</Address>')),
        [("https://img.example.org/a.jpg", ObservedAs.CONTENT)]),
    "observable-file-url-with-hashes": (document(after_contact=indicator(
        f'<FileData><File><FileName>a.jpg</FileName><URL>https://img.example.org/b.jpg</URL>'
        f'<HashData scope="file-contents"><Hash><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/>'
        f"<ds:DigestValue>{MD5_B64}</ds:DigestValue></Hash></HashData></File></FileData>")),
        [("https://img.example.org/b.jpg", ObservedAs.CONTENT)]),
    "observable-bulk-site-uri": (document(after_contact=indicator(
        '<BulkObservable type="site-uri"><BulkObservableList>https://x.example.org/1 https://x.example.org/2'
        "</BulkObservableList></BulkObservable>")),
        [("https://x.example.org/1", ObservedAs.CONTENT), ("https://x.example.org/2", ObservedAs.CONTENT)]),
    "observable-domain-data": (document(after_contact=indicator(
        "<DomainData><Name>files.example.net</Name></DomainData>")),
        [("http://files.example.net/", ObservedAs.DOMAIN)]),
    "observable-reference-url": (document(after_contact=indicator(
        '<Reference><URL>https://paste.example.org/r/9</URL><Description>where it was posted</Description>'
        "</Reference>")),
        [("https://paste.example.org/r/9", ObservedAs.REFERENCE)]),
    "event-flow-node-address": (document(after_contact=flow(
        '<Node><Address category="site-uri">https://host.example.org/gallery/</Address>'
        '<Address category="ipv6-addr">2001:db8::7</Address></Node>')),
        [("https://host.example.org/gallery/", ObservedAs.EVENT_FLOW)]),
    "event-flow-node-domain": (document(after_contact=flow(
        "<Node><DomainData><Name>bad.example.com</Name></DomainData></Node>")),
        [("http://bad.example.com/", ObservedAs.DOMAIN)]),
    "event-flow-service-application-header": (document(after_contact=flow(
        '<Node><Address category="ipv4-addr">198.51.100.4</Address></Node>'
        '<Service ip-protocol="6"><Port>443</Port><ApplicationHeader><ApplicationHeaderField dtype="string" '
        'meaning="Location">'
        "<URL>https://host.example.org/v/77</URL></ApplicationHeaderField></ApplicationHeader></Service>")),
        [("https://host.example.org/v/77", ObservedAs.SERVICE)]),
    "event-record-url": (document(after_contact=(
        "<EventData><Record><RecordData><URL>https://forum.example.org/t/5</URL></RecordData></Record>"
        "</EventData>")),
        [("https://forum.example.org/t/5", ObservedAs.EVENT_RECORD)]),
    "related-activity-url": (document(before_contact=(
        "<RelatedActivity><URL>https://other-report.example.org/case/1</URL></RelatedActivity>"),
        after_contact=indicator('<Address category="site-uri">https://img.example.org/c.jpg</Address>')),
        [("https://other-report.example.org/case/1", ObservedAs.RELATED_ACTIVITY),
         ("https://img.example.org/c.jpg", ObservedAs.CONTENT)]),
}


def test_every_hand_written_shape_is_valid_iodef_by_the_official_schema(tmp_path: Path) -> None:
    assert judge("iodef", [data for data, _ in SHAPES.values()], tmp_path, ".xml") == []


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_place_rfc_7970_puts_a_location_is_read_with_where_it_came_from(shape: str) -> None:
    data, expected = SHAPES[shape]
    [case] = ADAPTER.decode(data)
    validate_case(case)
    assert sorted((i.url, i.observed_as) for i in case.items) == sorted(expected)


def test_hashes_and_the_serving_address_travel_with_the_url() -> None:
    [case] = ADAPTER.decode(SHAPES["observable-file-url-with-hashes"][0])
    assert [(h.algo, h.value) for h in case.items[0].hashes] == [(HashAlgo.MD5, MD5)]
    assert case.items[0].file_name == "a.jpg"
    [case] = ADAPTER.decode(SHAPES["event-flow-node-address"][0])
    assert case.items[0].hosting is not None and case.items[0].hosting.ip == "2001:db8::7"


def test_a_domain_already_named_by_a_url_adds_no_item() -> None:
    data = document(after_contact=indicator(
        '<Address category="site-uri">https://files.example.net/x.jpg</Address>'
        "<DomainData><Name>files.example.net</Name></DomainData>"))
    [case] = ADAPTER.decode(data)
    assert [(i.url, i.observed_as) for i in case.items] == [("https://files.example.net/x.jpg", ObservedAs.CONTENT)]


def test_a_document_naming_only_addresses_is_refused_saying_what_was_looked_for(tmp_path: Path) -> None:
    data = document(after_contact=indicator('<Address category="ipv4-addr">192.0.2.99</Address>'))
    assert judge("iodef", [data], tmp_path, ".xml") == []
    with pytest.raises(DecodeError, match="no content items") as info:
        ADAPTER.decode(data)
    for place in ("File", "Record", "Service", "RelatedActivity", "Reference", "site-uri", "DomainData"):
        assert place in info.value.message


def test_the_rfc_7970_campaign_example_yields_its_c2_domains() -> None:
    """RFC 7970 §7.2: a bulk list of C2 domain names (ext-type fqdn) -- locations, read as domains."""
    [case] = ADAPTER.decode((FORMATS / "iodef-2.0" / "examples" / "7.2-indicators-from-a-campaign.xml").read_bytes())
    validate_case(case)
    assert sorted(i.url or "" for i in case.items) == [
        "http://09ijk23jfj0k8.example.net/", "http://kj290023j09r34.example.com/",
        "http://klknjwfjiowjefr923.example.org/", "http://oimireik79msd.example.org/"]
    assert {i.observed_as for i in case.items} == {ObservedAs.DOMAIN}
