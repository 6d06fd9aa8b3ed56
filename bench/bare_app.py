"""The yardstick: a bare Starlette app answering fixed bytes (captured from the mock) on one route."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def make_app(captured: dict[str, Any], path: str, sleep_s: float = 0.0) -> Starlette:
    """`captured` is the mock's answer (status, headers, body text); `sleep_s` the wait bench/delay.py compares."""
    body = captured["body"].encode()

    async def endpoint(request: Request) -> Response:
        if sleep_s:
            await asyncio.sleep(sleep_s)
        return Response(body, captured["status"], headers=captured["headers"])

    return Starlette(routes=[Route(path, endpoint, methods=["GET", "POST"])])


app = make_app(json.loads(os.environ.get("BARE_RESPONSE", '{"status": 200, "headers": {}, "body": ""}')),
               os.environ.get("BARE_PATH", "/"), float(os.environ.get("BARE_SLEEP_MS", "0")) / 1000)
