"""The e-mail that takes back (or corrects) a takedown notice sent to an abuse desk.

It goes to the address the original notice went to, in reply to it (``In-Reply-To``/``References`` name
the original Message-IDs), and names the original reference and the X-ARF report ids, so the desk can
find what it is about. The lifecycle notice is attached as it was signed, with its detached JWS. An
e-mail cannot be acknowledged: the mail server's acceptance is all the gateway records.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.lifecycle import describe_changes
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import settings
from hotline_gateway.transports.smtp_settings import SmtpSettings

REASONS = {
    "not_illegal": "on review, the content was assessed as not illegal",
    "wrong_url": "the address was reported in error (mistyped, or the content is not there)",
    "duplicate": "the report duplicated another one",
    "law_enforcement_request": "law enforcement asked for the notice to be withdrawn",
    "assessment_changed": "the assessment was corrected",
    "other": "see the note below",
}


def mail_id(config: Config, message_id: str) -> str:
    return f"<{message_id}@{config.id.lower()}.hotline-gateway.invalid>"


def lifecycle_text(config: Config, notice: dict[str, Any], urls: dict[str, str]) -> str:
    retract = notice["kind"] == "retract"
    refs = notice.get("references", [])
    lines = ["Hello,", ""]
    if retract:
        lines.append(f"{config.id}, an internet hotline, WITHDRAWS its notice(s) about the address(es) below: "
                     f"{REASONS.get(notice['reason'], notice['reason'])}. Please take no further action on them.")
    else:
        lines.append(f"{config.id}, an internet hotline, CORRECTS its notice(s) about the address(es) below "
                     f"({REASONS.get(notice['reason'], notice['reason'])}). What changed:")
        lines += [""] + [f"  * {line}" for line in describe_changes(notice.get("changes", []))]
    lines.append("")
    lines += [f"  - {urls.get(i, i)}" for i in notice["item_ids"]]
    if notice.get("note"):
        lines += ["", f"Note: {notice['note']}"]
    lines += ["", "Original notice reference(s): " + ", ".join(r["message_id"] for r in refs)]
    report_ids = [i for r in refs for i in r.get("report_ids", [])]
    if report_ids:
        lines.append("X-ARF report id(s): " + ", ".join(report_ids))
    lines += ["", "The attached notice is machine-readable; the .jws file is our detached signature over its exact "
              "bytes (JWS, EdDSA), verifiable with our published keys.", f"Reference: {notice['notice_id']}", ""]
    return "\n".join(lines)


def lifecycle_message(config: Config, partner: Partner, d: Delivery, notice: dict[str, Any], to: str,
                      urls: dict[str, str]) -> EmailMessage:
    sender = settings(partner, SmtpSettings).from_address or f"notices@{config.id.lower()}.invalid"
    originals = [mail_id(config, r["message_id"]) for r in notice.get("references", [])]
    verb = "WITHDRAWN" if notice["kind"] == "retract" else "CORRECTED"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    refs = ", ".join(r["message_id"] for r in notice.get("references", []))
    msg["Subject"] = f"[{config.id}] {verb}: notice ref {refs}"[:250]
    msg["Date"] = formatdate(d.created_at, usegmt=True)
    msg["Message-ID"] = mail_id(config, d.message_id)
    if originals:
        msg["In-Reply-To"] = originals[0]
        msg["References"] = " ".join(originals)
    msg.set_content(lifecycle_text(config, notice, urls))
    msg.add_attachment(d.payload, maintype="application", subtype="vnd.hotline-gateway.lifecycle+json",
                       filename="notice.lifecycle.json")
    msg.add_attachment(d.signature.encode("ascii"), maintype="application", subtype="jose",
                       filename="notice.lifecycle.json.jws")
    return msg
