"""``purge`` and ``erase``: the retention policy applied now (or shown with ``--dry-run``), and one
reporter's data erased on request (GDPR Art. 17)."""

from __future__ import annotations

import argparse
from datetime import datetime

from hotline_gateway.cli import aio
from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("purge", parents=[common], help="apply the retention policy: erase reporter data and purge "
                                                       "cases whose time is up")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")
    p.add_argument("--at", metavar="TIME", help="judge as at this UTC time (RFC 3339), e.g. to see what a date brings")
    p.set_defaults(run=run_purge)
    p = sub.add_parser("erase", parents=[common], help="erase one reporter's data everywhere it is held (GDPR Art. 17)")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--reporter", required=True, metavar="EMAIL", help="the reporter's e-mail address")
    p.add_argument("--dry-run", action="store_true", help="say which cases hold it, change nothing")
    p.set_defaults(run=run_erase)


def _at(text: str | None) -> datetime | None:
    if text is None:
        return None
    from hotline_gateway.core.timefmt import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise BadInput(f"--at {text!r}: not an RFC 3339 time such as 2027-06-01T00:00:00Z") from None


def run_purge(args: argparse.Namespace) -> int:
    from hotline_gateway.cli.cmd_service import with_store
    from hotline_gateway.pipeline import retention

    at = _at(args.at)

    async def go() -> tuple[dict[str, object], str]:
        config, store = await with_store(args.config)
        try:
            if args.dry_run:
                todo = retention.plan(await store.retention_rows(), config.retention, at)
                lines = [f"would erase the reporter data of {len(todo.erase_reporter)} case(s) and purge "
                         f"{len(todo.purge)} case(s) as at {todo.now.isoformat()}"]
                lines += [f"  {case_id}: {why}" for case_id, why in sorted(todo.reasons.items())]
                return ({"dry_run": True, "at": todo.now.isoformat(), "erase_reporter_data": todo.erase_reporter,
                         "purge_cases": todo.purge, "reasons": todo.reasons}, "\n".join(lines))
            todo, erased, purged = await retention.apply(store, config.retention, at)
            return ({"dry_run": False, "at": todo.now.isoformat(),
                     "reporter_data_erased": [e.case_id for e in erased], "cases_purged": purged},
                    f"erased the reporter data of {len(erased)} case(s), purged {purged} case(s)")
        finally:
            await store.close()

    data, text = aio.run(go())
    emit(args, data, text)
    return 0


def run_erase(args: argparse.Namespace) -> int:
    from hotline_gateway.cli.cmd_service import with_store
    from hotline_gateway.crypto.sealing import index_token

    if "@" not in args.reporter:
        raise BadInput(f"--reporter {args.reporter!r}: not an e-mail address")

    async def go() -> dict[str, object]:
        _, store = await with_store(args.config)
        try:
            cases = await store.cases_of_reporter(index_token(await store.reporter_index_secret(), args.reporter))
            if args.dry_run:
                return {"dry_run": True, "cases": cases}
            erased = await store.erase_reporters(cases, "erased at the reporter's request (GDPR Art. 17)")
            return {"dry_run": False, "cases": [{"case_id": e.case_id, "sent_to": e.sent_to,
                                                 "queued_messages_cancelled": e.cancelled} for e in erased]}
        finally:
            await store.close()

    result = aio.run(go())
    cases = result["cases"]
    assert isinstance(cases, list)
    if result["dry_run"]:
        text = f"{len(cases)} case(s) hold this reporter's data: " + (", ".join(cases) or "none")
    else:
        text = "\n".join([f"erased this reporter's data in {len(cases)} case(s)"] + [
            f"  {c['case_id']}: received before by {', '.join(c['sent_to']) or 'nobody'}"
            + (f"; {c['queued_messages_cancelled']} queued message(s) cancelled" if c["queued_messages_cancelled"]
               else "") for c in cases])
    emit(args, result, text)
    return 0
