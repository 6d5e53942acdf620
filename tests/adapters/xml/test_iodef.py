"""IODEF 2.0 (RFC 7970): what we write the official schema accepts; what others write in it, we read."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from lxml import etree

from hotline_gateway.adapters.iodef.mapping import NS
from hotline_gateway.core.errors import DecodeError, EncodeError
from hotline_gateway.core.model import (
    Case,
    Category,
    Hash,
    HashAlgo,
    LegalClass,
    Reporter,
    ReporterKind,
    SourceChannel,
    Tlp,
)
from hotline_gateway.core.schema import validate_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.judge import FORMATS, judge
from tests.adapters.xml.support import IODEF

EXAMPLES = FORMATS / "iodef-2.0" / "examples"
MINIMAL = EXAMPLES / "7.1-minimal-example.xml"
CAMPAIGN = EXAMPLES / "7.2-indicators-from-a-campaign.xml"
Q = f"{{{NS}}}"


def one_case(seed: int = 1) -> Case:
    return next(generate_cases(1, seed=seed))


def test_1000_generated_cases_encode_to_documents_the_official_schema_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    documents = [IODEF.encode(case) for case in generate_cases(1000, seed=7)]
    encoded = time.perf_counter() - started
    assert judge("iodef", documents, tmp_path, ".xml") == []
    with capsys.disabled():
        print(f"\niodef: 1000 encodes {encoded:.2f}s, judged in {time.perf_counter() - started - encoded:.2f}s")


def test_1000_generated_cases_decode_back_to_valid_cases_with_their_content() -> None:
    for case in generate_cases(1000, seed=7):
        [back] = IODEF.decode(IODEF.encode(case))
        validate_case(back)
        assert [(i.item_id, i.url, i.legal_class, sorted(h.value for h in i.hashes)) for i in back.items] == \
            [(i.item_id, i.url, i.legal_class, sorted(h.value for h in i.hashes)) for i in case.items]


def test_the_rfc_examples_are_what_the_official_schema_accepts(tmp_path: Path) -> None:
    """Sanity for the tests below: the examples used are the RFC's own, valid as they stand."""
    assert judge("iodef", [MINIMAL.read_bytes(), CAMPAIGN.read_bytes()], tmp_path, ".xml") == []


def test_rfc7970_minimal_example_has_no_content_items_and_says_so() -> None:
    with pytest.raises(DecodeError, match="no content items"):
        IODEF.decode(MINIMAL.read_bytes())


def campaign_with(bulk_type: bytes, values: list[bytes]) -> bytes:
    text = CAMPAIGN.read_bytes()
    start, end = text.index(b"<iodef:BulkObservableList>"), text.index(b"</iodef:BulkObservableList>")
    text = text[:start] + b"<iodef:BulkObservableList>\n" + b"\n".join(values) + b"\n" + text[end:]
    return text.replace(b'type="ext-value" ext-type="fqdn"', bulk_type)


def test_campaign_example_listing_urls_as_site_uri_decodes_to_one_item_per_url(tmp_path: Path) -> None:
    urls = [b"https://kj290023j09r34.example.com/a.jpg", b"http://klknjwfjiowjefr923.example.org/b/"]
    data = campaign_with(b'type="site-uri"', urls)
    assert judge("iodef", [data], tmp_path, ".xml") == []
    [case] = IODEF.decode(data)
    validate_case(case)
    assert [(i.url or "").encode() for i in case.items] == urls
    assert case.tlp is Tlp.GREEN and case.originator == "csirt.example.com"
    assert case.category is Category.OTHER and {i.legal_class for i in case.items} == {LegalClass.DOUBTFUL}
    assert case.reporter.kind is ReporterKind.WITHHELD and case.source_channel is SourceChannel.OTHER
    assert case.explanation is not None and case.explanation.startswith("Summarizes the Indicators")
    assert IODEF.decode(data)[0].case_id == case.case_id, "the same document must give the same ids"


def test_campaign_example_listing_file_hashes_decodes_to_items_known_by_their_digests(tmp_path: Path) -> None:
    """RFC 7970 §7.2's campaign, its list made of file hashes (BulkObservable type file-hash): one item per
    hash, with no URL, the algorithm told by the digest's length."""
    sha1, md5 = b"3f786850e387550fdab836ed7e6dc881de23001b", b"0cc175b9c0f1b6a831c399e269772661"
    data = campaign_with(b'type="file-hash"', [sha1, md5])
    assert judge("iodef", [data], tmp_path, ".xml") == []
    [case] = IODEF.decode(data)
    validate_case(case)
    assert [(i.url, [(h.algo.value, h.value) for h in i.hashes]) for i in case.items] == [
        (None, [("sha1", sha1.decode())]), (None, [("md5", md5.decode())])]


