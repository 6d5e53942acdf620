"""``stix``: a STIX 2.1 bundle per case, for the threat-intelligence platforms partners run (MISP, OpenCTI).

See ``encode`` (case → bundle), ``decode`` (anyone's bundle → cases), ``ids`` (deterministic ids by
STIX's own rule), ``extension`` (perceptual hashes) and README.md for what is carried and dropped.
Reporter data is never written: STIX goes to sharing platforms, not to the police.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from hotline_gateway.adapters.stix import decode, encode
from hotline_gateway.core.model import Case

CARRIES = frozenset({
    "case_id", "originator", "received_at", "category", "tlp", "explanation",
    "items[].item_id", "items[].url", "items[].legal_class", "items[].file_name",
    "items[].industry_class", "items[].media_type", "items[].age_group", "items[].site_type",
    "items[].hashes[].algo", "items[].hashes[].value",
})


class StixAdapter:
    name = decode.FMT
    media_type = "application/stix+json;version=2.1"
    schema_path: Path | None = None  # the official STIX 2.1 schemas are the judge
    carries = CARRIES
    #: a retraction or correction is the case again with the change applied: retracted objects revoked, a
    #: new version of each changed object (a later ``modified``)
    states_lifecycle = True

    def encode(self, case: Case) -> bytes:
        return orjson.dumps(encode.bundle(case))

    def decode(self, data: bytes) -> list[Case]:
        return decode.cases(data)
