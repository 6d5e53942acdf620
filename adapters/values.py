"""Small value helpers the adapters share: others' identifiers and others' vocabulary, read safely."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, TypeVar

from hotline_gateway.core.errors import EncodeError
from hotline_gateway.core.model import Item

E = TypeVar("E", bound=StrEnum)


def address(item: Item, fmt: str) -> str:
    """The item's URL, for formats that report addresses; an item known only by its hashes is an
    ``EncodeError`` naming it (routing leaves such items out for these formats: see ``needs_url``)."""
    if item.url is None:
        raise EncodeError(f"{fmt} reports addresses: item {item.item_id} has only hashes")
    return item.url


def stable_uuid(text: str, originator: str, namespace: uuid.UUID) -> uuid.UUID:
    """Our own ids come back as they went out; anyone else's become name-based UUIDs, the same every time
    the same document is read (so a resend is recognised as the same case)."""
    try:
        value = uuid.UUID(text)
        if str(value) == text.lower():
            return value
    except ValueError:
        pass
    return uuid.uuid5(namespace, f"{originator}/{text}")


def enum_or(kind: type[E], value: Any, default: Any) -> Any:
    """``kind(value)`` when it is one of the enum's values, else ``default`` (a partner's unknown value, or a
    value of the wrong type: a list or an object where a word belongs)."""
    return kind(value) if isinstance(value, str) and value in {m.value for m in kind} else default
