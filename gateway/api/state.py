"""What the handlers share, kept under typed application keys (aiohttp ``AppKey``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from gateway.config import Config
from gateway.metrics import Metrics
from gateway.pipeline.accept import Acceptor
from gateway.pipeline.deliver import DeliveryWorker
from gateway.pipeline.sign import KeyRing
from gateway.pipeline.verify import InboundVerifier, NonceCache, PartnerKeys
from gateway.store.sqlite import SqliteStore


@dataclass(slots=True)
class Services:
    config: Config
    store: SqliteStore
    keyring: KeyRing
    partner_keys: PartnerKeys
    nonces: NonceCache
    verifier: InboundVerifier
    acceptor: Acceptor
    metrics: Metrics
    #: in-process counts of what happened (messages in, duplicates answered, rejections by code)
    counters: Counter[str] = field(default_factory=Counter)


CONFIG = web.AppKey("config", Config)
SERVICES = web.AppKey("services", Services)
WORKER = web.AppKey("worker", DeliveryWorker)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
