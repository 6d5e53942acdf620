"""A CyberTipline-style reporting API on loopback, behaving as the documented one does.

HTTP Basic on every call (a 401 has an empty body); ``/submit`` takes a ``<report>`` and answers a
``<reportResponse>`` with a report id; ``/fileinfo`` attaches a ``<fileDetails>``; ``/finish`` files
the report, irreversibly; ``/retract`` cancels an unfinished one. Response codes: 0 success, 1xxx
server trouble, 2000 authentication required, 3xxx not authorised, 4100 validation failed, 4110
malformed XML, 5001 report not found, 5101 already retracted, 5102 already finished. Failures can
be injected per step: ``fail_next("finish", 1000)``, ``fail_next("fileinfo", 4100)``,
``stall_next("finish", seconds)`` (any step: the step still happens — only the answer is late), and
``expire(report_id)`` (unfinished reports expire: the API then answers 5001 for it).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from dataclasses import dataclass, field

from aiohttp import web
from lxml import etree

from hotline_gateway.core.errors import DecodeError
from hotline_gateway.core.xmlsafe import parse

DESCRIPTIONS = {0: "Success", 1000: "Server error, try again later", 2000: "Authentication required",
                3000: "Not authorised", 4100: "Validation failed", 4110: "Malformed XML", 5001: "Report not found",
                5101: "Report already retracted", 5102: "Report already finished"}


@dataclass
class Filed:
    report_id: str
    report: bytes
    files: list[bytes] = field(default_factory=list)
    finished: bool = False
    retracted: bool = False


@dataclass
class CybertipSim:
    username: str
    password: str
    reports: dict[str, Filed] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _next_id: int = 70000000
    _fail: dict[str, list[int]] = field(default_factory=dict)
    _stall: dict[str, list[float]] = field(default_factory=dict)

    def fail_next(self, step: str, code: int, times: int = 1) -> None:
        self._fail.setdefault(step, []).extend([code] * times)

    def stall_next(self, step: str, seconds: float) -> None:
        self._stall.setdefault(step, []).append(seconds)

    def expire(self, report_id: str) -> None:
        """An unfinished report timed out on the API's side and is forgotten."""
        if not self.reports[report_id].finished:
            del self.reports[report_id]

    @property
    def finished(self) -> list[Filed]:
        return [r for r in self.reports.values() if r.finished]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self.status)
        for step in ("submit", "fileinfo", "finish", "retract"):
            app.router.add_post(f"/{step}", getattr(self, step))
        return app

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return scheme == "Basic" and hmac.compare_digest(f"{user}:{password}", f"{self.username}:{self.password}")

    def _answer(self, code: int, report_id: str | None = None, detail: str = "") -> web.Response:
        root = etree.Element("reportResponse")
        etree.SubElement(root, "responseCode").text = str(code)
        etree.SubElement(root, "responseDescription").text = (DESCRIPTIONS.get(code, "Error") + (f": {detail}"
                                                                                                if detail else ""))
        if report_id is not None:
            etree.SubElement(root, "reportId").text = report_id
        return web.Response(body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                            content_type="application/xml", status=200 if code == 0 else 400 if code < 5000 else 409)

    async def _gate(self, request: web.Request, step: str) -> web.Response | None:
        self.calls.append(step)
        if not self._authorised(request):
            return web.Response(status=401)  # the documented empty body
        if self._fail.get(step):
            code = self._fail[step].pop(0)
            return self._answer(code, detail="injected")
        return None

    async def _stall_if_asked(self, step: str) -> None:
        if self._stall.get(step):
            await asyncio.sleep(self._stall[step].pop(0))

    async def status(self, request: web.Request) -> web.Response:
        return await self._gate(request, "status") or self._answer(0)

    async def submit(self, request: web.Request) -> web.Response:
        refused = await self._gate(request, "submit")
        if refused is not None:
            return refused
        body = await request.read()
        try:
            root = parse(body, fmt="cybertip-api")
        except DecodeError as exc:
            return self._answer(4110, detail=exc.message)
        if root.tag != "report" or [c.tag for c in root][:3] != ["incidentSummary", "internetDetails", "reporter"]:
            return self._answer(4100, detail="report children out of sequence or missing")
        self._next_id += 1
        report_id = str(self._next_id)
        self.reports[report_id] = Filed(report_id, body)
        await self._stall_if_asked("submit")
        return self._answer(0, report_id)

    async def _report(self, request: web.Request, report_id: str | None) -> Filed | web.Response:
        filed = self.reports.get(report_id or "")
        if filed is None:
            return self._answer(5001)
        if filed.retracted:
            return self._answer(5101, report_id)
        return filed

    async def fileinfo(self, request: web.Request) -> web.Response:
        refused = await self._gate(request, "fileinfo")
        if refused is not None:
            return refused
        body = await request.read()
        try:
            root = parse(body, fmt="cybertip-api")
        except DecodeError as exc:
            return self._answer(4110, detail=exc.message)
        if root.tag != "fileDetails" or root.findtext("locationOfFile") is None:
            return self._answer(4100, detail="fileDetails needs locationOfFile")
        filed = await self._report(request, root.findtext("reportId"))
        if isinstance(filed, web.Response):
            return filed
        if filed.finished:
            return self._answer(5102, filed.report_id)
        filed.files.append(body)
        await self._stall_if_asked("fileinfo")
        return self._answer(0, filed.report_id)

    async def finish(self, request: web.Request) -> web.Response:
        refused = await self._gate(request, "finish")
        if refused is not None:
            return refused
        filed = await self._report(request, (await request.post()).get("id"))  # type: ignore[arg-type]
        if isinstance(filed, web.Response):
            return filed
        if filed.finished:
            return self._answer(5102, filed.report_id)
        filed.finished = True
        await self._stall_if_asked("finish")
        return self._answer(0, filed.report_id)

    async def retract(self, request: web.Request) -> web.Response:
        refused = await self._gate(request, "retract")
        if refused is not None:
            return refused
        filed = await self._report(request, (await request.post()).get("id"))  # type: ignore[arg-type]
        if isinstance(filed, web.Response):
            return filed
        if filed.finished:
            return self._answer(5102, filed.report_id)
        filed.retracted = True
        await self._stall_if_asked("retract")
        return self._answer(0, filed.report_id)
