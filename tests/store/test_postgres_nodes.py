"""Several nodes of one gateway on one PostgreSQL database: what a single-node store never has to do.

Each test opens two or more ``PostgresStore`` objects on one database under different node names, as
two ``serve`` processes would, and shows the store keeps the gateway's promises across them: a
delivery is claimed by one node at a time, a dead node's claims come back after their lease, the
audit chain stays one chain, nonces and sessions are shared, one node leads, connections come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg
import pytest

from hotline_gateway.core.errors import StoreError
from hotline_gateway.store.interface import CaseConflict
from hotline_gateway.store.postgres import PostgresStore
from hotline_gateway.store.postgres import node as node_mod
from hotline_gateway.store.records import AuditEntry, DeliveryState
from tests.store.builders import case_doc, intake
from tests.support.postgres import PgServer
from tests.support.waiting import eventually

Open = Callable[..., Awaitable[PostgresStore]]


@pytest.fixture
async def nodes(pg_url: str) -> AsyncIterator[Open]:
    opened: list[PostgresStore] = []

    async def open_node(node: str, **kwargs: float) -> PostgresStore:
        store = await PostgresStore.open(pg_url, gateway="FR-PDC", node=node, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield open_node
    for store in opened:
        await store.close()


def terminate(url: str, application_name: str) -> int:
    """End the server sessions of one node's pool (or its own session), as a network cut or a server
    restart would; returns how many."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                            " AND pid != pg_backend_pid()", (application_name,)).fetchall()
    return len(rows)


async def test_two_nodes_claiming_at_once_never_get_the_same_delivery(nodes: Open) -> None:
    a, b = await nodes("fr-1"), await nodes("fr-2")
    for _ in range(10):
        await a.commit_intakes([intake() for _ in range(20)])
    taken: dict[str, list[str]] = {"fr-1": [], "fr-2": []}

    async def lane(store: PostgresStore) -> None:
        while batch := await store.claim_due("DE-HOTLINE", time.time(), 7):
            taken[store.node] += [d.message_id for d in batch]

    await asyncio.gather(*(lane(s) for s in (a, b, a, b, a, b, a, b)))
    all_taken = taken["fr-1"] + taken["fr-2"]
    assert len(all_taken) == len(set(all_taken)) == 200
    assert taken["fr-1"] and taken["fr-2"]
    status = (await b.partner_status())["DE-HOTLINE"]
    assert (status.in_flight, status.queued) == (200, 0)


async def test_a_dead_nodes_claims_are_taken_over_after_their_lease_and_its_late_outcome_ignored(nodes: Open) -> None:
    a, b = await nodes("fr-1", claim_lease_s=1.0), await nodes("fr-2")
    await a.commit_intakes([intake() for _ in range(3)])
    held = await a.claim_due("DE-HOTLINE", time.time(), 10)
    assert len(held) == 3
    assert await b.claim_due("DE-HOTLINE", time.time(), 10) == []  # leased to fr-1
    took: list[str] = []

    async def taken_over() -> bool:
        took.extend(d.message_id for d in await b.claim_due("DE-HOTLINE", time.time(), 10))
        return len(took) == 3

    await eventually(taken_over, timeout=10, interval=0.2, what="fr-2 taking over fr-1's lapsed claims")
    # fr-1 comes back from its stall and reports what it sent: fr-2 holds the rows now, so it is ignored
    await a.mark_delivered([(d, "late-receipt") for d in held],
                           [AuditEntry("message.delivered", message_id=d.message_id) for d in held])
    assert {d.state for d in await b.deliveries()} == {DeliveryState.IN_FLIGHT}
    again = await b.claim_due("DE-HOTLINE", time.time() + 3600, 10)
    assert again == []  # still fr-2's
    mine = [d for d in await b.deliveries() if d.message_id in took]
    for d in mine:
        d.attempts = 2
    await b.mark_delivered([(d, "receipt") for d in mine],
                           [AuditEntry("message.delivered", message_id=d.message_id) for d in mine])
    rows = await b.deliveries()
    assert {(d.state, d.receipt, d.attempts) for d in rows} == {(DeliveryState.DELIVERED, "receipt", 2)}
    assert [e["kind"] for e in await b.recent_audit(4)].count("message.delivered") == 3
    assert await b.evidence_problems() == ([], [])


