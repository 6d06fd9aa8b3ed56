"""The yardstick: a bare Starlette app answering fixed bytes (captured from the mock) on one route."""

from __future__ import annotations

import asyncio
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_CAPTURED = json.loads(os.environ.get("BARE_RESPONSE", '{"status": 200, "headers": {}, "body": ""}'))
_PATH = os.environ.get("BARE_PATH", "/")
_SLEEP_S = float(os.environ.get("BARE_SLEEP_MS", "0")) / 1000  # bench/delay.py: the same wait as __delay


async def endpoint(request: Request) -> Response:
    if _SLEEP_S:
        await asyncio.sleep(_SLEEP_S)
    return Response(_CAPTURED["body"].encode(), _CAPTURED["status"], headers=_CAPTURED["headers"])


app = Starlette(routes=[Route(_PATH, endpoint, methods=["GET", "POST"])])
