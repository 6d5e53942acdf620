"""URLs with control or bidirectional-override characters are refused at canonical validation, so they can
never reach a plain-text abuse e-mail: by the schema (both validators), the model's shared pattern, the
decoders, and POST /v1/cases (422 naming the path, nothing stored)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hotline_gateway.adapters import registry
from hotline_gateway.api.state import SERVICES
from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.model import URL_FORBIDDEN, load_case
from hotline_gateway.core.schema import case_validator
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import TOKEN

FORBIDDEN = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
#: neighbours and ordinary non-ASCII that must stay allowed (IRIs are allowed: é, Arabic, a ZWJ...)
ALLOWED = [0x21, 0x7E, 0xA1, 0xE9, 0x0627, 0x2027, 0x2030, 0x2065, 0x206A, 0x200D, 0x1F600]


def with_url(doc: dict[str, Any], url: str, *, field: str = "url") -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["items"][1][field] = url
    return out


@pytest.mark.parametrize("field", ["url", "referrer"])
def test_schema_refuses_every_control_and_bidi_character_and_names_the_path(
    case_doc: dict[str, Any], field: str
) -> None:
    validator = case_validator()
    for code in FORBIDDEN:
        url = f"https://files.example.org/a{chr(code)}b.jpg"
        problems = validator.problems(with_url(case_doc, url, field=field))
        assert [p.path for p in problems] == [f"$.items[1].{field}"], hex(code)
        assert "bidirectional" in problems[0].message
        assert URL_FORBIDDEN.search(url), hex(code)
    for code in ALLOWED:
        url = f"https://files.example.org/a{chr(code)}b.jpg"
        assert validator.problems(with_url(case_doc, url, field=field)) == [], hex(code)
        assert URL_FORBIDDEN.search(url) is None, hex(code)


def test_the_model_pattern_and_the_schema_agree_on_every_code_point_below_u_3000(case_doc: dict[str, Any]) -> None:
    """One source of truth, two spellings: the model's pattern refuses exactly what the schema refuses (the
    schema also refuses whitespace, which the model's pattern leaves to it)."""
    validator = case_validator()
    for code in range(0, 0x3000):
        char = chr(code)
        if char.isspace() or 0xD800 <= code <= 0xDFFF:
            continue
        refused = bool(validator.problems(with_url(case_doc, f"https://x.example.org/{char}")))
        assert refused == bool(URL_FORBIDDEN.search(char)), hex(code)


def test_decoders_refuse_such_urls_with_a_decode_error(case_doc: dict[str, Any]) -> None:
    """Every adapter that can carry the URL refuses it on the way in, naming where it was."""
    case = load_case(case_doc)
    for fmt in registry.names():
        adapter = registry.get(fmt)
        encoded = adapter.encode(case)
        for bad in ("\u202e", "\x1b", "\x85"):
            if "xml" in adapter.media_type and bad == "\x1b":
                continue  # XML 1.0 cannot hold ESC at all: the parser refuses the document (tests/hostile)
            tampered = encoded.replace(b"abc123.jpg", f"abc{bad}123.jpg".encode())
            assert tampered != encoded, fmt
            with pytest.raises(DecodeError) as info:
                adapter.decode(tampered)
            assert "url" in str(info.value).lower() or "character" in str(info.value), (fmt, str(info.value))


def test_xarf_names_the_character_and_the_field() -> None:
    sample = orjson.loads(Path(__file__).resolve().parents[2].joinpath(
        "shared/formats/xarf-v4/samples/content-csam.json").read_bytes())
    sample["url"] = "https://example.org/\u202egpj.exe"
    with pytest.raises(DecodeError) as info:
        registry.get("xarf").decode(orjson.dumps(sample))
    assert info.value.path == "$.url" and "U+202E" in info.value.message


async def test_post_cases_refuses_them_422_naming_the_path_and_stores_nothing(
    federation: dict[str, RunningGateway], case_doc: dict[str, Any]
) -> None:
    fr = federation["FR-PDC"]
    store = fr.app[SERVICES].store
    before = await store.count("cases")
    async with aiohttp.ClientSession() as s:
        for bad in ("\x00", "\x1b[31m", "\u202e", "\u2066"):
            doc = with_url(case_doc, f"https://files.example.org/{bad}x.jpg")
            async with s.post(f"{fr.url}/v1/cases", data=orjson.dumps(doc),
                              headers={"Authorization": f"Bearer {fr.config.intake_token or TOKEN}",
                                       "Content-Type": "application/json"}) as r:
                problem = orjson.loads(await r.read())
                assert r.status == 422, problem
                assert problem["code"] == "schema_violation"
                assert [e["path"] for e in problem["errors"]] == ["$.items[1].url"]
    assert await store.count("cases") == before