async def crash(store: PostgresStore) -> None:
    """Close a node's connections without a word, as a SIGKILL would (white box: no claims given back)."""
    session, store._session = store._session, None
    await store.close()
    if session is not None:
        await session._drop()


async def test_a_restarted_node_gives_back_its_claims_at_once(nodes: Open) -> None:
    a = await nodes("fr-1")  # the default lease: two minutes
    await a.commit_intakes([intake() for _ in range(3)])
    assert len(await a.claim_due("DE-HOTLINE", time.time(), 10)) == 3
    await crash(a)  # the claims stay in flight
    b = await nodes("fr-2")
    assert await b.claim_due("DE-HOTLINE", time.time(), 10) == []
    await nodes("fr-1")  # the same node starting again
    assert len(await b.claim_due("DE-HOTLINE", time.time(), 10)) == 3


async def test_a_node_that_stops_gives_back_its_claims_and_the_lead(nodes: Open) -> None:
    a, b = await nodes("fr-1"), await nodes("fr-2")
    await a.commit_intakes([intake() for _ in range(3)])
    assert await a.hold_leadership()
    assert len(await a.claim_due("DE-HOTLINE", time.time(), 10)) == 3
    await a.close()
    assert len(await b.claim_due("DE-HOTLINE", time.time(), 10)) == 3
    assert await b.hold_leadership()


async def test_a_node_name_is_held_by_one_process_at_a_time(nodes: Open, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_mod, "NAME_WAIT_S", 0.5)
    await nodes("fr-1")
    with pytest.raises(StoreError, match="already running"):
        await nodes("fr-1")
    assert (await nodes("fr-2")).node == "fr-2"  # another name starts beside it


async def test_two_nodes_appending_at_once_make_one_chain(nodes: Open) -> None:
    a, b = await nodes("fr-1"), await nodes("fr-2")

    async def submit(store: PostgresStore) -> None:
        for _ in range(15):
            await store.commit_intakes([intake()])

    await asyncio.gather(submit(a), submit(b), submit(a), submit(b))
    summary = await b.verify_audit()
    assert summary.entries == 60 * 2
    assert await a.audit_head() == (summary.entries, summary.head)
    assert await a.evidence_problems() == ([], [])


async def test_nonces_sessions_circuits_and_transport_state_are_the_same_on_every_node(nodes: Open) -> None:
    a, b = await nodes("fr-1"), await nodes("fr-2")
    now = int(time.time())
    assert await a.spend_nonce("DE-HOTLINE-1", "abc", now)
    assert not await b.spend_nonce("DE-HOTLINE-1", "abc", now)  # a replay sent to the other node
    results = await asyncio.gather(*(s.spend_nonce("DE-HOTLINE-1", "race", now) for s in (a, b) * 5))
    assert sorted(results) == [False] * 9 + [True]
    await a.add_session("s" * 64, "csrf", time.time() + 60)
    assert await b.session("s" * 64) == "csrf"
    await b.end_session("s" * 64)
    assert await a.session("s" * 64) is None
    await a.set_circuit("DE-HOTLINE", "open", 5)
    assert await b.circuits() == {"DE-HOTLINE": ("open", 5)}
    await b.put_transport_state("m-1", {"report_id": "7"})
    assert await a.transport_state("m-1") == {"report_id": "7"}


