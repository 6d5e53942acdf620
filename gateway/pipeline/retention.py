"""Retention: personal data no longer than the law allows, case documents no longer than the hotline's
statutes require — decided by a policy in the configuration, applied by a scheduled job (on one node
when several run) or by ``hotline-gateway purge``.

- A reporter's contact data is erased ``reporter_days_after_closed`` days after the case closed (every
  item removed, unavailable, judged not illegal or retracted; or the case closed or retracted), and in
  any case ``reporter_days_max`` days after it was received: GDPR Art. 5(1)(c) and (e) (minimisation,
  storage limitation); for police partners the data they received is theirs to keep under Directive
  2016/680.
- A case document goes ``case_days`` after it was received, by legal class of its most serious item
  (``case_days_by_legal_class``) or by category (``case_days_by_category``, which wins): the evidence
  of what was reported and sent, kept as long as the hotline's statutes and the partners' (US providers
  must preserve reports 1 year, 18 U.S.C. 2258A(h); the EU interim CSAM regulation 2021/1232 caps
  processing at what is strictly necessary) require.
- The audit chain holds identifiers and digests, not personal data; its entries are kept as evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hotline_gateway.config import RetentionPolicy
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.timefmt import parse_timestamp
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import Erasure, RetentionRow

log = get_logger("hotline_gateway.retention")

FINAL_ACTIONS = frozenset({"content_removed", "content_unavailable", "not_illegal", "retracted"})
SEVERITY = ("baseline", "national", "doubtful", "not_illegal")


@dataclass(slots=True)
class Plan:
    now: datetime
    erase_reporter: list[str] = field(default_factory=list)
    purge: list[str] = field(default_factory=list)
    #: why, per case id (for ``purge --dry-run``)
    reasons: dict[str, str] = field(default_factory=dict)


def closed_at(row: RetentionRow) -> datetime | None:
    """When the case closed: its status says so, or every item reached a final action (then: the last)."""
    times = [parse_timestamp(a["at"]) for item in row.items for a in item.actions if a["type"] in FINAL_ACTIONS]
    received = parse_timestamp(row.received_at)
    if row.status in ("closed", "retracted"):
        return max([received, *times])
    finals = [any(a["type"] in FINAL_ACTIONS for a in item.actions) for item in row.items]
    return max(times) if row.items and all(finals) and times else None


def case_days(row: RetentionRow, policy: RetentionPolicy) -> int:
    if row.category in policy.case_days_by_category:
        return policy.case_days_by_category[row.category]
    classes = {item.legal_class for item in row.items}
    most_serious = next((c for c in SEVERITY if c in classes), "")
    return policy.case_days_by_legal_class.get(most_serious, policy.case_days)


def plan(rows: Iterable[RetentionRow], policy: RetentionPolicy, now: datetime | None = None) -> Plan:
    now = now or datetime.now(UTC)
    out = Plan(now)
    for row in rows:
        received = parse_timestamp(row.received_at)
        keep = case_days(row, policy)
        if now >= received + timedelta(days=keep):
            out.purge.append(row.case_id)
            out.reasons[row.case_id] = f"case kept {keep} days after it was received"
            continue
        if not row.has_reporter:
            continue
        closed = closed_at(row)
        if closed is not None and now >= closed + timedelta(days=policy.reporter_days_after_closed):
            out.erase_reporter.append(row.case_id)
            out.reasons[row.case_id] = f"reporter data kept {policy.reporter_days_after_closed} days after closing"
        elif now >= received + timedelta(days=policy.reporter_days_max):
            out.erase_reporter.append(row.case_id)
            out.reasons[row.case_id] = f"reporter data kept at most {policy.reporter_days_max} days"
    return out


async def apply(store: Store, policy: RetentionPolicy, now: datetime | None = None) -> tuple[Plan, list[Erasure], int]:
    """Plan and carry out: erase reporter data that is due, purge cases that are due."""
    todo = plan(await store.retention_rows(), policy, now)
    erased = await store.erase_reporters(todo.erase_reporter, "retention period ended")
    purged = await store.purge_cases(todo.purge, "retention period ended")
    if erased or purged:
        log.info("retention.applied", reporter_data_erased=len(erased), cases_purged=purged)
    return todo, erased, purged
