"""X-ARF v4 vocabulary and limits, beside the canonical values they stand for.

Kept apart from the mapping code so that a reader can check every value list against the official
per-type schemas (``content-csam.json``, ``content-csem.json``) in one place.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from hotline_gateway.core.model import AgeGroup, Category, ContentType, HashAlgo

VERSION = "4.2.0"

#: the only X-ARF content types a hotline's categories fit: phishing, malware, fraud, exposed_data,
#: brand_infringement, remote_compromise and suspicious_registration describe security abuse, and
#: X-ARF has no type for NCII, hate, terrorism, pimping or the other hotline categories.
TYPES = {Category.CSAM: "csam", Category.CSEM: "csem"}
CATEGORIES = {v: k for k, v in TYPES.items()}

#: csam ``media_type``; link, container and other have no X-ARF value (they travel as a tag)
MEDIA = {ContentType.IMAGE: "image", ContentType.VIDEO: "video", ContentType.TEXT: "text"}
#: csem ``victim_age_range``
AGE = {
    AgeGroup.INFANT: "infant",
    AgeGroup.PRE_PUBESCENT: "prepubescent",
    AgeGroup.PUBESCENT: "pubescent",
    AgeGroup.NOT_DETERMINED: "unknown",
}

#: algorithms with a field of their own in csam ``hash_values`` (and csem ``file_hash`` in the samples)
HASH_FIELDS = (HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.PHOTODNA)
#: algorithms whose values fit X-ARF's tag grammar (lower-case hex), so extra ones travel as tags
HEX_ALGOS = frozenset({HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.PDQ})
#: canonical value shape per algorithm (schemas/case.schema.json)
HASH_SHAPES = {
    HashAlgo.MD5: re.compile(r"[0-9a-f]{32}"),
    HashAlgo.SHA1: re.compile(r"[0-9a-f]{40}"),
    HashAlgo.SHA256: re.compile(r"[0-9a-f]{64}"),
    HashAlgo.PDQ: re.compile(r"[0-9a-f]{64}"),
    HashAlgo.PHOTODNA: re.compile(r"[A-Za-z0-9+/]{192}"),
}

MAX_TAGS = 20  # xarf-core.json
DOMAIN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")  # content-base.json ``domain``
TAG = re.compile(r"^[a-z0-9][a-z0-9_+-]*:[a-z0-9][a-z0-9_+-]*$")  # xarf-core.json ``tags``

#: namespace for ids made from others' report ids (see adapters.values.stable_uuid)
ID_NAMESPACE = uuid.UUID("2b0f6c3e-9d0a-4c55-8f7e-1e2d3c4b5a69")
#: a document larger than this is refused before parsing
MAX_DOCUMENT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Contact:
    """An X-ARF ``reporter``/``sender``: always the hotline itself, never the person who reported."""

    org: str
    contact: str
    domain: str

    def as_json(self) -> dict[str, str]:
        return {"org": self.org, "contact": self.contact, "domain": self.domain}


def default_contact(originator: str) -> Contact:
    """A syntactically valid placeholder under ``.invalid`` (RFC 6761) for a hotline whose real abuse-desk
    contact was not configured: the notice stays valid, and nobody's real address is guessed."""
    label = re.sub(r"[^a-z0-9]+", "-", originator.lower()).strip("-")[:63].strip("-") or "hotline"
    domain = f"{label}.hotline-gateway.invalid"
    return Contact(org=originator, contact=f"notices@{domain}", domain=domain)
