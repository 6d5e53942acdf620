"""Logs: one structured event per stage, so one grep for a message id follows it from queue to receipt,
and no reporter data is ever logged."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from hotline_gateway.core.log import configure
from hotline_gateway.core.model import Reporter, ReporterKind
from hotline_gateway.service import RunningGateway
from hotline_gateway.sim.demo import wait_settled
from tests.engine.federation import cases_hosted_in, submit
from tests.support.logs import forget_cached_loggers


async def test_one_grep_for_a_message_id_follows_it_from_queue_to_receipt(
    federation: dict[str, RunningGateway], capsys: pytest.CaptureFixture[str]
) -> None:
    configure(level="info", json=True)
    forget_cached_loggers()  # loggers an earlier test first used at the CLI's warning level
    [case] = cases_hosted_in("FR", 1, seed=5)
    case.reporter = Reporter(ReporterKind.PERSON, name="Erika Zeugin", email="erika@mail.test", phone="+49 30 999")
    fr = federation["FR-PDC"]
    async with aiohttp.ClientSession() as session:
        await submit(session, fr, [case])
    await wait_settled(fr, 10)
    err = capsys.readouterr().err
    configure()  # back to the defaults for the tests that follow
    events = [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]
    queued = [e for e in events if e["event"] == "message.queued" and e["case_id"] == str(case.case_id)]
    assert queued, "the queued message is logged with its case"
    grep = [e["event"] for e in events if queued[0]["message_id"] in orjson.dumps(e).decode()]
    assert grep == ["message.queued", "case.accepted", "message.delivered"]
    for secret in ("Erika", "erika@mail.test", "+49 30 999"):
        assert secret not in err
