"""Value mappings between the canonical model and the CyberTipline-style submission, for both directions.

The format has elements for what a clearinghouse needs; what it has none for (our case and item ids,
receipt time, reporter kind, legal class) travels as ``key: value`` lines at the head of an
``additionalInfo`` text, which the clearinghouse's analysts read anyway, and TLP and priority as
``reportAnnotations``. A text is read as such a head only when every line of it is one of our keys,
so someone else's notes are never mistaken for it.
"""

from __future__ import annotations

from hotline_gateway.core.model import Category, HashAlgo

INCIDENT_TYPES = {
    Category.CSAM: "Child Pornography (possession, manufacture, and distribution)",
    Category.CSEM: "Online Enticement of Children for Sexual Acts",
    Category.ADULT_MINOR_ACCESS: "Unsolicited Obscene Material Sent to a Child",
    Category.PIMPING: "Child Sex Trafficking",
}
CATEGORIES = {v: k for k, v in INCIDENT_TYPES.items()}

HASH_TYPES = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA1", HashAlgo.SHA256: "SHA256", HashAlgo.PDQ: "PDQ",
              HashAlgo.PHOTODNA: "PHOTODNA"}
HASH_ALGOS = {v: k for k, v in HASH_TYPES.items()}

#: keys of the head lines we write: report level, then fileDetails level
REPORT_KEYS = ("caseId", "receivedAt", "incidentAt", "reporterKind")
FILE_KEYS = ("itemId", "legalClass")
#: reportAnnotations/annotation prefixes
TLP_NOTE = "tlp:"
PRIORITY_NOTE = "priority:"


def write_head(fields: dict[str, str], body: str | None) -> str:
    """Our ``key: value`` lines, then a blank line and the free text (if any)."""
    head = "\n".join(f"{k}: {v}" for k, v in fields.items())
    return head if body is None else f"{head}\n\n{body}"


def read_head(text: str, keys: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    """Our head lines and the free text after them; a text without our head is all free text."""
    head, blank, body = text.partition("\n\n")
    pairs = [line.partition(": ") for line in head.split("\n")]
    if head and all(sep and key in keys for key, sep, _ in pairs):
        return {key: value for key, _, value in pairs}, body if blank else None
    return {}, text or None
