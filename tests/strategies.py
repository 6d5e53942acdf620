"""Hypothesis strategies for valid canonical cases.

They aim at the edges the schema allows rather than at realism (that is ``gateway.samples``' job):
every optional field present or absent, every enum value, free text in any script up to the
schema's length limits, timestamps with and without microseconds and in non-UTC offsets, IPv4 and
IPv6 hosting addresses, the extreme AS numbers. Lists stay short to keep examples fast; their upper
limits are a schema detail the validation tests check directly.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import msgspec
from hypothesis import strategies as st

from hotline_gateway.core.model import (
    Action,
    ActionType,
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    Commerciality,
    ContentType,
    CustodyEntry,
    CustodyEvent,
    ExternalRef,
    Flag,
    Gender,
    Hash,
    HashAlgo,
    Hosting,
    IndustryClass,
    Item,
    LegalClass,
    Priority,
    Reporter,
    ReporterKind,
    SiteType,
    SourceChannel,
    Tlp,
)

T = TypeVar("T")

# Any character UTF-8 can carry: surrogates cannot reach JSON, everything else may.
_CHAR = st.characters(codec="utf-8")


def text(min_size: int = 1, max_size: int = 256) -> st.SearchStrategy[str]:
    """Free text in any script, within a schema string's length limits (counted in code points)."""
    return st.text(_CHAR, min_size=min_size, max_size=max_size)


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """Absent (None, so omitted from canonical JSON) or present."""
    return st.none() | strategy


_OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])

#: aware datetimes, half of them on whole seconds (canonical form then has no fraction)
timestamps = st.one_of(
    st.datetimes(datetime(1970, 1, 2), datetime(2199, 12, 30), timezones=_OFFSETS),
    st.datetimes(datetime(1970, 1, 2), datetime(2199, 12, 30), timezones=_OFFSETS).map(
        lambda d: d.replace(microsecond=0)
    ),
)

uuids = st.uuids().map(lambda u: uuid.UUID(int=u.int))
country_codes = st.from_regex(r"[A-Z]{2}", fullmatch=True)
party_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", fullmatch=True)

_HOSTS = st.sampled_from(["example.org", "www.example.com", "files.example.test", "x.invalid", "[2001:db8::1]"])
# Non-whitespace URL characters, including percent escapes and non-ASCII letters (IRIs); whitespace
# is kept out because the schema's \s differs slightly between regex engines.
_URL_TAIL = st.text(st.characters(categories=["L", "N"]) | st.sampled_from(list("/?#&=%-._~+:@!$'()*,;")), max_size=120)
urls = st.builds(
    lambda scheme, host, tail: f"{scheme}://{host}/{tail}",
    st.sampled_from(["http", "https", "ftp"]),
    _HOSTS,
    _URL_TAIL,
)

_HASH_VALUE = {
    HashAlgo.MD5: st.binary(min_size=16, max_size=16).map(bytes.hex),
    HashAlgo.SHA1: st.binary(min_size=20, max_size=20).map(bytes.hex),
    HashAlgo.SHA256: st.binary(min_size=32, max_size=32).map(bytes.hex),
    HashAlgo.PDQ: st.binary(min_size=32, max_size=32).map(bytes.hex),
    HashAlgo.PHOTODNA: st.binary(min_size=144, max_size=144).map(lambda b: base64.b64encode(b).decode()),
}
assert set(_HASH_VALUE) == set(HashAlgo), "a new hash algorithm needs a value strategy"

hashes = st.sampled_from(HashAlgo).flatmap(lambda algo: st.builds(Hash, st.just(algo), _HASH_VALUE[algo]))

ips = st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(str)


@st.composite
def hostings(draw: st.DrawFn) -> Hosting:
    """Any subset of hosting fields, but never none of them (the schema wants at least one)."""
    hosting = Hosting(
        ip=draw(optional(ips)),
        asn=draw(optional(st.integers(0, 2**32 - 1))),
        organisation=draw(optional(text())),
        isp=draw(optional(text())),
        country=draw(optional(country_codes)),
        is_cdn=draw(optional(st.booleans())),
    )
    if all(getattr(hosting, name) is None for name in hosting.__struct_fields__):
        hosting.country = draw(country_codes)
    return hosting


