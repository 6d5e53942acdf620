"""``xarf``: X-ARF v4 content reports, the notices a hosting provider's abuse desk processes by machine.

X-ARF is one report per abusive URL, so a case becomes one report per item, written as JSON Lines
(a one-item case is a plain JSON document). Only ``content/csam`` and ``content/csem`` exist for a
hotline's categories; any other case is refused with EncodeError rather than mislabelled.
See README.md for the field mapping and what is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import orjson

from hotline_gateway.adapters.xarf import decode, encode
from hotline_gateway.adapters.xarf.vocab import TYPES, Contact, default_contact
from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import Case

CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].industry_class", "items[].media_type",
    "items[].age_group", "items[].hashes[].algo", "items[].hashes[].value",
    "items[].hosting.ip", "items[].hosting.asn", "items[].hosting.country", "items[].hosting.organisation",
})


class XarfAdapter:
    name = "xarf"
    media_type = "application/json"
    #: the official X-ARF v4 master schema (outside this project) is the judge of what we write
    schema_path: Path | None = None
    carries = CARRIES

    def __init__(self, contacts: Mapping[str, Contact] | None = None) -> None:
        """``contacts``: the abuse-desk contact to name as reporter and sender, per originating hotline;
        without one a placeholder under ``.invalid`` keeps the report valid."""
        self._contacts = dict(contacts or {})

    def encode(self, case: Case) -> bytes:
        xarf_type = TYPES.get(case.category)
        if xarf_type is None:
            raise EncodeError(f"X-ARF v4 has no content type for category {case.category.value} "
                              "(it carries csam and csem)")
        contact = self._contacts.get(case.originator) or default_contact(case.originator)
        reports = [orjson.dumps(encode.report(case, item, xarf_type, contact)) for item in case.items]
        return b"\n".join(reports) + b"\n"

    def decode(self, data: bytes) -> list[Case]:
        return decode.cases(data)
