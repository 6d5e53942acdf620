"""The aiohttp application factory: routes, middlewares, and every resource opened and closed in order.

Cleanup contexts run in order at start and in reverse at shutdown: the store opens first and closes
last; the delivery worker starts last and is drained first, so in-flight deliveries finish (or are
left queued, to be re-sent after restart) before the store closes. Leadership is settled before the
singletons start (the work-queue poller, the checkpoint signer, housekeeping run on the leading node
only) and handed over last, after the checkpoint of the run's last word.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from hotline_gateway.api import actions, cases, health, messages, openapi, status_page, taxii
from hotline_gateway.api import lifecycle as lifecycle_api
from hotline_gateway.api.problems import Handler, problems_middleware
from hotline_gateway.api.state import CONFIG, SERVICES, WARMED, WORKER, Services
from hotline_gateway.config import Config
from hotline_gateway.core.schema import prepare_explanations
from hotline_gateway.crypto.digest import content_digest
from hotline_gateway.crypto.httpsig import Request, sign_response
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.metrics import Metrics
from hotline_gateway.pipeline.accept import Acceptor
from hotline_gateway.pipeline.checkpoints import Checkpointer
from hotline_gateway.pipeline.deliver import DeliveryWorker
from hotline_gateway.pipeline.housekeeping import Housekeeping
from hotline_gateway.pipeline.leadership import Leadership
from hotline_gateway.pipeline.lifecycle import Lifecycle
from hotline_gateway.pipeline.offload import CpuPool
from hotline_gateway.pipeline.poll import WorkQueuePoller
from hotline_gateway.pipeline.receive import Receiver
from hotline_gateway.pipeline.verify import InboundVerifier
from hotline_gateway.store import open_store
from hotline_gateway.store.interface import Store
from hotline_gateway.transports import registry as transports
from hotline_gateway.transports.base import TransportContext
from hotline_gateway.transports.iccam_api import IccamApiTransport

STORE = web.AppKey("store", Store)
SESSION = web.AppKey("session", aiohttp.ClientSession)
SIGNED_PATHS = frozenset({"/v1/messages", "/v1/witnessed"})


@web.middleware
async def sign_responses(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Partners get signed answers, refusals included, each bound to the request it answers (RFC 9421
    §2.4), so neither a receipt nor a refusal can be forged or replayed in transit."""
    response = await handler(request)
    if request.path in SIGNED_PATHS and isinstance(response, web.Response) and isinstance(response.body, bytes):
        svc = request.app[SERVICES]
        key = svc.keyring.signing_key
        response.headers["Content-Digest"] = content_digest(response.body)
        bound = Request(request.method, svc.verifier.target_uri(request.raw_path), request.headers)
        response.headers.update(sign_response(status=response.status, headers=response.headers, kid=key.kid,
                                              private_key=key.private, request=bound))
    return response


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = await open_store(app[CONFIG])
    app[STORE] = store
    yield
    await store.close()


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[SESSION] = session
        yield


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    config, store = app[CONFIG], app[STORE]
    keyring = KeyRing(config.keys_dir)
    partner_keys = PartnerKeys(config.partner_key_paths())
    leadership = Leadership(store, config.leader_lease_s, config.node)
    await leadership.start()

    def leading() -> bool:
        return leadership.leading

    checkpointer = Checkpointer(config, store, keyring, config.audit_checkpoint_s, leading)
    await checkpointer.start()
    built = transports.build(TransportContext(config, app[SESSION], keyring, partner_keys, store,
                                              lambda: checkpointer.latest))
    metrics = Metrics()
    worker = DeliveryWorker(config, store, built, metrics)
    cpu = CpuPool(config.limits.cpu_workers)
    verifier = InboundVerifier(config, partner_keys, store)
    acceptor = Acceptor(config, store, keyring, worker.wake, await store.reporter_index_secret())
    lifecycle = Lifecycle(config, store, keyring, cpu, worker.wake)
    app[WORKER] = worker
    app[SERVICES] = Services(
        config=config, store=store, keyring=keyring, partner_keys=partner_keys, verifier=verifier,
        acceptor=acceptor,
        receiver=Receiver(config, store, verifier, keyring, partner_keys, acceptor, cpu, lifecycle),
        metrics=metrics, cpu=cpu, checkpointer=checkpointer, leadership=leadership, lifecycle=lifecycle,
    )
    await worker.start()
    housekeeping = Housekeeping(config, store, leading)
    housekeeping.start()
    iccam = built.get("iccam-api")
    poller = WorkQueuePoller(config, acceptor, iccam, leading) if isinstance(iccam, IccamApiTransport) else None
    if poller is not None:
        poller.start()
    warm = app[WARMED] = asyncio.get_running_loop().run_in_executor(None, prepare_explanations)
    yield
    await warm
    if poller is not None:
        await poller.stop()
    await housekeeping.stop()
    await worker.stop(config.shutdown_timeout_s)
    await checkpointer.close()  # the last word of this run, signed
    await leadership.stop()
    cpu.close()


def make_app(config: Config) -> web.Application:
    config = transports.with_settings(config)  # every partner's options checked against its transport
    app = web.Application(middlewares=[sign_responses, problems_middleware],
                          client_max_size=config.limits.local_body_bytes)
    app[CONFIG] = config
    app.cleanup_ctx.extend([_store_ctx, _session_ctx, _engine_ctx])
    app.router.add_post("/v1/messages", messages.post_messages)
    app.router.add_post("/v1/witnessed", messages.post_witnessed)
    app.router.add_post("/v1/cases", cases.post_cases)
    app.router.add_get("/v1/cases/{case_id}", cases.get_case)
    app.router.add_post("/v1/cases/{case_id}/actions", actions.post_actions)
    app.router.add_post("/v1/cases/{case_id}/retract", lifecycle_api.post_retract)
    app.router.add_post("/v1/cases/{case_id}/correct", lifecycle_api.post_correct)
    app.router.add_get("/.well-known/hotline-gateway/keys", health.jwks)
    taxii.add_routes(app)
    status_page.add_routes(app)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_get("/openapi.json", openapi.openapi)
    app.router.add_get("/readyz", health.readyz)
    return app