async def test_one_node_leads_and_the_lead_passes_when_it_steps_down_or_its_session_ends(nodes: Open,
                                                                                         pg_url: str) -> None:
    a, b = await nodes("fr-1"), await nodes("fr-2")
    assert await a.hold_leadership()
    assert not await b.hold_leadership()
    assert await a.hold_leadership()  # renewed
    await a.release_leadership()
    assert await b.hold_leadership()
    assert not await a.hold_leadership()
    assert terminate(pg_url, "hotline-gateway fr-2 (node)") == 1  # fr-2's own session ends (a crash)

    async def a_leads() -> bool:
        return await a.hold_leadership()

    # pg_terminate_backend only signals the backend: its advisory locks go when it has exited
    await eventually(a_leads, timeout=10, interval=0.05, what="fr-1 taking the lead once fr-2's session ended")
    assert not await b.hold_leadership()  # fr-2 reconnects as a follower


async def test_a_leader_that_stops_renewing_loses_the_lead_after_its_lease(nodes: Open) -> None:
    a = await nodes("fr-1", leader_lease_s=1.0)
    b = await nodes("fr-2", leader_lease_s=1.0)
    assert await a.hold_leadership()
    started = time.monotonic()

    async def b_leads() -> bool:
        return await b.hold_leadership()

    await eventually(b_leads, timeout=10, interval=0.1, what="fr-2 taking the lead of a silent fr-1")
    assert time.monotonic() - started >= 0.9  # not before the lease ran out
    assert not await a.hold_leadership()


async def test_a_database_of_another_gateway_is_refused(nodes: Open, pg_url: str) -> None:
    await nodes("fr-1")
    with pytest.raises(StoreError, match="gateway FR-PDC, not DE-HOTLINE"):
        await PostgresStore.open(pg_url, gateway="DE-HOTLINE", node="de-1")


async def test_lost_connections_are_replaced_and_readiness_fails_while_the_database_is_unreachable(
    nodes: Open, pg_url: str, pg_server: PgServer
) -> None:
    a = await nodes("fr-1")
    await a.commit_intakes([intake()])
    assert terminate(pg_url, "hotline-gateway fr-1") >= 1  # every pooled connection of fr-1 is cut
    await a.commit_intakes([intake()])  # retried on a fresh connection
    assert await a.count("cases") == 2
    name = psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"]
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            terminate(pg_server.url, "hotline-gateway fr-1")
            with pytest.raises(StoreError):
                await a.probe_write(timeout=1.5)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    async def writable() -> bool:
        try:
            await a.probe_write(timeout=2.0)
        except StoreError:
            return False
        return True

    await eventually(writable, timeout=30, interval=0.5, what="the store writable again")


async def test_nodes_starting_together_on_an_empty_database_all_start(pg_url: str) -> None:
    """Migrations and the vault's tables are made under advisory locks: concurrent CREATE TABLE IF NOT
    EXISTS from several nodes would otherwise collide in the catalog and fail one of them."""
    stores = await asyncio.gather(*(PostgresStore.open(pg_url, gateway="FR-PDC", node=f"fr-{n}") for n in range(4)))
    try:
        assert len({await s.reporter_index_secret() for s in stores}) == 1
    finally:
        for s in stores:
            await s.close()


async def test_writes_queued_together_share_one_commit_and_a_failing_one_fails_alone(nodes: Open) -> None:
    """Group commit: 60 concurrent submissions on one node take far fewer transactions (and audit-lock
    turns) than 60, and a submission refused in the middle (a case id with other content) rolls back
    alone while the ones around it commit."""
    a = await nodes("fr-1")
    first = case_doc()
    await a.commit_intakes([intake(first)])
    assert a._writer is not None
    before = a._writer.batches
    conflicting = intake({**first, "category": "hate"})
    results = await asyncio.gather(*(a.commit_intakes([intake()]) for _ in range(30)),
                                   a.commit_intakes([conflicting]),
                                   *(a.commit_intakes([intake()]) for _ in range(29)), return_exceptions=True)
    assert sum(isinstance(r, CaseConflict) for r in results) == 1
    assert sum(isinstance(r, list) for r in results) == 59
    assert await a.count("cases") == 60
    assert a._writer.batches - before < 30  # here typically 2 to 5
    assert (await a.verify_audit()).entries == 2 * 60