def test_a_file_named_only_by_its_hashdata_is_an_item_without_url_and_survives_our_encoder(tmp_path: Path) -> None:
    """An Indicator whose Observable is a File with HashData and no URL (RFC 7970 §3.29.2): a hash-only item,
    and our IODEF of that case is valid and reads back the same."""
    [case] = generate_cases(1, seed=77)
    case.items = case.items[:1]
    case.items[0].url = None
    case.items[0].hashes = case.items[0].hashes or [Hash(HashAlgo.SHA256, "ab" * 32)]
    data = IODEF.encode(case)
    assert judge("iodef", [data], tmp_path, ".xml") == []
    assert b"<URL>" not in data.replace(b"iodef:", b"")
    [back] = IODEF.decode(data)
    assert back.items[0].url is None and back.items[0].hashes == case.items[0].hashes


def test_a_file_hash_list_with_a_value_that_is_no_digest_is_refused_naming_the_place(tmp_path: Path) -> None:
    data = campaign_with(b'type="file-hash"', [b"not-a-digest"])
    with pytest.raises(DecodeError, match="not an MD5, SHA-1 or SHA-256 digest") as info:
        IODEF.decode(data)
    assert info.value.path is not None and info.value.path.endswith("BulkObservable/BulkObservableList")


def test_a_document_naming_neither_url_nor_hash_is_refused_saying_what_was_looked_for() -> None:
    data = campaign_with(b'type="ext-value" ext-type="asn"', [b"AS64500"])
    with pytest.raises(DecodeError, match="file hash") as info:
        IODEF.decode(data)
    assert "URL" in info.value.message and "HashData" in info.value.message


FOREIGN = f"""<?xml version="1.0" encoding="UTF-8"?>
<IODEF-Document version="2.00" xml:lang="en" xmlns="{NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <Incident purpose="reporting" restriction="need-to-know" status="in-progress">
    <IncidentID name="Police Cyber Unit (test)">  PCU-2024-0042  </IncidentID>
    <AlternativeID><IncidentID name="hotline">HX-77</IncidentID></AlternativeID>
    <StartTime>2024-03-01T10:00:00+01:00</StartTime>
    <GenerationTime>2024-03-02T08:30:00Z</GenerationTime>
    <Description>
      Images found on a file host
      during an investigation.
    </Description>
    <Contact type="organization" role="creator"><ContactName>Police Cyber Unit</ContactName></Contact>
    <Contact type="person" role="reporter">
      <ContactName>  Ewa Testová </ContactName>
      <Email><EmailTo>ewa@mail.example.test</EmailTo></Email>
      <Telephone><TelephoneNumber>+33 1 99 00 00 00</TelephoneNumber></Telephone>
    </Contact>
    <EventData>
      <Flow><System category="source"><Node><Address category="site-uri">
        https://files.example.org/gallery/17
      </Address></Node></System></Flow>
    </EventData>
    <IndicatorData>
      <Indicator>
        <IndicatorID name="pcu" version="2">ind-1</IndicatorID>
        <Observable><FileData><File>
          <FileName>IMG_0042.jpg</FileName>
          <URL>https://files.example.org/gallery/17/IMG_0042.jpg</URL>
          <HashData scope="file-contents">
            <Hash><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/>
              <ds:DigestValue>9E107D9D372BB6826BD81D3542A419D6</ds:DigestValue></Hash>
            <Hash><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
              <ds:DigestValue>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ds:DigestValue></Hash>
            <Hash><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/>
              <ds:DigestValue>
                z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==
              </ds:DigestValue></Hash>
          </HashData>
        </File></FileData></Observable>
      </Indicator>
    </IndicatorData>
  </Incident>
</IODEF-Document>
""".encode()


def test_a_schema_valid_document_from_elsewhere_decodes_with_cautious_defaults(tmp_path: Path) -> None:
    assert judge("iodef", [FOREIGN], tmp_path, ".xml") == []
    [case] = IODEF.decode(FOREIGN)
    validate_case(case)
    assert case.originator == "Police-Cyber-Unit-test-"
    assert [i.url for i in case.items] == ["https://files.example.org/gallery/17",
                                           "https://files.example.org/gallery/17/IMG_0042.jpg"]
    photo = case.items[1]
    assert photo.file_name == "IMG_0042.jpg"
    assert [(h.algo.value, h.value) for h in photo.hashes] == [
        ("md5", "9e107d9d372bb6826bd81d3542a419d6"),  # hex where base64 belongs: read as hex
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ]  # sha512 has no canonical algorithm and is not carried
    assert case.tlp is Tlp.AMBER and case.category is Category.OTHER
    assert case.reporter == Reporter(ReporterKind.PERSON, name="Ewa Testová", email="ewa@mail.example.test",
                                     phone="+33 1 99 00 00 00")
    assert case.explanation == "Images found on a file host during an investigation."
    assert [(r.system, r.id) for r in case.external_refs] == [("hotline", "HX-77")]
    assert case.incident_at is not None and case.incident_at.isoformat() == "2024-03-01T09:00:00+00:00"
    again = IODEF.decode(FOREIGN)[0]
    assert (again.case_id, [i.item_id for i in again.items]) == (case.case_id, [i.item_id for i in case.items])


