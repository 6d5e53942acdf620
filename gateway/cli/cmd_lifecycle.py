"""``retract`` and ``correct``: an operator takes back or corrects a case this gateway originated.

When the gateway is running, the command asks it (``POST /v1/cases/{id}/retract|correct`` with the intake
token), so the lanes that hold messages about the case see the change at once; when it is not, the
change is made on the store directly and goes out when the gateway next starts.
"""

from __future__ import annotations

import argparse
from typing import Any

from hotline_gateway.cli import aio
from hotline_gateway.cli.output import emit
from hotline_gateway.core.errors import BadInput

REASONS = ("not_illegal", "wrong_url", "duplicate", "law_enforcement_request", "assessment_changed", "other")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("retract", parents=[common], help="take back a case (or some of its items) from everyone "
                                                         "it was sent to")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("--reason", required=True, choices=REASONS)
    p.add_argument("--items", metavar="ID,ID", help="only these items (default: the whole case)")
    p.add_argument("--note", help="why, in a sentence (sent with the retraction)")
    p.set_defaults(run=run_retract)
    p = sub.add_parser("correct", parents=[common], help="send a corrected version of a case to everyone it was "
                                                         "sent to, naming what changed")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("file", metavar="CASE.json", help="the corrected case (canonical JSON, same case id)")
    p.add_argument("--reason", default="assessment_changed", choices=REASONS)
    p.add_argument("--note", help="why, in a sentence (sent with the correction)")
    p.set_defaults(run=run_correct)


def run_retract(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"reason": args.reason}
    if args.items:
        body["item_ids"] = [i.strip() for i in args.items.split(",") if i.strip()]
    if args.note:
        body["note"] = args.note
    return _run(args, args.case_id, "retract", body)


def run_correct(args: argparse.Namespace) -> int:
    from hotline_gateway.cli.files import read_input
    from hotline_gateway.core.errors import ValidationError
    from hotline_gateway.core.jsonstrict import loads_document
    from hotline_gateway.core.schema import case_validator

    try:
        doc = loads_document(read_input(args.file))
        case_validator().validate(doc, source=args.file)
    except ValidationError as exc:
        raise BadInput(f"{args.file}: {exc.problems[0]}" if exc.problems else f"{args.file}: {exc.message}") from None
    body: dict[str, Any] = {"case": doc, "reason": args.reason}
    if args.note:
        body["note"] = args.note
    return _run(args, doc["case_id"], "correct", body)


def _run(args: argparse.Namespace, case_id: str, kind: str, body: dict[str, Any]) -> int:
    from hotline_gateway.transports import registry as transports

    config = transports.load(args.config)
    answer = aio.run(_ask(config, case_id, kind, body))
    if answer is None:
        answer = aio.run(_direct(args.config, case_id, kind, body))
    queued = ", ".join(answer["queued_for"]) or "nobody (nothing had reached anyone)"
    cancelled = len(answer["cancelled"])
    verb = "retracted" if kind == "retract" else "corrected"
    emit(args, answer, f"{verb} case {case_id} ({answer['reason']}): notice {answer['notice_id']} queued for "
                       f"{queued}; {cancelled} unsent message(s) cancelled")
    return 0


async def _ask(config: Any, case_id: str, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Ask the running gateway; None when nothing answers on its port (it is not running)."""
    import aiohttp
    import orjson

    from hotline_gateway.core.errors import GatewayError

    # a gateway listening on every interface is reached on loopback
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host  # noqa: S104
    url = f"http://{host}:{config.port}/v1/cases/{case_id}/{kind}"
    headers = {"Authorization": f"Bearer {config.intake_token or ''}", "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as s, s.post(url, data=orjson.dumps(body), headers=headers,
                                                        timeout=aiohttp.ClientTimeout(total=60)) as r:
            data = await r.read()
            status = r.status
    except (aiohttp.ClientConnectionError, OSError):
        return None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        doc = {}
    if status == 202 and isinstance(doc, dict):
        return doc
    error = GatewayError(f"{config.id} answered {status}: {doc.get('detail') if isinstance(doc, dict) else ''}",
                         code=str(doc.get("code", "refused")) if isinstance(doc, dict) else "refused")
    error.exit_code = 2 if 400 <= status < 500 else 1
    raise error


async def _direct(config_file: str, case_id: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The gateway is not running: make the change on the store (it goes out when the gateway starts)."""
    import orjson

    from hotline_gateway.cli.cmd_service import with_store
    from hotline_gateway.core.schema import correct_request_validator, retract_request_validator
    from hotline_gateway.crypto.keyring import KeyRing
    from hotline_gateway.pipeline.lifecycle import Lifecycle
    from hotline_gateway.pipeline.offload import CpuPool

    (retract_request_validator() if kind == "retract" else correct_request_validator()).validate(body)
    config, store = await with_store(config_file)
    cpu = CpuPool(1)
    try:
        lifecycle = Lifecycle(config, store, KeyRing(config.keys_dir), cpu, lambda _partner: None)
        if kind == "retract":
            done = await lifecycle.run(lambda: lifecycle.retract_request(
                case_id, reason=body["reason"], note=body.get("note"), item_ids=body.get("item_ids")))
        else:
            done = await lifecycle.run(lambda: lifecycle.correct_request(
                case_id, body["case"], reason=body["reason"], note=body.get("note")))
    finally:
        cpu.close()
        await store.close()
    notice = orjson.loads(done.change.notice)
    return {"notice_id": done.change.notice_id, "case_id": case_id, "kind": kind, "reason": done.change.reason,
            "item_ids": notice["item_ids"], "queued_for": done.outcome.queued,
            "cancelled": [{"partner": p, "message_id": m} for p, m in done.outcome.cancelled],
            **({"changes": notice["changes"]} if notice.get("changes") else {})}
