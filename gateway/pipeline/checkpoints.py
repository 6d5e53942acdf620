"""Signed checkpoints of the audit chain, and what partners witness of them.

The audit chain is a hash chain, so anyone who can write the database can rewrite an entry and
recompute every hash after it. A checkpoint pins the chain: our signature over ``{gateway, seq, head,
at}``, taken periodically and on shutdown. Without our key nobody can make a checkpoint agree with a
rewritten chain. Each outbound message carries our latest checkpoint (the ``Hotline-Checkpoint``
header, covered by the request signature) and partners keep what they receive: a chain truncated or
rewritten later, even with our key, no longer agrees with what they witnessed.

Of several nodes of one gateway, the leading one signs (``leading``); the others read the latest
checkpoint from the store each interval, so every node's outbound messages carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotline_gateway.config import Config
from hotline_gateway.core.errors import GatewayError, MalformedSignature
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.timefmt import now_iso
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.crypto.statements import sign_statement, verify_statement
from hotline_gateway.store.interface import Store

log = get_logger("hotline_gateway.checkpoints")
HEADER = "Hotline-Checkpoint"  # the same header the push transports send
KIND = "audit.checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    gateway: str
    seq: int
    head: str
    at: str
    jws: str


def checkpoint_claims(claims: dict[str, Any]) -> tuple[str, int, str, str]:
    """The fields of a checkpoint statement, type-checked (it comes from outside when witnessed)."""
    gateway, seq, head, at = (claims.get(k) for k in ("gateway", "seq", "head", "at"))
    if claims.get("kind") != KIND or not isinstance(gateway, str) or not isinstance(seq, int) \
            or isinstance(seq, bool) or seq < 0 or not isinstance(head, str) or len(head) != 64 \
            or not isinstance(at, str):
        raise MalformedSignature("not an audit checkpoint statement", code="malformed_checkpoint")
    return gateway, seq, head, at


class Checkpointer:
    """Signs the chain head when it moved (every ``interval_s``, and on ``close``) on the leading node,
    and keeps the latest checkpoint at hand for outbound messages on every node."""

    def __init__(self, config: Config, store: Store, keyring: KeyRing, interval_s: float = 60.0,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.config, self.store, self.keyring, self.interval_s = config, store, keyring, interval_s
        self.leading = leading
        self.latest: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.latest = await self.store.latest_checkpoint()
        if self.leading():
            await self.sign_now()
        self._task = asyncio.create_task(self._loop(), name="checkpoints")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.leading():
            await self.sign_now()

    async def sign_now(self) -> Checkpoint | None:
        """A checkpoint of the current head, unless the latest one already names it."""
        seq, head = await self.store.audit_head()
        if seq == 0:
            return None
        if self.latest is not None:
            with contextlib.suppress(GatewayError):
                _, last_seq, last_head, _ = checkpoint_claims(verify_statement(self.latest, self.keyring.keys))
                if (last_seq, last_head) == (seq, head):
                    return None
        at = now_iso()
        jws = sign_statement({"kind": KIND, "gateway": self.config.id, "seq": seq, "head": head, "at": at},
                             self.keyring.signing_key)
        await self.store.add_checkpoint(seq, head, at, jws)
        self.latest = jws
        log.info("audit.checkpoint", seq=seq)
        return Checkpoint(self.config.id, seq, head, at, jws)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                if self.leading():
                    await self.sign_now()
                else:
                    self.latest = await self.store.latest_checkpoint() or self.latest
            except Exception:
                log.exception("checkpoint.failed")


async def witness(store: Store, partner_keys: PartnerKeys, partner: str, jws: str) -> None:
    """Keep a partner's checkpoint that arrived with its message, once its signature verifies; a
    checkpoint that does not verify, or names someone else, is not kept (and refuses nothing)."""
    try:
        gateway, seq, head, at = checkpoint_claims(verify_statement(jws, partner_keys.directory(partner)))
    except GatewayError as exc:
        log.warning("checkpoint.not_witnessed", partner=partner, error=exc.code)
        return
    if gateway != partner:
        log.warning("checkpoint.not_witnessed", partner=partner, error="names another gateway")
        return
    await store.add_witnessed(partner, seq, head, at, jws)
