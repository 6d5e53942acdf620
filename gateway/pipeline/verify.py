"""Verify: prove who sent a request, on the exact bytes received, before the body is parsed.

Order matters: the HTTP message signature (RFC 9421, our ``sig1`` label) over method, target URI,
content type and Content-Digest is checked first, then its freshness, then the digest against the
body, and only then is the nonce spent — so a request whose body was swapped in transit cannot burn
the nonce of the genuine one. The target URI is rebuilt from our configured public URL, never from the
client's ``Host`` header. Every failure raises a typed error; an unknown key never names a partner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import Replay
from hotline_gateway.crypto.digest import verify_content_digest
from hotline_gateway.crypto.httpsig import VerifiedSignature, verify_request
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.store.interface import Store


@dataclass(frozen=True, slots=True)
class Sender:
    partner: Partner
    signature: VerifiedSignature

    @property
    def nonce(self) -> tuple[str, str, int]:
        return self.signature.kid, self.signature.nonce or "", self.signature.created


class InboundVerifier:
    def __init__(self, config: Config, keys: PartnerKeys, store: Store) -> None:
        self.config = config
        self.keys = keys
        self.store = store
        #: where partners reach us; the bound port replaces a configured port 0 once known
        self.public_url = config.public_url.rstrip("/")

    def target_uri(self, path_qs: str) -> str:
        return self.public_url + path_qs

    async def verify(self, *, method: str, path_qs: str, headers: Mapping[str, str], body: bytes) -> Sender:
        sig = verify_request(method=method, target_uri=self.target_uri(path_qs), headers=headers,
                             resolve=self.keys.resolve, max_skew=self.config.clock_skew_s, require_nonce=True)
        verify_content_digest(headers.get("Content-Digest"), body)
        partner = self.config.partner(self.keys.partner_of(sig.kid))
        if not await self.store.spend_nonce(sig.kid, sig.nonce or "", sig.created):
            raise Replay("nonce already seen inside the replay window")
        return Sender(partner, sig)
