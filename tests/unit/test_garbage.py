"""Garbage requests never produce a traceback or an undeclared 500 (hypothesis drives raw ASGI)."""

from __future__ import annotations

import asyncio
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app import build_app
from mockserver.settings import Settings

APP = build_app(Settings())
APP.runtime.ready = True
PATHS = ["/reactor/companies", "/reactor/properties/PR1", "/reactor/", "/nowhere", "/__admin/catalog",
         "/braze/users/track", "/braze/messages/send", "/braze/campaigns/trigger/send", "/dcs/event",
         "/edge/ee/v2/interact", "/edge/ee/v2/collect", "/edge/ee/or2/v2/interact",
         "/clientless/reggie/v1/REQ/regcode", "/clientless/api/v1/authorize", "/clientless/mvpd/mso/login",
         "/reactor/properties/PR1/rule_components", "/reactor/rules/RL1/rule_components", "/reactor/callbacks/CB1",
         "/reactor/audit_events", "/braze/users/delete", "/edge/ee/v1/identity/acquire",
         "/clientless/api/v1/authenticate/freepreview", "/__session/s1/braze/users/track", "/__session//dcs/event"]
PREFIXES = ["/reactor/", "/braze/", "/dcs/", "/edge/", "/clientless/"]


def call(method: str, path: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]],
         body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict] = []
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": raw_path, "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080)}
    asyncio.run(APP(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


header_bytes = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=int(os.environ.get("GARBAGE_EXAMPLES", "600")), suppress_health_check=[HealthCheck.too_slow],
          deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=st.one_of(st.sampled_from(PATHS), st.tuples(st.sampled_from(PREFIXES), st.text(max_size=30)).map("".join)),
    raw_path=st.binary(max_size=30),
    query=st.one_of(st.binary(max_size=60), st.sampled_from([b"__error=", b"__code=999", b"__seed=x", b"__zz=1",
                                                            b"__error=not-found&__error=read-only"])),
    headers=st.lists(st.tuples(st.sampled_from([b"authorization", b"content-type", b"prefer", b"x-mock-session",
                                                b"host", b"x-api-key", b"accept", b"x-forwarded-for", b"referer",
                                                b"cookie", b"content-length", b"origin",
                                                b"access-control-request-method",
                                                b"access-control-request-headers"]), header_bytes), max_size=6),
    body=st.one_of(st.binary(max_size=200), st.just(b"{" * 5000), st.just(b"\xff\xfe{}"),
                   st.just(json.dumps({"data": {"type": "x"}}).encode())),
)
def test_garbage_never_gives_a_traceback(method, path, raw_path, query, headers, body):
    status, response_headers, content = call(method, path, raw_path, query, headers, body)
    assert b"x-mockserver-internal-error" not in response_headers, content
    assert status != 500 or b"x-mockserver-misuse" not in response_headers
    if b"x-mockserver-misuse" in response_headers and method != "HEAD":
        assert b'"valid"' in content or b'"detail"' in content  # the mock's own complaints say what is wrong


def test_a_one_megabyte_body_and_deep_json_are_answered():
    auth = [(b"authorization", b"Bearer t"), (b"content-type", b"application/vnd.api+json")]
    for body in (b"x" * 1_000_000, b"[" * 100_000, b'{"a":' * 50_000):
        status, headers, _ = call("POST", "/reactor/companies", b"", b"", auth, body)
        assert b"x-mockserver-internal-error" not in headers and status < 500
