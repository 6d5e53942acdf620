"""``smtp``: a takedown notice e-mailed to the host's abuse contact.

The mail has a readable text part for the abuse desk and the encoded reports as attachments, each
followed by the detached JWS of exactly its bytes, so the host can check who sent it and that nothing
changed. X-ARF has one report per document, so a notice about several addresses carries one X-ARF
attachment (and one signature) per address: the outbox's payload is split back into those documents
(``registry.split``), and each is signed with our current key (a payload that is a single document
keeps the signature the sign stage made). SMTP has no idempotency: the Message-ID is derived from our message id, so a
resend after an uncertain transfer is recognisable as the same notice. A refused connection or a
4xx reply is transient (the outbox retries); a 5xx reply is permanent (dead letter with the reply).
The text never carries reporter data; the attachment is whatever the adapter encoded for a host.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import orjson

from hotline_gateway.adapters import registry
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.model import Case
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.crypto.jws import sign_detached as sign_payload
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.abuse_contacts import AbuseContacts, StaticAbuseContacts
from hotline_gateway.transports.base import Outcome, TransportContext, TransportPlugin, resolve, settings
from hotline_gateway.transports.smtp_lifecycle import lifecycle_message
from hotline_gateway.transports.smtp_settings import SmtpSettings

EXTENSIONS = {"xarf": "xarf.json", "native": "case.json", "dsa-notice": "dsa-notice.json", "stix": "stix.json",
              "iodef": "iodef.xml"}


def notice_text(config: Config, case: Case, message_id: str, documents: int = 1) -> str:
    lines = [
        "Hello,",
        "",
        f"{config.id}, an internet hotline, has assessed the content at the addresses below as illegal "
        f"({case.category.value}). It is hosted on your network. Please remove it and preserve any "
        "related data for law enforcement.",
        "",
    ]
    lines += [f"  - {item.url}" for item in case.items if item.url]
    lines += [
        "",
        ("The attached report is machine-readable; the .jws file is our detached signature over its exact "
         "bytes (JWS, EdDSA), verifiable with our published keys." if documents == 1 else
         f"The {documents} attached reports are machine-readable, one per address; each .jws file is our "
         "detached signature over the exact bytes of the report of the same name (JWS, EdDSA), verifiable "
         "with our published keys."),
        f"Reference: {message_id}",
        "",
        "Do not visit these addresses without the legal authority to do so.",
    ]
    return "\n".join(lines) + "\n"


def attachments(d: Delivery, keyring: KeyRing) -> list[tuple[str, bytes, str]]:
    """(file name, document, detached JWS) for each document the delivery's payload holds."""
    adapter = registry.get(d.format)
    name = EXTENSIONS.get(d.format, f"{d.format}.bin")
    docs = registry.split(adapter, d.payload)
    if docs == [d.payload]:
        return [(name, d.payload, d.signature)]
    key = keyring.signing_key
    return [(f"report-{n}.{name}", doc, sign_payload(doc, key)) for n, doc in enumerate(docs, start=1)]


def build_message(config: Config, partner: Partner, d: Delivery, case: Case, to: str,
                  parts: list[tuple[str, bytes, str]]) -> EmailMessage:
    sender = settings(partner, SmtpSettings).from_address or f"notices@{config.id.lower()}.invalid"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"[{config.id}] Notice of illegal content ({case.category.value}) ref {d.message_id}"
    msg["Date"] = formatdate(d.created_at, usegmt=True)
    msg["Message-ID"] = f"<{d.message_id}@{config.id.lower()}.hotline-gateway.invalid>"
    msg["X-ARF"] = "yes" if d.format == "xarf" else "no"
    msg.set_content(notice_text(config, case, d.message_id, len(parts)))
    maintype, _, subtype = registry.get(d.format).media_type.partition("/")
    for name, doc, signature in parts:
        msg.add_attachment(doc, maintype=maintype, subtype=subtype.split(";")[0], filename=name)
        msg.add_attachment(signature.encode("ascii"), maintype="application", subtype="jose", filename=f"{name}.jws")
    return msg


def _refusal(partner: Partner, code: int, message: str) -> PermanentDeliveryError | TransientDeliveryError:
    """RFC 5321: 4yz is a transient failure worth retrying, 5yz a permanent one."""
    detail = f"{partner.id} SMTP {code} {message}"
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, code="smtp_refused")
    return TransientDeliveryError(detail)


class SmtpTransport:
    name = "smtp"
    max_batch = 10

    def __init__(self, ctx: TransportContext, contacts: AbuseContacts | None = None) -> None:
        self.config = ctx.config
        self.keyring = ctx.keyring
        self.store = ctx.store
        self.contacts = contacts or StaticAbuseContacts()

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        return [await self._one(partner, d) for d in deliveries]

    async def _lifecycle(self, partner: Partner, d: Delivery) -> EmailMessage:
        """A withdrawal or correction, to where the original notices went, naming what they were about."""
        notice = orjson.loads(d.payload)
        originals = [o for o in await self.store.case_deliveries(d.case_id)
                     if o.partner == partner.id and o.notice_id is None and o.receipt]
        sent_to = sorted({str(orjson.loads(o.receipt or "{}").get("to")) for o in originals} - {"None"})
        if not sent_to:
            raise PermanentDeliveryError(f"{partner.id}: no notice about case {d.case_id} was e-mailed, so there is "
                                         "nobody to tell", code="nothing_to_withdraw")
        urls: dict[str, str] = {}
        for o in originals:
            for case in registry.get(o.format).decode(o.payload):
                urls.update({str(i.item_id): i.url for i in case.items if i.url})
        return lifecycle_message(self.config, partner, d, notice, ", ".join(sent_to), urls)

    async def _one(self, partner: Partner, d: Delivery) -> Outcome:
        if d.notice_id is not None:
            try:
                msg = await self._lifecycle(partner, d)
            except PermanentDeliveryError as exc:
                return Outcome(d, error=exc)
            to = str(msg["To"])
        else:
            [case] = registry.get(d.format).decode(d.payload)[:1]
            try:
                to = self.contacts.resolve(partner, case)
            except PermanentDeliveryError as exc:
                return Outcome(d, error=exc)
            msg = build_message(self.config, partner, d, case, to, attachments(d, self.keyring))
        opts = settings(partner, SmtpSettings)
        tls = ssl.create_default_context(cafile=str(resolve(partner, opts.tls_ca_file)) if opts.tls_ca_file else None)
        try:
            refused, reply = await aiosmtplib.send(
                msg, hostname=opts.smtp_host, port=opts.smtp_port, timeout=self.config.delivery.timeout_s,
                use_tls=opts.tls == "implicit",
                start_tls={"required": True, "opportunistic": None}.get(opts.tls, False),
                tls_context=tls,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return Outcome(d, error=_refusal(partner, min(codes), "; ".join(r.message for r in exc.recipients)))
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome(d, error=_refusal(partner, exc.code, exc.message))
        except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
            raise TransientDeliveryError(f"{partner.id} SMTP unreachable: {type(exc).__name__}: {exc}") from None
        if refused:
            return Outcome(d, error=PermanentDeliveryError(f"{partner.id} SMTP refused {to}: {refused}",
                                                           code="smtp_refused"))
        receipt = {"kind": "smtp", "to": to, "message_id": msg["Message-ID"], "server_reply": reply,
                   "accepted_at": format_timestamp(datetime.now(UTC))}
        return Outcome(d, receipt=orjson.dumps(receipt).decode())


PLUGIN = TransportPlugin(name="smtp", settings=SmtpSettings, factory=SmtpTransport, needs_endpoint=False)
