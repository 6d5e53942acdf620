"""TAXII 2.1 error resources (§3.6.1): on TAXII routes every error is one of these, as
``application/taxii+json;version=2.1``, never problem+json; a 401 says how to authenticate."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/"
REALM = 'Basic realm="hotline-gateway TAXII", charset="UTF-8"'


def is_taxii(request: web.Request) -> bool:
    return request.path.startswith(ROOT)


def error(status: int, code: str, description: str, **details: Any) -> web.Response:
    """The error resource: title (required), description, error_code, http_status, details."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"title": title, "description": description, "error_code": code,
                            "http_status": str(status)}
    if details:
        body["details"] = details
    response = web.Response(status=status, body=orjson.dumps(body), headers={"Content-Type": TAXII})
    if status == 401:
        response.headers["WWW-Authenticate"] = REALM
    return response
