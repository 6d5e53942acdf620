"""A host's abuse mailbox: a real SMTP server (aiosmtpd) on loopback that keeps what it accepts.

Failure modes for tests and the demo: ``defer_next(n)`` answers DATA with 451 (a transient refusal),
``unknown`` holds addresses answered with 550 at RCPT (permanent), and stopping the server makes
the connection fail, as an outage does.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class MailServer:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    _defer: int = 0
    _server: asyncio.base_events.Server | None = None

    def defer_next(self, count: int) -> None:
        self._defer += count

    async def start(self) -> MailServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="abuse.host.test"), self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[Any]) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._defer:
            self._defer -= 1
            return "451 4.3.0 mailbox busy, try again later"
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return f"250 2.0.0 queued as {len(self.received):06d}"
