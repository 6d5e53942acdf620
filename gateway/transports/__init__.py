"""Transports by name: how an encoded, signed message reaches a partner (separate from its format)."""

from __future__ import annotations

import aiohttp

from hotline_gateway.config import Config
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.store.interface import Store
from hotline_gateway.transports.base import Transport
from hotline_gateway.transports.cybertip_api import CybertipApiTransport
from hotline_gateway.transports.https_post import HttpsPostTransport
from hotline_gateway.transports.iccam_api import IccamApiTransport
from hotline_gateway.transports.native_http import NativeHttpTransport
from hotline_gateway.transports.smtp import SmtpTransport


def build(config: Config, session: aiohttp.ClientSession, keyring: KeyRing, partner_keys: PartnerKeys,
          store: Store) -> dict[str, Transport]:
    """One instance of each transport the configured partners use."""
    kinds: dict[str, type[NativeHttpTransport] | type[HttpsPostTransport] | type[SmtpTransport]] = {
        "native-http": NativeHttpTransport, "https": HttpsPostTransport, "smtp": SmtpTransport,
    }
    used = {p.transport for p in config.partners.values()}
    out: dict[str, Transport] = {name: cls(config, session, keyring, partner_keys)
                                 for name, cls in kinds.items() if name in used}
    if "cybertip-api" in used:
        out["cybertip-api"] = CybertipApiTransport(config, session, store)
    if "iccam-api" in used:
        out["iccam-api"] = IccamApiTransport(config, session)
    return out
