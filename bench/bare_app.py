"""The yardstick: a bare Starlette app answering fixed bytes (captured from the mock) on one route."""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_CAPTURED = json.loads(os.environ.get("BARE_RESPONSE", '{"status": 200, "headers": {}, "body": ""}'))
_PATH = os.environ.get("BARE_PATH", "/")


async def endpoint(request: Request) -> Response:
    return Response(_CAPTURED["body"].encode(), _CAPTURED["status"], headers=_CAPTURED["headers"])


app = Starlette(routes=[Route(_PATH, endpoint, methods=["GET", "POST"])])
