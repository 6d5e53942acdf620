"""``POST /v1/cases/{id}/actions``: the hotline's case system reports takedown progress on items.

Content removed, unavailable or moved, a notice sent by hand: each becomes an action on the item,
recorded once (a repeat changes nothing), and a notice still waiting in the outbox for an item now
reported removed is withdrawn rather than sent.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from hotline_gateway.api.cases import check_token
from hotline_gateway.api.messages import read_body
from hotline_gateway.api.state import services
from hotline_gateway.core.errors import FieldProblem, NotFound, UnsupportedMediaType, ValidationError
from hotline_gateway.core.schema import actions_validator
from hotline_gateway.core.takedown import case_takedown

MAX_BODY = 1024 * 1024


async def post_actions(request: web.Request) -> web.Response:
    check_token(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"send application/json, not {request.content_type}")
    body = await read_body(request, MAX_BODY)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError([FieldProblem("$", f"not JSON ({exc})")]) from None
    actions_validator().validate(doc)
    case_id = request.match_info["case_id"]
    store = services(request).store
    stored = (await store.case_docs([case_id])).get(case_id)
    if stored is None:
        raise NotFound(f"no case {case_id}", code="case_not_found")
    item_ids = {item["item_id"] for item in stored["items"]}
    unknown = [FieldProblem(f"$.actions[{i}].item_id", f"{a['item_id']} is not an item of case {case_id}")
               for i, a in enumerate(doc["actions"]) if a["item_id"] not in item_ids]
    if unknown:
        raise ValidationError(unknown)
    updates = [(a["item_id"], {k: v for k, v in a.items() if k != "item_id"}) for a in doc["actions"]]
    added = await store.add_actions(case_id, updates, source="local")
    updated = (await store.case_docs([case_id]))[case_id]
    answer = {"case_id": case_id, "added": len(added or []), "takedown": case_takedown(updated)}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")
