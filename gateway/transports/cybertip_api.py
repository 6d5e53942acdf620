"""``cybertip-api``: filing a report with a CyberTipline-style reporting API, step by step.

submit the ``<report>`` → one ``/fileinfo`` per ``<fileDetails>`` → ``/finish``. Each step's result
is stored before the next (``TransportState``), so a retry resumes the same report. A step that fails
before finish retracts the report, so no half report lingers. Finish is never repeated blindly: only
for the report id we hold, and an answer of 5102 (already finished) means done. Response codes: 0
success; 1xxx retry later; 2000 and 3xxx configuration errors and 4xxx validation errors are dead
letters with the API's reason; 5102 (already finished) is done; 5101 (already retracted) and 5001
(not found) mean the report is gone there and is filed afresh. A 401 (empty body) is a configuration error.

Why stored state rather than asking ``/status``: the API's status call says whether the service is up,
not whether a report was filed, and nothing in a ``<report>`` is an idempotency key the API would
look up. So the report id is written down the moment we have it; after an uncertain finish we finish
that same id again, and 5102 (already finished) closes it. A report the API no longer knows (5001:
unfinished reports expire; 5101: retracted) is filed afresh. An uncertain *submit* may leave an
orphan unfinished report on their side: it is never filed and expires, which is the lesser harm.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from lxml import etree

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import (
    ConfigError,
    DecodeError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.core.xmlsafe import parse
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import Outcome, PasswordSettings, TransportContext, TransportPlugin, settings

log = get_logger("hotline_gateway.cybertip")
#: the API no longer holds our unfinished report (not found: it expired; or already retracted)
GONE = frozenset({5001, 5101})


class ApiAnswer:
    def __init__(self, code: int, description: str, report_id: str | None) -> None:
        self.code, self.description, self.report_id = code, description, report_id


def outcome_error(partner: Partner, step: str, answer: ApiAnswer) -> DeliveryError:
    detail = f"{partner.id} {step}: {answer.code} {answer.description}"
    if 1000 <= answer.code < 2000 or answer.code < 0:
        return TransientDeliveryError(detail)  # server trouble, or an answer without a code
    if answer.code == 2000 or 3000 <= answer.code < 4000:
        return PermanentDeliveryError(detail, code="partner_configuration")
    return PermanentDeliveryError(detail, code="partner_validation")


class CybertipApiTransport:
    name = "cybertip-api"
    max_batch = 1

    def __init__(self, ctx: TransportContext) -> None:
        self.config = ctx.config
        self.session = ctx.session
        self.store = ctx.store

    def _auth(self, partner: Partner) -> str:
        """The Authorization header value; the password may live in a file beside the config."""
        opts = settings(partner, PasswordSettings)
        try:
            password = opts.secret(partner)
        except ConfigError as exc:
            raise PermanentDeliveryError(exc.message, code="partner_configuration") from None
        return aiohttp.encode_basic_auth(opts.username, password)

    async def _call(self, partner: Partner, step: str, *, xml: bytes | None = None,
                    form: dict[str, str] | None = None) -> ApiAnswer:
        assert partner.endpoint is not None
        url = partner.endpoint.rstrip("/") + "/" + step
        timeout = aiohttp.ClientTimeout(total=self.config.delivery.timeout_s)
        headers = {"Authorization": self._auth(partner)}
        if xml is not None:
            headers["Content-Type"] = "application/xml"
        data: Any = xml if xml is not None else form
        try:
            async with self.session.post(url, data=data, headers=headers, timeout=timeout) as resp:
                status, body = resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientDeliveryError(f"{partner.id} {step}: no answer ({type(exc).__name__})") from None
        if status == 401:
            raise PermanentDeliveryError(f"{partner.id} {step}: 401, credentials refused", code="partner_configuration")
        try:
            root = parse(body, fmt="cybertip-api")
            return ApiAnswer(int(root.findtext("responseCode") or "-1"), root.findtext("responseDescription") or "",
                             root.findtext("reportId"))
        except (DecodeError, ValueError):
            raise TransientDeliveryError(f"{partner.id} {step}: HTTP {status} without a reportResponse") from None

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes = []
        for d in deliveries:
            try:
                outcomes.append(Outcome(d, receipt=await self._file(partner, d)))
            except DeliveryError as exc:
                outcomes.append(Outcome(d, error=exc))
        return outcomes

    async def _take_back(self, partner: Partner, d: Delivery) -> str:
        """A retraction or correction: the API can retract a report not yet finished, nothing more. Each report
        we began for the case is retracted if unfinished; a filed one cannot be, and the answer says so."""
        kind = orjson.loads(d.payload).get("kind")
        reports: list[dict[str, str]] = []
        for o in await self.store.case_deliveries(d.case_id):
            if o.partner != partner.id or o.notice_id is not None:
                continue
            state = await self.store.transport_state(o.message_id) or {}
            filed = orjson.loads(o.receipt).get("report_id") if o.receipt else None
            if state.get("report_id"):
                answer = await self._call(partner, "retract", form={"id": state["report_id"]})
                if answer.code in (0, 5101, 5001):  # retracted now, already, or expired there
                    await self.store.put_transport_state(o.message_id, None)
                    reports.append({"report_id": state["report_id"], "outcome": "retracted"})
                elif answer.code == 5102:
                    reports.append({"report_id": state["report_id"], "outcome": "not_possible"})
                else:
                    raise outcome_error(partner, "retract", answer)
            elif filed:
                reports.append({"report_id": str(filed), "outcome": "not_possible"})
        possible = bool(reports) and all(r["outcome"] == "retracted" for r in reports)
        detail = ("the unfinished report was retracted" if possible else
                  "a filed (finished) report cannot be retracted or amended through the API; tell the "
                  "clearinghouse by its own channel" if kind == "retract" else
                  "a filed (finished) report cannot be amended through the API")
        log.info("cybertip.take_back", message_id=d.message_id, partner=partner.id, outcome=possible)
        return orjson.dumps({"kind": "cybertip", "outcome": "retracted" if possible else "not_possible",
                             "detail": detail, "reports": reports,
                             "answered_at": format_timestamp(datetime.now(UTC))}).decode()

    async def _file(self, partner: Partner, d: Delivery) -> str:
        if d.notice_id is not None:
            return await self._take_back(partner, d)
        try:
            root = parse(d.payload, fmt="cybertip")
        except DecodeError as exc:
            raise PermanentDeliveryError(f"payload is not readable XML: {exc.message}", code="cannot_encode") from None
        report = root.find("report")
        files = root.findall("fileDetails")
        if report is None:
            raise PermanentDeliveryError("payload has no <report>", code="cannot_encode")
        state = await self.store.transport_state(d.message_id) or {}
        report_id = state.get("report_id")
        if report_id is None:
            answer = await self._call(partner, "submit", xml=etree.tostring(report))
            if answer.code != 0 or not answer.report_id:
                raise outcome_error(partner, "submit", answer)
            report_id, state = answer.report_id, {"report_id": answer.report_id, "files": 0}
            await self.store.put_transport_state(d.message_id, state)
        if not state.get("finishing"):
            for n in range(int(state.get("files", 0)), len(files)):
                details = copy.deepcopy(files[n])
                rid = etree.Element("reportId")
                rid.text = report_id
                details.insert(0, rid)
                try:
                    answer = await self._call(partner, "fileinfo", xml=etree.tostring(details))
                except DeliveryError:
                    await self._retract(partner, d, report_id)
                    raise
                if answer.code in GONE:
                    await self.store.put_transport_state(d.message_id, None)  # expired or retracted there: file afresh
                    raise TransientDeliveryError(f"{partner.id} fileinfo: {answer.code} {answer.description}; "
                                                 "refiling")
                if answer.code != 0:
                    await self._retract(partner, d, report_id)
                    raise outcome_error(partner, "fileinfo", answer)
                state["files"] = n + 1
                await self.store.put_transport_state(d.message_id, state)
            state["finishing"] = True  # from here on, only ever finish this report id
            await self.store.put_transport_state(d.message_id, state)
        answer = await self._call(partner, "finish", form={"id": report_id})
        if answer.code in GONE:
            await self.store.put_transport_state(d.message_id, None)  # gone on their side: file afresh next time
            raise TransientDeliveryError(f"{partner.id} finish: {answer.code} {answer.description}; refiling")
        if answer.code not in (0, 5102):
            raise outcome_error(partner, "finish", answer)
        await self.store.put_transport_state(d.message_id, None)
        log.info("cybertip.finished", message_id=d.message_id, partner=partner.id, report_id=report_id,
                 already=answer.code == 5102)
        return orjson.dumps({"kind": "cybertip", "report_id": report_id, "already_finished": answer.code == 5102,
                             "finished_at": format_timestamp(datetime.now(UTC))}).decode()

    async def _retract(self, partner: Partner, d: Delivery, report_id: str) -> None:
        """Cancel an unfinished report; whatever its answer, the next attempt files a new one."""
        try:
            answer = await self._call(partner, "retract", form={"id": report_id})
            log.info("cybertip.retracted", message_id=d.message_id, partner=partner.id, report_id=report_id,
                     code=answer.code)
        except DeliveryError as exc:
            log.warning("cybertip.retract_failed", message_id=d.message_id, partner=partner.id, error=exc.code)
        await self.store.put_transport_state(d.message_id, None)


PLUGIN = TransportPlugin(name="cybertip-api", settings=PasswordSettings, factory=CybertipApiTransport)
