"""Who receives a host's notice: abuse-contact resolution, pluggable, a static table by default.

Real deployments look contacts up in RDAP/WHOIS or a national registry; that is I/O with its own
failure modes, so it sits behind a small protocol. The static table lives in the partner's
``options.abuse_contacts``: keys are a host name (``cdn.example.net``), a registrable suffix
(``.example.net``), an AS number (``AS64500``) or ``*``; the most specific match wins.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import PermanentDeliveryError
from hotline_gateway.core.model import Case
from hotline_gateway.transports.base import settings
from hotline_gateway.transports.smtp_settings import SmtpSettings


class AbuseContacts(Protocol):
    def resolve(self, partner: Partner, case: Case) -> str: ...


class StaticAbuseContacts:
    def resolve(self, partner: Partner, case: Case) -> str:
        table = settings(partner, SmtpSettings).abuse_contacts
        for item in case.items:
            host = (urlsplit(item.url).hostname or "").lower() if item.url else ""
            labels = host.split(".")
            candidates = [host] + ["." + ".".join(labels[i:]) for i in range(1, len(labels))]
            if item.hosting and item.hosting.asn is not None:
                candidates.append(f"AS{item.hosting.asn}")
            for key in candidates:
                if key in table:
                    return str(table[key])
        if "*" in table:
            return str(table["*"])
        raise PermanentDeliveryError(f"{partner.id}: no abuse contact for this case in options.abuse_contacts",
                                     code="no_abuse_contact")
