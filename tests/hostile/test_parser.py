"""The hardened XML reader and both XML adapters against the hostile corpus, in every encoding.

Each document is refused with a DecodeError, within a second, with the secret never shown, the same
answer whether the file it names exists or not, no connection to the listener, and the FIFO and
/dev/zero never opened (the call would never return). Everything runs twice: with the byte-level
shortcut and with the parser alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from lxml import etree

from hotline_gateway.adapters.cybertip import CybertipAdapter
from hotline_gateway.adapters.iodef import IodefAdapter
from hotline_gateway.core import xmlsafe
from hotline_gateway.core.errors import DecodeError
from tests.hostile.corpus import ENCODINGS, LIMIT_S, MARKER, Witnesses, attacks, bounded, documents

TARGETS: dict[str, Callable[[bytes], object]] = {
    "xmlsafe": lambda data: xmlsafe.parse(data, fmt="test"),
    "iodef": IodefAdapter().decode,
    "cybertip": CybertipAdapter().decode,
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_attack_in_every_encoding_is_refused_with_nothing_read_and_no_oracle(
    target: str, early_refusal: str, witnesses: Witnesses, capsys: pytest.CaptureFixture[str],
) -> None:
    decode = TARGETS[target]
    slowest = ("", 0.0)
    present = dict(documents(witnesses.secret, witnesses))
    absent = dict(documents(witnesses.absent, witnesses))
    assert len(present) == len(attacks(witnesses.secret, witnesses)) * len(ENCODINGS)
    for label, data in present.items():
        answers = []
        for doc in (data, absent[label]):
            elapsed, error, result = bounded(lambda doc=doc: decode(doc), LIMIT_S)  # type: ignore[misc]
            if target == "xmlsafe" and label.startswith("xinclude/") and error is None:
                # well-formed and inert: the reader returns it with the includes unprocessed (libxml2 does
                # not read UTF-32 with a byte order mark at all: that one is refused)
                assert isinstance(result, etree._Element) and len(result) == 2, label
                assert MARKER not in etree.tostring(result, encoding="unicode")
                answers.append("inert")
                continue
            assert isinstance(error, DecodeError), f"{label}: {error!r}"
            assert MARKER not in str(error), label
            answers.append(str(error))
            slowest = max(slowest, (label, elapsed), key=lambda x: x[1])
        assert answers[0] == answers[1], f"{label}: the answer depends on whether the file exists"
    time.sleep(0.1)
    assert witnesses.hits == [], "the parser connected to the network"
    with capsys.disabled():
        print(f"\n{target} ({early_refusal}): {len(present)} documents refused twice each; "
              f"slowest {slowest[0]} {slowest[1] * 1000:.1f} ms")


def test_the_parser_alone_never_asks_for_anything_outside_the_document(witnesses: Witnesses) -> None:
    """Were a declaration to reach libxml2, its requests for external subsets and entities all end in our
    resolver, which answers with nothing: the document is refused for having asked."""
    data = (f'<!DOCTYPE r SYSTEM "{witnesses.secret.as_uri()}" [<!ENTITY % p SYSTEM "{witnesses.fifo.as_uri()}">'
            f' %p;]><r/>').encode()
    _, error, _ = bounded(lambda: xmlsafe.parse(data, fmt="test", early_refusal=False), LIMIT_S)
    assert isinstance(error, DecodeError)
    assert error.message.endswith(xmlsafe.DOCTYPE_REFUSED)


def test_a_document_type_is_refused_before_the_body_is_read() -> None:
    """The check on the first start tag stops parsing: a malformed body after it is never reached."""
    data = b"<!DOCTYPE r><r>" + b"<ok/>" * 100 + b"</broken>"
    with pytest.raises(DecodeError) as info:
        xmlsafe.parse(data, fmt="test", early_refusal=False)
    assert info.value.path == "prolog"


def test_xinclude_in_a_good_document_is_inert(witnesses: Witnesses) -> None:
    """XInclude is never run: an IODEF document carrying one decodes, and the secret never appears."""
    from hotline_gateway.sim.samples import generate_cases

    case = next(generate_cases(1, seed=3))
    iodef = IodefAdapter()
    data = iodef.encode(case).replace(
        b"<GenerationTime>",
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="' + witnesses.secret.as_uri().encode()
        + b'" parse="text"/><GenerationTime>', 1)
    assert b"xi:include" in data
    assert all(MARKER not in repr(c) for c in iodef.decode(data))


def test_our_own_schema_is_compiled_through_the_refusing_resolver(tmp_path: object) -> None:
    """A schema that imports anything from outside fails to compile instead of fetching it."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "other.xsd").write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
                                      '<xs:element name="x"/></xs:schema>')
    main = folder / "main.xsd"
    main.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="other.xsd"/>'
                    '<xs:element name="y"><xs:complexType><xs:sequence><xs:element ref="x"/></xs:sequence>'
                    "</xs:complexType></xs:element></xs:schema>")
    with pytest.raises(etree.XMLSchemaParseError):
        xmlsafe.trusted_schema(main)
