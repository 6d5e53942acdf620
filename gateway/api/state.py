"""What the handlers share, kept under typed application keys (aiohttp ``AppKey``): per application,
never module-level, so two gateways in one process share nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from hotline_gateway.config import Config
from hotline_gateway.crypto.keyring import KeyRing
from hotline_gateway.crypto.partner_keys import PartnerKeys
from hotline_gateway.metrics import Metrics
from hotline_gateway.pipeline.accept import Acceptor
from hotline_gateway.pipeline.checkpoints import Checkpointer
from hotline_gateway.pipeline.deliver import DeliveryWorker
from hotline_gateway.pipeline.leadership import Leadership
from hotline_gateway.pipeline.lifecycle import Lifecycle
from hotline_gateway.pipeline.offload import CpuPool
from hotline_gateway.pipeline.receive import Receiver
from hotline_gateway.pipeline.verify import InboundVerifier
from hotline_gateway.store.interface import Store


@dataclass(slots=True)
class Services:
    config: Config
    store: Store
    keyring: KeyRing
    partner_keys: PartnerKeys
    verifier: InboundVerifier
    acceptor: Acceptor
    receiver: Receiver
    metrics: Metrics
    cpu: CpuPool
    checkpointer: Checkpointer
    #: whether this node runs the gateway's singletons (always, on a single-node store)
    leadership: Leadership
    lifecycle: Lifecycle
    #: in-process counts of what happened (messages in, duplicates answered, rejections by code)
    counters: Counter[str] = field(default_factory=Counter)


CONFIG = web.AppKey("config", Config)
SERVICES = web.AppKey("services", Services)
WORKER = web.AppKey("worker", DeliveryWorker)
#: the explaining validator's background import, started with the engine (``serve`` freezes the heap after it)
WARMED = web.AppKey("warmed", asyncio.Future)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
