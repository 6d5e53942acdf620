"""Deterministic STIX identifiers, so that encoding a case again gives the very same objects.

Observables (SCOs) follow STIX 2.1's own rule (sections 2.9 and 6.x, "ID Contributing Properties"):
UUIDv5 in the namespace STIX reserves for it, over the JCS-canonical JSON (RFC 8785) of the type's
ID-contributing properties that are present; for ``hashes`` exactly one hash counts, the first of
MD5, SHA-1, SHA-256, SHA-512 the object has. Only objects built by that rule use the reserved
namespace. Our SDOs take their UUID from the case or item id; objects named by text alone (our
identity, a bundle) use a namespace of our own.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

#: STIX 2.1 section 2.9: reserved for SCO ids built by the ID-contributing-properties rule, and only for them
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
OUR_NAMESPACE = uuid.UUID("7d3e9a51-6c2b-4f1e-8a0d-5b4c3e2f1a09")
#: STIX's order of preference when one hash must stand for an object's id
ID_HASH_ORDER = ("MD5", "SHA-1", "SHA-256", "SHA-512")
#: ID-contributing properties of the SCO types we write (STIX 2.1 sections 6.7 and 6.14)
CONTRIBUTING = {"url": ("value",), "file": ("hashes", "name", "extensions", "parent_directory_ref")}


def canonical_json(value: Any) -> str:
    """RFC 8785 (JCS) for the values we put in ids: objects with string keys, strings, lists.

    orjson with sorted keys writes exactly JCS for these (no floats, no whitespace, UTF-8 kept, the
    same short escapes); keys are sorted by UTF-16 code units as JCS requires, which equals code point
    order for the keys we use (ASCII).
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def sco(kind: str, obj: dict[str, Any]) -> str:
    """An observable's id from its ID-contributing properties (those absent are left out)."""
    contributing: dict[str, Any] = {}
    for key in CONTRIBUTING[kind]:
        if key not in obj:
            continue
        value = obj[key]
        if key == "hashes":
            chosen = next((k for k in ID_HASH_ORDER if k in value), next(iter(value)))
            value = {chosen: value[chosen]}
        contributing[key] = value
    if not contributing:
        raise ValueError(f"a {kind} observable needs one of {CONTRIBUTING[kind]}")
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, canonical_json(contributing))}"


def sco_distinct(kind: str, obj: dict[str, Any]) -> str:
    """An observable STIX's rule would make one with another that differs (two files sharing their preferred
    hash, e.g. an MD5 collision, with different SHA-1s): named from every hash it has, so both are kept."""
    contributing = {key: obj[key] for key in CONTRIBUTING[kind] if key in obj}
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, 'all-hashes/' + canonical_json(contributing))}"


def sdo(kind: str, ours: uuid.UUID) -> str:
    """One of our objects (report, observed-data) named after the case or item it stands for; a case or item
    id that is not an RFC 4122 UUID of version 1-5 (as STIX identifiers must be) gets one derived from it."""
    if ours.variant == uuid.RFC_4122 and ours.version in (1, 2, 3, 4, 5):
        return f"{kind}--{ours}"
    return f"{kind}--{uuid.uuid5(OUR_NAMESPACE, f'{kind}/{ours}')}"


def named(kind: str, name: str) -> str:
    """An object named by text alone: a hotline's identity, a case's bundle, our extension definition."""
    return f"{kind}--{uuid.uuid5(OUR_NAMESPACE, f'{kind}/{name}')}"
