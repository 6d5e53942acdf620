"""``iccam-api``: the ICCAM-style network API — mutual TLS, bearer tokens, reports and their updates,
and the work queue of content assigned to our country.

Each call presents our client certificate (``options.client_cert``/``client_key``, the network's CA in
``options.ca_file``). Tokens come from a login and are refreshed when the API says they expired; when
the refresh token has expired too, we log in again. A delivery creates the report (the API answers a
repeated ``hotlineReference`` with the first report's id, so a retry never duplicates it), then posts
each URL's assessment and actions. The receipt records the network's report id.

Lanes and the work-queue poller share one session per partner; a token renewal is single-flight, so
an expiry seen by several lanes at once costs one refresh, not one each. Every failure leaves as a
``DeliveryError``: an unreadable payload or a missing password file is a dead letter, never a crash
that would leave the delivery claimed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from hotline_gateway.adapters.iccam.fields import RETRACTED_PREFIX
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import (
    ConfigError,
    DecodeError,
    DeliveryError,
    PermanentDeliveryError,
    StoreError,
    TransientDeliveryError,
)
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.model import MessageType
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import (
    Outcome,
    PasswordSettings,
    TransportContext,
    TransportPlugin,
    resolve,
    settings,
)

log = get_logger("hotline_gateway.iccam")
BASE = "/api/v3"


class IccamSettings(PasswordSettings):
    #: the network's CA, and our client certificate and key (mutual TLS); paths beside the config
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    #: fetch the work queue of reports assigned to our country
    poll: bool = True
    poll_interval_s: float = 60.0
    #: the country whose work queue we fetch (default: ours)
    poll_country: str | None = None


class Unreachable(TransientDeliveryError):
    """The network did not answer at all: the whole batch waits and the circuit breaker counts it."""


def _ref(reference: object) -> str:
    """A reference as one path segment: a partner's "../x" must not walk the API's tree."""
    return quote(str(reference), safe="")


class IccamClient:
    """One partner's authenticated session with the network API."""

    def __init__(self, config: Config, session: aiohttp.ClientSession, partner: Partner) -> None:
        self.config, self.session, self.partner = config, session, partner
        self.ssl = self._context()
        self.access: str | None = None
        self.refresh: str | None = None
        self._renewing = asyncio.Lock()

    def _context(self) -> ssl.SSLContext:
        """Trust the network's CA (or the system's) and present our client certificate when we have one."""
        opts = settings(self.partner, IccamSettings)
        ca, cert, key = (resolve(self.partner, v) if v else None
                         for v in (opts.ca_file, opts.client_cert, opts.client_key))
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
        if cert is not None and key is not None:
            ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def _url(self, path: str) -> str:
        assert self.partner.endpoint is not None
        return self.partner.endpoint.rstrip("/") + BASE + path

    async def _raw(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = aiohttp.ClientTimeout(total=self.config.delivery.timeout_s)
        data = orjson.dumps(body) if body is not None and not isinstance(body, bytes) else body
        try:
            async with self.session.request(method, self._url(path), data=data, headers=headers, ssl=self.ssl,
                                            timeout=timeout) as resp:
                return resp.status, await resp.read()
        except aiohttp.ClientSSLError as exc:
            raise PermanentDeliveryError(f"{self.partner.id}: TLS refused ({exc})", code="partner_configuration") \
                from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Unreachable(f"{self.partner.id} unreachable: {type(exc).__name__}") from None

    def _password(self) -> str:
        try:
            return settings(self.partner, IccamSettings).secret(self.partner)
        except ConfigError as exc:
            raise PermanentDeliveryError(exc.message, code="partner_configuration") from None

    async def _login(self) -> None:
        password = self._password()
        username = settings(self.partner, IccamSettings).username
        status, body = await self._raw("POST", "/auth/login", {"username": username,
                                                               "password": password})
        if status != 200:
            raise PermanentDeliveryError(f"{self.partner.id}: login refused ({status})", code="partner_configuration")
        self._take(body)
        log.info("iccam.login", partner=self.partner.id)

    def _take(self, body: bytes) -> None:
        try:
            tokens = orjson.loads(body)
            self.access, self.refresh = str(tokens["accessToken"]), str(tokens["refreshToken"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise TransientDeliveryError(f"{self.partner.id}: token answer without tokens") from None

    async def _renew(self) -> None:
        if self.refresh is not None:
            status, body = await self._raw("POST", "/auth/refresh", {"refreshToken": self.refresh})
            if status == 200:
                self._take(body)
                log.info("iccam.refreshed", partner=self.partner.id)
                return
        await self._login()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """An authenticated call: logs in when needed, refreshes once on an expired token."""
        if self.access is None:
            async with self._renewing:
                if self.access is None:
                    await self._login()
        used = self.access
        status, data = await self._raw(method, path, body, used)
        if status == 401:
            async with self._renewing:
                if self.access == used:  # nobody renewed it while we waited
                    await self._renew()
            status, data = await self._raw(method, path, body, self.access)
        return status, data


def _check(partner: Partner, step: str, status: int, data: bytes) -> None:
    if status < 300:
        return
    detail = f"{partner.id} {step}: {status} {data[:200].decode('utf-8', 'replace')}".strip()
    if status in (408, 425, 429) or status >= 500:
        raise TransientDeliveryError(detail)
    code = "partner_configuration" if status in (401, 403) else "partner_validation"
    raise PermanentDeliveryError(detail, code=code)


def split_report(d: Delivery) -> tuple[dict[str, Any], list[tuple[str, Any, list[Any]]]]:
    """The report to create, and per URL (reference, assessment, actions) to post after it."""
    try:
        report = orjson.loads(d.payload)
        updates = [(_ref(u["hotlineReference"]), u.pop("assessment"), list(u.pop("actions", [])))
                   for u in report["urls"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentDeliveryError(f"payload is not an ICCAM report with assessed urls ({type(exc).__name__}: {exc})",
                                     code="cannot_encode") from None
    return report, updates


class IccamApiTransport:
    name = "iccam-api"
    max_batch = 10

    def __init__(self, ctx: TransportContext) -> None:
        self.config, self.session = ctx.config, ctx.session
        self.clients: dict[str, IccamClient] = {}

    def client(self, partner: Partner) -> IccamClient:
        if partner.id not in self.clients:
            self.clients[partner.id] = IccamClient(self.config, self.session, partner)
        return self.clients[partner.id]

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        client = self.client(partner)
        outcomes = []
        for n, d in enumerate(deliveries):
            try:
                outcomes.append(Outcome(d, receipt=await self._one(client, d)))
            except Unreachable as exc:
                if not outcomes:
                    raise  # the whole network is down: the batch waits, the breaker counts it
                # keep what was delivered before the network went away; the rest waits
                return outcomes + [Outcome(rest, error=exc) for rest in deliveries[n:]]
            except DeliveryError as exc:
                outcomes.append(Outcome(d, error=exc))
        return outcomes

    async def _change(self, client: IccamClient, d: Delivery) -> str:
        """A retraction or correction: the network's report (found again by its hotlineReference) gets the new
        assessment of each URL concerned and, for a retraction, the action that says so."""
        if d.format != "iccam":
            return orjson.dumps({"kind": "iccam", "outcome": "not_possible",
                                 "detail": "the case could not be written as an ICCAM report to change",
                                 "answered_at": format_timestamp(datetime.now(UTC))}).decode()
        report, updates = split_report(d)
        status, data = await client.call("POST", "/reports", report)
        _check(client.partner, "find report", status, data)
        try:
            report_id = _ref(orjson.loads(data)["reportId"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise TransientDeliveryError(f"{client.partner.id} find report: answer without reportId") from None
        concerned = set(d.item_ids)
        changed = 0
        for ref, assessment, actions in updates:
            if ref not in concerned:
                continue
            status, data = await client.call("POST", f"/reports/{report_id}/urls/{ref}/assessment", assessment)
            _check(client.partner, "change assessment", status, data)
            retraction = [a for a in actions if str(a.get("reasonText", "")).startswith(RETRACTED_PREFIX)]
            if d.message_type == MessageType.RETRACT.value and retraction:
                status, data = await client.call("POST", f"/reports/{report_id}/urls/{ref}/actions",
                                                 {"actions": retraction[-1:]})
                _check(client.partner, "post retraction", status, data)
            changed += 1
        return orjson.dumps({"kind": "iccam", "report_id": report_id, "outcome": "assessment_changed",
                             "urls": changed, "accepted_at": format_timestamp(datetime.now(UTC))}).decode()

    async def _one(self, client: IccamClient, d: Delivery) -> str:
        if d.notice_id is not None:
            return await self._change(client, d)
        report, updates = split_report(d)
        status, data = await client.call("POST", "/reports", report)
        _check(client.partner, "create report", status, data)
        try:
            report_id = _ref(orjson.loads(data)["reportId"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise TransientDeliveryError(f"{client.partner.id} create report: answer without reportId") from None
        for ref, assessment, actions in updates:
            status, data = await client.call("POST", f"/reports/{report_id}/urls/{ref}/assessment", assessment)
            _check(client.partner, "post assessment", status, data)
            if actions:
                status, data = await client.call("POST", f"/reports/{report_id}/urls/{ref}/actions",
                                                 {"actions": actions})
                _check(client.partner, "post actions", status, data)
        return orjson.dumps({"kind": "iccam", "report_id": report_id,
                             "accepted_at": format_timestamp(datetime.now(UTC))}).decode()

    async def poll(self, partner: Partner, country: str, accept: Callable[[bytes], Awaitable[None]]) -> int:
        """Fetch the reports waiting in ``country``'s work queue, hand each to ``accept`` (which stores it
        durably), then acknowledge it; one the gateway cannot read stays in the queue and is logged."""
        client = self.client(partner)
        status, data = await client.call("GET", f"/workqueues/{_ref(country)}/reports")
        _check(partner, "work queue", status, data)
        try:
            reports = orjson.loads(data)["reports"]
            if not isinstance(reports, list):
                raise TypeError("reports is not a list")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise TransientDeliveryError(f"{partner.id} work queue: answer is not a list of reports") from None
        taken = 0
        for report in reports:
            reference = report.get("hotlineReference") if isinstance(report, dict) else None
            try:
                if reference is None:
                    raise DecodeError("a queued report needs a hotlineReference", fmt="iccam")
                await accept(orjson.dumps(report))
            except (DeliveryError, StoreError):
                raise  # our side cannot take it now: stop this round, the queue keeps it
            except Exception as exc:  # one unreadable report must not block the queue
                log.warning("iccam.report_refused", partner=partner.id, reference=reference,
                            error=getattr(exc, "code", type(exc).__name__))
                continue
            status, body = await client.call("POST", f"/workqueues/{_ref(country)}/reports/"
                                                     f"{_ref(reference)}/ack")
            _check(partner, "acknowledge", status, body)
            taken += 1
        return taken


PLUGIN = TransportPlugin(name="iccam-api", settings=IccamSettings, factory=IccamApiTransport)
