"""Encode: cut a case down to what one destination may see, then write it in that destination's format.

Data minimisation happens here, once, for every transport: only the items routed to the partner,
and reporter data only for partners explicitly allowed to receive it (never hosts or platforms).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from hotline_gateway.adapters import registry
from hotline_gateway.config import NEVER_REPORTER, Partner
from hotline_gateway.core.model import Case, CustodyEntry, CustodyEvent, Reporter, ReporterKind


def may_receive_reporter(partner: Partner) -> bool:
    return partner.receive_reporter and partner.kind not in NEVER_REPORTER


def project(case: Case, partner: Partner, item_ids: list[str], *, sender: str, at: datetime) -> Case:
    """The copy of ``case`` that ``partner`` receives."""
    wanted = set(item_ids)
    reporter = case.reporter
    if reporter.identifies_someone and not may_receive_reporter(partner):
        reporter = Reporter(ReporterKind.WITHHELD)
    custody = [*case.custody, CustodyEntry(at=at, by=sender, event=CustodyEvent.FORWARDED, note=f"to {partner.id}")]
    return msgspec.structs.replace(
        case,
        items=[i for i in case.items if str(i.item_id) in wanted],
        reporter=reporter,
        custody=custody[-1000:],
    )


def needs_url(fmt: str) -> bool:
    """Whether the format reports addresses only (X-ARF, DSA notices, ICCAM, the CyberTipline): the adapter says."""
    return bool(getattr(registry.get(fmt), "needs_url", False))


def encode_for(partner: Partner, case: Case) -> bytes:
    return registry.get(partner.format).encode(case)
