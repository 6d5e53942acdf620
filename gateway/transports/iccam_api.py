"""``iccam-api``: the ICCAM-style network API — mutual TLS, bearer tokens, reports and their updates,
and the work queue of content assigned to our country.

Each call presents our client certificate (``options.client_cert``/``client_key``, the network's CA in
``options.ca_file``). Tokens come from a login and are refreshed when the API says they expired; when
the refresh token has expired too, we log in again. A delivery creates the report (the API answers a
repeated ``hotlineReference`` with the first report's id, so a retry never duplicates it), then posts
each URL's assessment and actions. The receipt records the network's report id.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from gateway.config import Config, Partner
from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from gateway.log import get_logger
from gateway.model import format_timestamp
from gateway.store.records import Delivery
from gateway.transports.base import Outcome

log = get_logger("gateway.iccam")
BASE = "/api/v3"


class IccamClient:
    """One partner's authenticated session with the network API."""

    def __init__(self, config: Config, session: aiohttp.ClientSession, partner: Partner) -> None:
        self.config, self.session, self.partner = config, session, partner
        self.ssl = self._context()
        self.access: str | None = None
        self.refresh: str | None = None

    def _context(self) -> ssl.SSLContext:
        """Trust the network's CA (or the system's) and present our client certificate when we have one."""
        ca, cert, key = (self.partner.option_path(n) for n in ("ca_file", "client_cert", "client_key"))
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
            raise TransientDeliveryError(f"{self.partner.id} unreachable: {type(exc).__name__}") from None

    async def _login(self) -> None:
        password = self.partner.options.get("password")
        path = self.partner.option_path("password_file")
        if password is None and path is not None:
            password = path.read_text(encoding="utf-8").strip()
        status, body = await self._raw("POST", "/auth/login", {"username": self.partner.options.get("username"),
                                                               "password": password})
        if status != 200:
            raise PermanentDeliveryError(f"{self.partner.id}: login refused ({status})", code="partner_configuration")
        self._take(body)
        log.info("iccam.login", partner=self.partner.id)

    def _take(self, body: bytes) -> None:
        tokens = orjson.loads(body)
        self.access, self.refresh = tokens["accessToken"], tokens["refreshToken"]

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
            await self._login()
        status, data = await self._raw(method, path, body, self.access)
        if status == 401:
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


class IccamApiTransport:
    name = "iccam-api"
    max_batch = 10

    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        self.config, self.session = config, session
        self.clients: dict[str, IccamClient] = {}

    def client(self, partner: Partner) -> IccamClient:
        if partner.id not in self.clients:
            self.clients[partner.id] = IccamClient(self.config, self.session, partner)
        return self.clients[partner.id]

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        client = self.client(partner)
        outcomes = []
        for d in deliveries:
            try:
                outcomes.append(Outcome(d, receipt=await self._one(client, d)))
            except DeliveryError as exc:
                if isinstance(exc, TransientDeliveryError) and "unreachable" in exc.message:
                    raise  # the whole network is down: the batch waits, the breaker counts it
                outcomes.append(Outcome(d, error=exc))
        return outcomes

    async def _one(self, client: IccamClient, d: Delivery) -> str:
        report = orjson.loads(d.payload)
        updates = [(u["hotlineReference"], u.pop("assessment"), u.pop("actions", [])) for u in report["urls"]]
        status, data = await client.call("POST", "/reports", report)
        _check(client.partner, "create report", status, data)
        report_id = str(orjson.loads(data)["reportId"])
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
        status, data = await client.call("GET", f"/workqueues/{country}/reports")
        _check(partner, "work queue", status, data)
        taken = 0
        for report in orjson.loads(data).get("reports", []):
            try:
                await accept(orjson.dumps(report))
            except DeliveryError:
                raise
            except Exception as exc:  # one unreadable report must not block the queue
                log.warning("iccam.report_refused", partner=partner.id, reference=report.get("hotlineReference"),
                            error=getattr(exc, "code", type(exc).__name__))
                continue
            status, body = await client.call("POST", f"/workqueues/{country}/reports/"
                                                     f"{report['hotlineReference']}/ack")
            _check(partner, "acknowledge", status, body)
            taken += 1
        return taken