actions = st.builds(
    Action,
    type=st.sampled_from(ActionType),
    at=timestamps,
    by=optional(text(max_size=128)),
    reason=optional(text(max_size=1000)),
)

items = st.builds(
    Item,
    item_id=uuids,
    url=urls,
    legal_class=st.sampled_from(LegalClass),
    is_source_url=optional(st.booleans()),
    referrer=optional(urls),
    media_type=optional(st.sampled_from(ContentType)),
    hashes=st.lists(hashes, max_size=3),
    file_name=optional(text(max_size=255)),
    hosting=optional(hostings()),
    assigned_country=optional(country_codes),
    site_type=optional(st.sampled_from(SiteType)),
    commerciality=optional(st.sampled_from(Commerciality)),
    payment_methods=st.lists(text(max_size=64), max_size=3, unique=True),
    industry_class=optional(st.sampled_from(IndustryClass)),
    age_group=optional(st.sampled_from(AgeGroup)),
    gender=optional(st.sampled_from(Gender)),
    flags=st.lists(st.sampled_from(Flag), max_size=5, unique=True),
    actions=st.lists(actions, max_size=2),
).flatmap(lambda item: st.sampled_from([item, msgspec.structs.replace(item, url=None)]) if item.hashes
          else st.just(item))  # content known only by its digests has no URL (an IODEF hash indicator)

emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    # dot-atom local part (RFC 5322): no leading, trailing or doubled dots
    st.from_regex(r"[a-z0-9+-]{1,10}(\.[a-z0-9_+-]{1,10}){0,2}", fullmatch=True),
    st.sampled_from(["example.org", "example.com", "mail.example.test", "x.invalid"]),
)
phones = st.from_regex(r"\+?[0-9 ()-]{3,32}", fullmatch=True)


@st.composite
def reporters(draw: st.DrawFn) -> Reporter:
    """A reporter of any kind, carrying exactly the fields its kind allows."""
    kind = draw(st.sampled_from(ReporterKind))
    match kind:
        case ReporterKind.PSEUDONYMOUS:
            return Reporter(kind, ref=draw(text(max_size=128)))
        case ReporterKind.ORGANISATION:
            return Reporter(kind, name=draw(text()), email=draw(optional(emails)))
        case ReporterKind.PERSON:
            return Reporter(kind, name=draw(text()), email=draw(optional(emails)), phone=draw(optional(phones)))
        case _:
            # anonymous, withheld, and any kind added later that carries nothing else
            return Reporter(kind)


external_refs = st.builds(ExternalRef, system=text(max_size=64), id=text(max_size=256))
custody_entries = st.builds(
    CustodyEntry,
    at=timestamps,
    by=party_ids,
    event=st.sampled_from(CustodyEvent),
    note=optional(text(max_size=1000)),
)

cases = st.builds(
    Case,
    case_id=uuids,
    received_at=timestamps,
    source_channel=st.sampled_from(SourceChannel),
    reporter=reporters(),
    originator=party_ids,
    category=st.sampled_from(Category),
    tlp=st.sampled_from(Tlp),
    priority=st.sampled_from(Priority),
    status=st.sampled_from(CaseStatus),
    items=st.lists(items, min_size=1, max_size=3),
    external_refs=st.lists(external_refs, max_size=2),
    incident_at=optional(timestamps),
    explanation=optional(text(max_size=4000)),
    custody=st.lists(custody_entries, max_size=2),
)


def _addressed(case: Case) -> Case:
    """The case with an invented address for each item known only by its hashes."""
    for item in case.items:
        if item.url is None:
            item.url = f"https://files.example.org/{item.item_id}"
    return case


#: cases every item of which has an address: what the formats that report addresses (X-ARF, DSA notices,
#: ICCAM, the CyberTipline) are routed (routing leaves hash-only items out for them: tests/engine)
addressed_cases = cases.map(_addressed)
