"""TLP marking definitions: TLP 2.0 as OASIS publishes them, TLP 1.0 as STIX 2.1 predefines them.

Ids, names and the creation time are part of the published objects: a platform recognises a marking
by its id, so these are copied from the published definitions (cti-stix-common-objects, tlp-2.0
extension; STIX 2.1 section 7.2.1.4), never generated.
"""

from __future__ import annotations

from typing import Any

from hotline_gateway.core.model import Tlp

EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
CREATED = "2022-10-01T00:00:00.000Z"
IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
#: TLP 1.0 markings predefined by STIX 2.1 itself, still common in older feeds (WHITE is CLEAR's old name)
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
BY_ID = {**{v: k for k, v in IDS.items()}, **TLP1_IDS}
_NAMES = {"white": Tlp.CLEAR, **{t.value: t for t in Tlp}}


def marking(tlp: Tlp) -> dict[str, Any]:
    """The published TLP 2.0 marking-definition object for ``tlp``."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": IDS[tlp],
        "created": CREATED,
        "name": f"TLP:{tlp.value.upper()}",
        "extensions": {EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value}},
    }


def tlp_of(ref: str, objects: dict[str, dict[str, Any]]) -> Tlp | None:
    """The TLP a marking reference stands for: a well-known id, or a TLP marking object in the bundle."""
    if ref in BY_ID:
        return BY_ID[ref]
    obj = objects.get(ref, {})
    ext = obj.get("extensions")
    value = ext.get(EXTENSION, {}).get("tlp_2_0") if isinstance(ext, dict) and isinstance(ext.get(EXTENSION), dict) \
        else None
    if value is None and obj.get("definition_type") == "tlp" and isinstance(obj.get("definition"), dict):
        value = obj["definition"].get("tlp")
    return _NAMES.get(value) if isinstance(value, str) else None


def strictest(refs: Any, objects: dict[str, dict[str, Any]]) -> Tlp | None:
    """The most restrictive TLP among an object's ``object_marking_refs`` (None when it has none)."""
    found = [t for r in refs if isinstance(r, str) and (t := tlp_of(r, objects))] if isinstance(refs, list) else []
    return max(found, key=lambda t: t.rank) if found else None
