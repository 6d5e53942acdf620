"""Format adapters, found by name through the ``hotline_gateway.adapters`` entry-point group.

A third party adds a format by shipping a package that declares an entry point in that group; the
gateway never needs to import it by name. An adapter is pure and synchronous: bytes in, cases out
and back, no I/O.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from hotline_gateway.core.errors import ConfigError
from hotline_gateway.core.model import Case

GROUP = "hotline_gateway.adapters"


@runtime_checkable
class Adapter(Protocol):
    """What every format adapter provides."""

    name: str
    media_type: str
    #: the wire schema the adapter encodes to and checks on decode (None: the format has none of its own)
    schema_path: Path | None
    #: canonical field paths the format carries, e.g. ``"items[].url"``; everything else is dropped
    carries: frozenset[str]

    def decode(self, data: bytes) -> list[Case]:
        """Parse a document; raises ``DecodeError`` naming the place for any bad input."""
        ...

    def encode(self, case: Case) -> bytes:
        """Serialise one case; raises ``EncodeError`` when the format cannot carry it."""
        ...


@runtime_checkable
class MultiDocument(Protocol):
    """A format with no container for several reports (X-ARF): a case is several documents to the world, and
    one payload (the adapter's own container) in the outbox, which ``split`` turns back into the documents."""

    def encode_many(self, case: Case) -> list[bytes]:
        """The documents of one case, each valid on its own."""
        ...

    def split(self, payload: bytes) -> list[bytes]:
        """The documents held in a payload ``encode`` wrote."""
        ...


def documents(adapter: Adapter, case: Case) -> list[bytes]:
    """What the world sees of a case in this format: one document, or several for a multi-document format."""
    return adapter.encode_many(case) if isinstance(adapter, MultiDocument) else [adapter.encode(case)]


def split(adapter: Adapter, payload: bytes) -> list[bytes]:
    """The documents in an outbox payload: the payload itself, or its parts for a multi-document format."""
    return adapter.split(payload) if isinstance(adapter, MultiDocument) else [payload]


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    name: str
    media_type: str
    carries: frozenset[str]
    distribution: str


@functools.cache
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


@functools.cache
def get(name: str) -> Adapter:
    """The adapter registered under ``name``; ConfigError names the known ones when it is missing."""
    eps = _entry_points()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise ConfigError(f"unknown format {name!r} (known: {known})")
    factory = eps[name].load()  # type: ignore[attr-defined]
    adapter = factory()
    if not isinstance(adapter, Adapter):
        raise ConfigError(f"entry point {name!r} does not provide a format adapter")
    return adapter


def names() -> list[str]:
    return sorted(_entry_points())


def describe() -> list[AdapterInfo]:
    out = []
    for name in names():
        adapter = get(name)
        ep = _entry_points()[name]
        dist = getattr(getattr(ep, "dist", None), "name", "") or ""
        out.append(AdapterInfo(name, adapter.media_type, adapter.carries, dist))
    return out
