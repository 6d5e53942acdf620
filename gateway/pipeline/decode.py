"""Decode: the sender's adapter turns payload bytes into canonical cases — after we refuse media bytes."""

from __future__ import annotations

from hotline_gateway.adapters import registry
from hotline_gateway.core.errors import ConfigError, DecodeError
from hotline_gateway.core.media import refuse_media
from hotline_gateway.core.model import Case


def decode_payload(fmt: str, payload: bytes) -> list[Case]:
    refuse_media(payload)
    try:
        adapter = registry.get(fmt)
    except ConfigError as exc:
        raise DecodeError(exc.message, path="$.format") from None
    return adapter.decode(payload)
