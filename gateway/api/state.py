"""What the handlers share, kept under typed application keys (aiohttp ``AppKey``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from hotline_gateway.config import Config
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.metrics import Metrics
from hotline_gateway.pipeline.accept import Acceptor
from hotline_gateway.pipeline.deliver import DeliveryWorker
from hotline_gateway.pipeline.verify import InboundVerifier, NonceCache
from hotline_gateway.store.sqlite import SqliteStore


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
