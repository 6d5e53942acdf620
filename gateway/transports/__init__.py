"""Transports by name: how an encoded, signed message reaches a partner (separate from its format)."""

from __future__ import annotations

import aiohttp

from gateway.config import Config
from gateway.pipeline.sign import KeyRing
from gateway.pipeline.verify import PartnerKeys
from gateway.transports.base import Transport
from gateway.transports.https_post import HttpsPostTransport
from gateway.transports.native_http import NativeHttpTransport
from gateway.transports.smtp import SmtpTransport


def build(config: Config, session: aiohttp.ClientSession, keyring: KeyRing,
          partner_keys: PartnerKeys) -> dict[str, Transport]:
    """One instance of each transport the configured partners use."""
    kinds: dict[str, type[NativeHttpTransport] | type[HttpsPostTransport] | type[SmtpTransport]] = {
        "native-http": NativeHttpTransport, "https": HttpsPostTransport, "smtp": SmtpTransport,
    }
    used = {p.transport for p in config.partners.values()}
    return {name: cls(config, session, keyring, partner_keys) for name, cls in kinds.items() if name in used}
