"""Retract and correct: take back what was sent, or send a corrected version, to everyone who was sent it.

Only the case's originator may do either: our own case system (or an operator) for cases that started
here, the partner that sent us the case for the rest (a partner speaks only for itself; see
``authorise``). The change is read from the store, planned off the event loop (``lifecycle_plan``) and
committed whole; if the state moved meanwhile (a lane claimed a message the plan meant to cancel, an
action changed the case) the plan is made again from the new state.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hotline_gateway.config import Config
from hotline_gateway.core.errors import Conflict, FieldProblem, LifecycleRace, NotAuthorised, NotFound, ValidationError
from hotline_gateway.core.lifecycle import Kind, corrected_doc, diff, retract_doc, retracted_items
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import ReporterKind
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.pipeline.lifecycle_plan import UNSENT, Request, plan
from hotline_gateway.pipeline.offload import CpuPool
from hotline_gateway.store.interface import Store
from hotline_gateway.store.records import ChangeOutcome, Intake, LifecycleChange

log = get_logger("hotline_gateway.lifecycle")
ATTEMPTS = 5


class NotOriginator(NotAuthorised):
    code = "not_originator"


@dataclass(frozen=True, slots=True)
class Done:
    change: LifecycleChange
    outcome: ChangeOutcome


class Lifecycle:
    def __init__(self, config: Config, store: Store, keyring: KeyRing, cpu: CpuPool,
                 wake: Callable[[str], None]) -> None:
        self.config, self.store, self.keyring, self.cpu, self.wake = config, store, keyring, cpu, wake

    # --- requests --------------------------------------------------------------------------------

    async def retract_request(self, case_id: str, *, reason: str, note: str | None = None,
                              item_ids: list[str] | None = None, origin: str = "local",
                              notice_id: str | None = None, at: datetime | None = None,
                              recorded: dict[str, Any] | None = None,
                              inbound_message_id: str | None = None) -> Request:
        info, deliveries, stored = await self._read(case_id, origin)
        items = [i["item_id"] for i in stored["items"]]
        wanted = item_ids or items
        unknown = [FieldProblem(f"$.item_ids[{n}]", f"{i} is not an item of case {case_id}")
                   for n, i in enumerate(wanted) if i not in items]
        if unknown:
            raise ValidationError(unknown)
        todo = [i for i in wanted if i not in retracted_items(stored)]
        if not todo:
            raise Conflict(f"case {case_id}: every item named is already retracted", code="already_retracted")
        at = at or datetime.now(UTC)
        by = self.config.id if origin == "local" else origin
        kw: dict[str, Any] = {"reason": reason, "note": note, "at": at, "by": by}
        return Request(
            kind=Kind.RETRACT.value, case_id=case_id, origin=origin, reason=reason, note=note, at=at,
            notice_id=notice_id or str(uuid.uuid4()), item_ids=todo, stored=stored,
            after=retract_doc(stored, todo, **kw), full_after=retract_doc(_opened(info["case"]), todo, **kw),
            deliveries=deliveries, begun=await self._begun(deliveries), recorded=recorded,
            inbound_message_id=inbound_message_id,
        )

    async def correct_request(self, case_id: str, new: dict[str, Any], *, reason: str, note: str | None = None,
                              origin: str = "local", notice_id: str | None = None, at: datetime | None = None,
                              recorded: dict[str, Any] | None = None, inbound_message_id: str | None = None,
                              where: str = "$.case") -> Request:
        info, deliveries, stored = await self._read(case_id, origin)
        problems = []
        if new["case_id"] != case_id:
            problems.append(FieldProblem(f"{where}.case_id", f"must be the case corrected ({case_id})"))
        if new["originator"] != stored["originator"]:
            problems.append(FieldProblem(f"{where}.originator", f"must stay {stored['originator']}"))
        if sorted(i["item_id"] for i in new["items"]) != sorted(i["item_id"] for i in stored["items"]):
            problems.append(FieldProblem(f"{where}.items", "a correction keeps the case's items (retract items "
                                                           "taken back; report new content as a new case)"))
        if problems:
            raise ValidationError(problems)
        if retracted_items(stored) >= {i["item_id"] for i in stored["items"]}:
            raise Conflict(f"case {case_id} is retracted: it can no longer be corrected", code="already_retracted")
        changes = diff(stored, new)
        if not changes:
            raise Conflict(f"the correction of case {case_id} changes nothing", code="nothing_changed")
        at = at or datetime.now(UTC)
        by = self.config.id if origin == "local" else origin
        kw: dict[str, Any] = {"reason": reason, "note": note, "at": at, "by": by, "changes": changes}
        changed = sorted({c["item_id"] for c in changes if "item_id" in c})
        case_level = any("item_id" not in c for c in changes)
        return Request(
            kind=Kind.CORRECT.value, case_id=case_id, origin=origin, reason=reason, note=note, at=at,
            notice_id=notice_id or str(uuid.uuid4()),
            item_ids=sorted(i["item_id"] for i in stored["items"]) if case_level else changed,
            stored=stored, after=corrected_doc(stored, new, **kw),
            full_after=corrected_doc(_opened(info["case"]), new, **kw), deliveries=deliveries,
            begun=await self._begun(deliveries), changes=changes, recorded=recorded,
            inbound_message_id=inbound_message_id,
        )

    async def _read(self, case_id: str, origin: str) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
        found = await self.store.get_case(case_id)
        stored = (await self.store.case_docs([case_id])).get(case_id)
        if found is None or stored is None:
            raise NotFound(f"no case {case_id}", code="case_not_found")
        info, deliveries = found
        if info["origin"] != origin:
            who = "our case system" if origin == "local" else origin
            holder = "our case system" if info["origin"] == "local" else info["origin"]
            raise NotOriginator(f"only the originator of case {case_id} ({holder}) may retract or correct it, "
                                f"not {who}")
        return info, deliveries, stored

    async def _begun(self, deliveries: list[Any]) -> set[str]:
        """Unsent messages whose multi-step filing has begun at the partner (an API report not yet finished)."""
        begun = set()
        for d in deliveries:
            if d.state in UNSENT and await self.store.transport_state(d.message_id):
                begun.add(d.message_id)
        return begun

    # --- committing ------------------------------------------------------------------------------

    async def build(self, request: Callable[[], Awaitable[Request]]) -> LifecycleChange:
        return await self.cpu.run(plan, self.config, self.keyring.signing_key, await request())

    async def run(self, request: Callable[[], Awaitable[Request]]) -> Done:
        """Plan and commit, planning again from the new state when it moved underneath."""
        for attempt in range(ATTEMPTS):
            change = await self.build(request)
            try:
                [result] = await self.store.commit_intakes([Intake(changes=[change])])
            except LifecycleRace as exc:
                if attempt == ATTEMPTS - 1:
                    raise
                log.info("lifecycle.replan", case_id=change.case_id, kind=change.kind, why=exc.message)
                await asyncio.sleep(0.02 * (attempt + 1))
                continue
            [outcome] = result.changes
            self.committed(change, outcome)
            return Done(change, outcome)
        raise AssertionError("unreachable")

    def committed(self, change: LifecycleChange, outcome: ChangeOutcome) -> None:
        """Log what a committed change did and wake the lanes that have work from it."""
        for plan_ in change.plans:
            if plan_.message is not None or plan_.replacement is not None:
                self.wake(plan_.partner)
        log.info(f"case.{change.kind}", case_id=change.case_id, notice_id=change.notice_id, origin=change.origin,
                 reason=change.reason, queued=len(outcome.queued), cancelled=len(outcome.cancelled))


def _opened(case: dict[str, Any]) -> dict[str, Any]:
    """The case as the store opened it; a reporter whose data was erased is withheld from here on."""
    reporter = case.get("reporter", {})
    if reporter.get("erased"):
        return {**case, "reporter": {"kind": ReporterKind.WITHHELD.value}}
    return case
