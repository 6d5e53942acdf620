"""Local intake for the hotline's own case system: ``POST /v1/cases`` and ``GET /v1/cases/{id}``.

A bearer token guards both (the case carries reporter data). A submission is one case or a JSON array
of cases; every bad field of every case is reported at once and nothing is stored unless all are
valid. Resubmitting an identical case is harmless (idempotent); the same id with other content is a
conflict.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.api.messages import read_body
from hotline_gateway.api.state import services
from hotline_gateway.core.errors import (
    BadInput,
    FieldProblem,
    NotFound,
    UnsupportedMediaType,
    ValidationError,
    VerificationError,
)
from hotline_gateway.core.jsonstrict import loads_document
from hotline_gateway.core.media import refuse_media
from hotline_gateway.core.model import load_case
from hotline_gateway.core.schema import MAX_EXPLAINED, case_validator
from hotline_gateway.core.takedown import case_takedown
from hotline_gateway.crypto.receipts import receipt_claims
from hotline_gateway.pipeline.lifecycle_view import lifecycle_view
from hotline_gateway.store.records import Intake

MAX_CASES = 10_000


class CaseRepeated(BadInput):
    """Two cases with one id in one submission: which one is meant cannot be guessed."""

    code = "case_id_repeated"
    http_status = 409


def check_token(request: web.Request) -> None:
    expected = services(request).config.intake_token
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if expected is None:
        raise VerificationError("local intake is disabled: no intake_token configured", code="intake_disabled")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise VerificationError("missing or wrong bearer token", code="bad_token")


def _validate_submission(body: bytes, us: str) -> tuple[list[dict[str, Any]], bool]:
    """Parse and check a submission (CPU work, run off the event loop); every bad field at once."""
    refuse_media(body)
    doc = loads_document(body)
    docs: list[Any] = doc if isinstance(doc, list) else [doc]
    if not docs or len(docs) > MAX_CASES:
        raise ValidationError([FieldProblem("$", f"send between 1 and {MAX_CASES} cases")])
    validator = case_validator()
    problems: list[FieldProblem] = []
    for i, d in enumerate(docs):
        prefix = f"$[{i}]" if isinstance(doc, list) else "$"
        problems += [FieldProblem(prefix + p.path[1:], p.message) for p in validator.problems(d)]
        if len(problems) >= MAX_EXPLAINED:
            break
    if problems:
        raise ValidationError(problems[:MAX_EXPLAINED])
    wrong = [f"$[{i}].originator" if isinstance(doc, list) else "$.originator"
             for i, d in enumerate(docs) if d["originator"] != us]
    if wrong:
        # Our case system speaks for us: a case it names another originator for would go out under our
        # signature naming that party.
        raise ValidationError([FieldProblem(path, f"must be this gateway's id ({us})") for path in wrong[:20]])
    return docs, isinstance(doc, list)


async def post_cases(request: web.Request) -> web.Response:
    check_token(request)
    if request.content_type not in ("application/json", "application/vnd.hotline-gateway.case+json"):
        raise UnsupportedMediaType(f"send application/json, not {request.content_type}")
    svc = services(request)
    body = await read_body(request, svc.config.limits.local_body_bytes, svc.config.limits.body_timeout_s)

    def prepare() -> Intake:
        # Parsing, validation, routing, encoding and signing in one step: on the loop for a small body, else
        # one trip to the CPU pool (a single-case request paid two hand-offs for well under a millisecond).
        docs, _ = _validate_submission(body, svc.config.id)
        ids = [d["case_id"] for d in docs]
        if len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise CaseRepeated(f"case id(s) appear more than once in this submission: {', '.join(repeated[:5])}")
        # Schema-valid input is canonical (dump(load(x)) == x), so the validated documents are stored as they are.
        cases = [load_case(d) for d in docs]
        return svc.acceptor.build(cases, "local", docs={d["case_id"]: d for d in docs})

    result = await svc.acceptor.accept(await svc.cpu.run_sized(len(body), prepare))
    accepted = [{"case_id": cid, "new": new} for cid, new in zip(result.case_ids, result.fresh, strict=True)]
    for a in accepted:
        svc.metrics.messages_in.labels("local", "native", "accepted" if a["new"] else "duplicate").inc()
    return web.json_response({"accepted": accepted, "deliveries": result.deliveries}, status=202,
                             dumps=lambda o: orjson.dumps(o).decode())


async def get_case(request: web.Request) -> web.Response:
    check_token(request)
    case_id = request.match_info["case_id"]
    found = await services(request).store.get_case(case_id)
    if found is None:
        raise NotFound(f"no case {case_id}", code="case_not_found")
    info, deliveries = found
    info["deliveries"] = [
        {"partner": d.partner, "message_id": d.message_id, "type": d.message_type, "format": d.format,
         "transport": d.transport, "state": d.state.value, "attempts": d.attempts, "last_error": d.last_error,
         "receipt": receipt_claims(d.receipt) if d.receipt else None, "payload_sha256": d.payload_sha256}
        for d in deliveries
    ]
    info["takedown"] = case_takedown(info["case"])
    svc = services(request)
    records = await svc.store.lifecycle_records(case_id)
    if records:
        info["lifecycle"] = lifecycle_view(records, deliveries, time.time(), svc.config.delivery.retraction_ack_s)
    return web.Response(body=orjson.dumps(info), content_type="application/json")
