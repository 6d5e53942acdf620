"""``xarf``: X-ARF v4 content reports, the notices a hosting provider's abuse desk processes by machine.

X-ARF is one report per abusive URL and has no container for several: every X-ARF document is one
report, and the official schema (like every abuse-desk parser) refuses a file holding two. So:

- ``encode_many(case)``: the X-ARF documents of a case, one per item, each valid on its own; this is
  what anything shown to the world is made of (``translate`` writes one file each, the ``smtp``
  transport attaches each with its own detached JWS);
- ``encode(case)``: the one payload the outbox stores per delivery. For a one-item case that is the
  X-ARF report itself; for several, a JSON array of the reports: our container, not an X-ARF document,
  which ``split`` turns back into the exact documents ``encode_many`` gave.

Only ``content/csam`` and ``content/csem`` exist for a hotline's categories; any other case is refused
with EncodeError rather than mislabelled. See README.md for the field mapping and what is dropped.
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
    #: X-ARF reports addresses: routing leaves out items known only by their hashes
    needs_url = True

    def __init__(self, contacts: Mapping[str, Contact] | None = None) -> None:
        """``contacts``: the abuse-desk contact to name as reporter and sender, per originating hotline;
        without one a placeholder under ``.invalid`` keeps the report valid."""
        self._contacts = dict(contacts or {})

    def encode_many(self, case: Case) -> list[bytes]:
        """One X-ARF document per item, in the order of the items."""
        xarf_type = TYPES.get(case.category)
        if xarf_type is None:
            raise EncodeError(f"X-ARF v4 has no content type for category {case.category.value} "
                              "(it carries csam and csem)")
        contact = self._contacts.get(case.originator) or default_contact(case.originator)
        return [orjson.dumps(encode.report(case, item, xarf_type, contact)) for item in case.items]

    def encode(self, case: Case) -> bytes:
        """The outbox payload: the report of a one-item case, else a JSON array of the reports (our container)."""
        reports = self.encode_many(case)
        return reports[0] if len(reports) == 1 else b"[" + b",".join(reports) + b"]"

    def split(self, payload: bytes) -> list[bytes]:
        """The X-ARF documents in an outbox payload, byte for byte as ``encode_many`` wrote them."""
        return [orjson.dumps(doc) for _, doc in decode.documents(payload)]

    def decode(self, data: bytes) -> list[Case]:
        return decode.cases(data)
