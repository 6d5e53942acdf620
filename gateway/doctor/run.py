"""All of doctor's checks in one call, files first (they explain later failures)."""

from __future__ import annotations

from collections.abc import Iterable

from hotline_gateway.config import Config
from hotline_gateway.core.model import Case
from hotline_gateway.doctor.files import check_files
from hotline_gateway.doctor.findings import Finding
from hotline_gateway.doctor.keys import check_own_keys, check_partner_keys
from hotline_gateway.doctor.partners import check_partners
from hotline_gateway.doctor.routing import check_ceilings, check_rules


async def examine(config: Config, samples: Iterable[Case], *, network: bool = True,
                  timeout: float = 5.0) -> list[Finding]:
    found = check_files(config) + check_own_keys(config) + check_partner_keys(config)
    if network:
        found += await check_partners(config, timeout)
    return found + check_rules(config) + check_ceilings(config, samples)
