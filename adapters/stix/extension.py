"""Perceptual hashes (PDQ, PhotoDNA) on ``file`` (or ``url``) observables, the way STIX 2.1 provides for properties it
does not define: a property extension declared by an ``extension-definition`` object (section 7.3).

The ``hashes`` dictionary only takes names from STIX's hash vocabulary (or custom ones a strict consumer
refuses), and PDQ and PhotoDNA are in neither. An extension keyed by its definition's id is parsed by
any STIX 2.1 consumer (python-stix2 strictly, without ``allow_custom``), which keeps what it knows and
carries the rest. The definition itself (``DEFINITION``, and its creator ``PROJECT_IDENTITY``) is not put
in the bundles: the official STIX 2.1 bundle schema does not list ``extension-definition`` among the
objects a bundle may hold, so a bundle carrying one fails the OASIS schemas. It is published in the
adapter's README instead, and is valid STIX on its own.

The definition is created by the identity of the hotline-gateway project itself (not by the hotline
whose case it is), so it is one unchanging object, the same in every bundle.
"""

from __future__ import annotations

from typing import Any

from hotline_gateway.adapters.stix.ids import named
from hotline_gateway.core.model import HashAlgo

CREATED = "2026-01-01T00:00:00.000Z"
PROJECT_IDENTITY: dict[str, Any] = {
    "type": "identity", "spec_version": "2.1", "id": named("identity", "hotline-gateway project"),
    "created": CREATED, "modified": CREATED, "name": "hotline-gateway", "identity_class": "system",
    "description": "The open gateway internet hotlines use to exchange reports; author of the extension for "
                   "perceptual hashes on file observables.",
}
EXTENSION_ID = named("extension-definition", "perceptual-hashes/1.0")
DEFINITION: dict[str, Any] = {
    "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
    "created_by_ref": PROJECT_IDENTITY["id"], "created": CREATED, "modified": CREATED,
    "name": "hotline-gateway perceptual hashes",
    "description": "Perceptual hashes of a file's content, which match similar images rather than identical "
                   "files: PDQ (open, 256 bits) and PhotoDNA (proprietary, 144 bytes).",
    "schema": "Property extension of file, or of url for the content found at that URL. Properties: pdq (list "
              "of strings: PDQ hashes, 64 lower-case hexadecimal digits each); photodna (list of strings: "
              "PhotoDNA hashes, base64 of their 144 bytes, 192 characters each). At least one is present.",
    "version": "1.0.0",
    "extension_types": ["property-extension"],
}
#: property name in the extension per perceptual algorithm
PROPERTIES = {HashAlgo.PDQ: "pdq", HashAlgo.PHOTODNA: "photodna"}


def extension(values: dict[HashAlgo, list[str]]) -> dict[str, Any]:
    """The ``extensions`` entry of a file carrying these perceptual hashes."""
    body: dict[str, Any] = {"extension_type": "property-extension"}
    for algo, prop in PROPERTIES.items():
        if values.get(algo):
            body[prop] = list(values[algo])
    return {EXTENSION_ID: body}
