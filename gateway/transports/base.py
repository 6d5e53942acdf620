"""What a transport is: it carries already-encoded, already-signed outbox rows to one partner.

Formats and transports are separate: any format can travel over any transport that fits. A transport
returns, per delivery, either the partner's verified receipt or the error for that delivery, and
raises ``TransientDeliveryError`` / ``PermanentDeliveryError`` when the whole batch failed.

Transports are plug-ins, found like adapters through entry points (group
``hotline_gateway.transports``): each names itself, declares its typed settings (the partner's
``options`` table, checked when the configuration is loaded: an unknown key or a wrong type is an
error naming the file, the partner and the key) and builds itself from a ``TransportContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import aiohttp
import msgspec

from hotline_gateway.adapters import registry
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import ConfigError, DeliveryError
from hotline_gateway.core.lifecycle import NOTICE_FORMAT, NOTICE_MEDIA_TYPE
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Delivery


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    receipt: str | None = None
    error: DeliveryError | None = None
    duplicate: bool = False


class Transport(Protocol):
    name: str
    #: how many deliveries one call may carry
    max_batch: int

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]: ...


class TransportSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A partner's ``options`` for its transport; each transport extends this with its own fields."""


class HttpSettings(TransportSettings):
    #: an ``http://`` endpoint is refused unless this is set, and then only on a loopback address
    #: (tests and the demo); everything else travels over TLS
    allow_insecure_http: bool = False
    #: the largest request body the partner takes (a gateway's ``max_body_bytes``, 1 MiB by default):
    #: batches are cut to fit
    max_body_bytes: int = 1024 * 1024


class PasswordSettings(HttpSettings):
    username: str = ""
    password: str | None = None
    #: a file beside the config holding the password (kept out of the config file itself)
    password_file: str | None = None

    def secret(self, partner: Partner) -> str:
        """The password, read from ``password_file`` when that is how it is given."""
        if self.password is not None or self.password_file is None:
            return self.password or ""
        path = resolve(partner, self.password_file)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{partner.id}: cannot read password_file {path}: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class TransportContext:
    """What a transport may use: configuration, the HTTP client session, keys, the store, and our
    latest signed audit checkpoint (carried with outbound messages for partners to witness)."""

    config: Config
    session: aiohttp.ClientSession
    keyring: KeyRing
    partner_keys: PartnerKeys
    store: Store
    checkpoint: Callable[[], str | None] = lambda: None


@dataclass(frozen=True, slots=True)
class TransportPlugin:
    name: str
    settings: type[TransportSettings]
    #: builds the transport; None for pull transports (the partner fetches, e.g. TAXII)
    factory: Callable[[TransportContext], Transport] | None
    needs_endpoint: bool = True
    #: receipts are verified with the partner's published keys
    needs_keys: bool = False
    #: schemes this transport's endpoint may use
    schemes: tuple[str, ...] = ("https",)


S = TypeVar("S", bound=TransportSettings)


def settings(partner: Partner, kind: type[S]) -> S:
    """The partner's typed settings (checked when the gateway loaded its configuration); a partner
    built without that step (a test, a tool) has its ``options`` converted here, as strictly."""
    found = partner.settings
    if isinstance(found, kind):
        return found
    try:
        return msgspec.convert(dict(partner.options), kind, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{partner.id}: options: {exc}") from None


def resolve(partner: Partner, value: str) -> Path:
    """A path from a partner's options, relative to the config file's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else partner.base / path


def media_type(fmt: str) -> str:
    """The media type of a payload in ``fmt``: an adapter's, or a lifecycle notice's."""
    return NOTICE_MEDIA_TYPE if fmt == NOTICE_FORMAT else registry.get(fmt).media_type
