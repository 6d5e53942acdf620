"""Authorise: authenticated is not authorised. A partner speaks only for itself.

- What a partner asserts about who assessed a case is bound to its identity: a case whose originator
  is not the sending partner becomes that partner's case, and the name it gave is kept in the custody
  log as its (unverified) claim. So nothing we sign later — an X-ARF notice, a DSA notice, a STIX
  identity — ever names a third party on a partner's word alone.
- A partner may update only the cases and items it sent us or that we sent it (``Receiver`` checks
  that against the store before anything is written, and audits a refusal).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from hotline_gateway.core.model import Case, CustodyEntry, CustodyEvent


def bind_to_sender(cases: Iterable[Case], partner: str, us: str) -> list[Case]:
    """Bind each case's originator to ``partner``; returns the cases that were changed."""
    at = datetime.now(UTC)
    changed = []
    for case in cases:
        if case.originator == partner:
            continue
        claimed = case.originator
        case.originator = partner
        note = (f"from {partner}, which named {claimed} as originator (not verified; recorded as "
                f"{partner}'s claim)")
        case.custody = [*case.custody, CustodyEntry(at=at, by=us, event=CustodyEvent.RECEIVED, note=note[:1000])
                        ][-1000:]
        changed.append(case)
    return changed
