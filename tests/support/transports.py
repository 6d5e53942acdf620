"""A transport's context for tests that drive one transport directly, without a running gateway."""

from __future__ import annotations

from typing import Any

import aiohttp

from hotline_gateway.config import Config
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.store.interface import Store
from hotline_gateway.transports.base import TransportContext
from hotline_gateway.transports.registry import with_settings


def context(config: Config, session: aiohttp.ClientSession | None = None, *, store: Store | None = None,
            keyring: KeyRing | None = None, partner_keys: PartnerKeys | None = None) -> TransportContext:
    """Fields a transport under test does not use stay unset (None), so a use of them fails loudly."""
    missing: Any = None
    return TransportContext(config=with_settings(config), session=session if session is not None else missing,
                            keyring=keyring if keyring is not None else missing,
                            partner_keys=partner_keys if partner_keys is not None else missing,
                            store=store if store is not None else missing)
