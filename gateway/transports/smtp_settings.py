"""The ``smtp`` transport's settings (its own module: the abuse-contact lookup reads them too)."""

from __future__ import annotations

from typing import Literal

import msgspec

from hotline_gateway.transports.base import TransportSettings


class SmtpSettings(TransportSettings):
    #: the notices' From address
    from_address: str | None = msgspec.field(default=None, name="from")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    #: ``required``: STARTTLS must succeed (the default); ``implicit``: TLS from the first byte (port
    #: 465); ``opportunistic``: STARTTLS when the server offers it; ``none``: plain text (tests only)
    tls: Literal["required", "implicit", "opportunistic", "none"] = "required"
    #: CA file to verify the server's certificate (default: the system's trust store)
    tls_ca_file: str | None = None
    #: host name or ``.domain`` suffix or ``AS<number>`` → abuse mailbox; ``*`` for any other
    abuse_contacts: dict[str, str] = msgspec.field(default_factory=dict)