def test_a_reporter_from_elsewhere_that_the_model_cannot_hold_becomes_withheld() -> None:
    data = FOREIGN.replace(b"ewa@mail.example.test", b"Ewa at the unit, desk 4")
    [case] = IODEF.decode(data)
    assert case.reporter == Reporter(ReporterKind.WITHHELD)


def test_a_url_the_canonical_model_refuses_is_named_in_the_error() -> None:
    data = FOREIGN.replace(b"https://files.example.org/gallery/17\n", b"files.example.org/gallery/17\n")
    with pytest.raises(DecodeError, match=r"items\[0\]\.url") as info:
        IODEF.decode(data)
    assert info.value.path == "Incident[1]"


def test_a_time_that_is_not_a_date_time_is_named_with_its_element() -> None:
    with pytest.raises(DecodeError, match="not an xs:dateTime") as info:
        IODEF.decode(FOREIGN.replace(b"2024-03-02T08:30:00Z", b"yesterday"))
    assert info.value.path == "Incident[1]/GenerationTime"


def test_each_incident_with_content_becomes_a_case_and_empty_ones_are_passed_over() -> None:
    root = etree.fromstring(FOREIGN)
    incident = root.find(Q + "Incident")
    assert incident is not None
    second = copy.deepcopy(incident)
    id_el = second.find(Q + "IncidentID")
    assert id_el is not None
    id_el.text = "PCU-2024-0043"
    empty = copy.deepcopy(incident)
    for tag in ("EventData", "IndicatorData"):
        found = empty.find(Q + tag)
        assert found is not None
        empty.remove(found)
    root.extend([empty, second])
    cases = IODEF.decode(etree.tostring(root))
    assert len(cases) == 2 and cases[0].case_id != cases[1].case_id


@pytest.mark.parametrize(("tlp", "attributes"), [
    (Tlp.CLEAR, b'restriction="white"'), (Tlp.GREEN, b'restriction="green"'), (Tlp.AMBER, b'restriction="amber"'),
    (Tlp.AMBER_STRICT, b'restriction="ext-value" ext-restriction="amber+strict"'), (Tlp.RED, b'restriction="red"'),
])
def test_tlp_travels_as_the_rfc_7970_restriction_and_comes_back(tlp: Tlp, attributes: bytes) -> None:
    case = one_case()
    case.tlp = tlp
    data = IODEF.encode(case)
    assert attributes in data
    assert IODEF.decode(data)[0].tlp is tlp


@pytest.mark.parametrize(("attributes", "tlp"), [
    (b'restriction="public"', Tlp.CLEAR), (b'restriction="partner"', Tlp.GREEN),
    (b'restriction="need-to-know"', Tlp.AMBER), (b'restriction="private"', Tlp.RED),
    (b'restriction="default"', Tlp.AMBER), (b"", Tlp.RED),
    (b'restriction="ext-value" ext-restriction="TLP:AMBER+STRICT"', Tlp.AMBER_STRICT),
    (b'restriction="ext-value" ext-restriction="company-confidential"', Tlp.RED),
])
def test_rfc_7970_restriction_synonyms_read_as_tlp_and_the_unreadable_as_red(attributes: bytes, tlp: Tlp) -> None:
    """RFC 7970 3.3.1: white = public, green = partner, amber = need-to-know, red = private; absent means the
    schema default (private); what we cannot read must not widen sharing."""
    data = FOREIGN.replace(b'restriction="need-to-know"', attributes)
    assert IODEF.decode(data)[0].tlp is tlp


def test_our_hotline_is_the_creator_and_a_reporter_contact_appears_only_with_reporter_data() -> None:
    case = one_case(9)
    case.reporter = Reporter(ReporterKind.PERSON, name="Anna Zeugin", email="anna@mail.example.test")
    root = etree.fromstring(IODEF.encode(case))
    contacts = {c.get("role"): c for c in root.iter(Q + "Contact")}
    assert contacts["creator"].findtext(Q + "ContactName") == case.originator
    assert contacts["reporter"].findtext(Q + "ContactName") == "Anna Zeugin"
    for kind in (ReporterKind.ANONYMOUS, ReporterKind.WITHHELD):
        case.reporter = Reporter(kind)
        data = IODEF.encode(case)
        assert b'role="reporter"' not in data and b"Anna" not in data
        assert IODEF.decode(data)[0].reporter == Reporter(kind)


def test_content_travels_as_indicator_observables() -> None:
    case = one_case(11)
    root = etree.fromstring(IODEF.encode(case))
    files = root.findall(f"{Q}Incident/{Q}IndicatorData/{Q}Indicator/{Q}Observable/{Q}FileData/{Q}File")
    assert [f.findtext(Q + "URL") for f in files] == [i.url for i in case.items]


def test_a_url_that_is_not_an_xs_any_uri_is_refused_naming_the_field() -> None:
    """The canonical URL pattern takes a stray '%'; IODEF's URL element (xs:anyURI) does not."""
    case = one_case(12)
    case.items[0].url = "https://example.org/100%"
    with pytest.raises(EncodeError, match=r"items\[\]\.url"):
        IODEF.encode(case)
