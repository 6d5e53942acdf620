"""Decode: the sender's adapter turns payload bytes into canonical cases — after we refuse media bytes."""

from __future__ import annotations

from typing import Any

from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import ConfigError, DecodeError
from hotline_gateway.core.media import refuse_media
from hotline_gateway.core.model import Case
from hotline_gateway.core.schema import validate_case


def decode_payload(fmt: str, payload: bytes) -> list[Case]:
    refuse_media(payload)
    try:
        adapter = registry.get(fmt)
    except ConfigError as exc:
        raise DecodeError(exc.message, path="$.format") from None
    return adapter.decode(payload)


def decode_validated(fmt: str, payload: bytes, *, where: str = "$") -> list[tuple[Case, dict[str, Any]]]:
    """Decode and validate once: each case with its canonical document. An adapter that reads canonical
    documents (``decode_documents``) has validated them already; any other adapter's cases are
    serialised and checked against the canonical schema here."""
    refuse_media(payload)
    try:
        adapter = registry.get(fmt)
    except ConfigError as exc:
        raise DecodeError(exc.message, path="$.format") from None
    documents = getattr(adapter, "decode_documents", None)
    if documents is not None:
        found: list[tuple[Case, dict[str, Any]]] = documents(payload)
        return found
    return [(case, validate_case(case, source=f"{where} case {n + 1}"))
            for n, case in enumerate(adapter.decode(payload))]
