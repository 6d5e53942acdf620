"""``POST /v1/cases/{id}/retract`` and ``/correct``: the hotline's case system takes back or corrects a case
it originated. Bearer token as for intake; the change is committed before the answer, which says per
destination what was queued and what was cancelled unsent (``GET /v1/cases/{id}`` then shows each
acknowledgement as it comes)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from hotline_gateway.api.cases import check_token
from hotline_gateway.api.messages import read_body
from hotline_gateway.api.state import services
from hotline_gateway.core.errors import UnsupportedMediaType
from hotline_gateway.core.jsonstrict import loads_document
from hotline_gateway.core.lifecycle import Reason
from hotline_gateway.core.schema import correct_request_validator, retract_request_validator
from hotline_gateway.pipeline.lifecycle import Done


async def _body(request: web.Request) -> Any:
    check_token(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"send application/json, not {request.content_type}")
    svc = services(request)
    return loads_document(await read_body(request, svc.config.limits.local_body_bytes,
                                          svc.config.limits.body_timeout_s))


def answer(done: Done) -> web.Response:
    change, outcome = done.change, done.outcome
    doc = {"notice_id": change.notice_id, "case_id": change.case_id, "kind": change.kind, "reason": change.reason,
           "item_ids": orjson.loads(change.notice)["item_ids"], "queued_for": outcome.queued,
           "cancelled": [{"partner": p, "message_id": m} for p, m in outcome.cancelled]}
    changes = orjson.loads(change.notice).get("changes")
    if changes:
        doc["changes"] = changes
    return web.Response(body=orjson.dumps(doc), status=202, content_type="application/json")


async def post_retract(request: web.Request) -> web.Response:
    doc = await _body(request)
    retract_request_validator().validate(doc)
    lifecycle, case_id = services(request).lifecycle, request.match_info["case_id"]
    return answer(await lifecycle.run(lambda: lifecycle.retract_request(
        case_id, reason=doc["reason"], note=doc.get("note"), item_ids=doc.get("item_ids"))))


async def post_correct(request: web.Request) -> web.Response:
    doc = await _body(request)
    correct_request_validator().validate(doc)
    lifecycle, case_id = services(request).lifecycle, request.match_info["case_id"]
    return answer(await lifecycle.run(lambda: lifecycle.correct_request(
        case_id, doc["case"], reason=doc.get("reason", Reason.ASSESSMENT_CHANGED.value), note=doc.get("note"))))
