"""Dynamic Client Registration: where current clients get the Bearer token the REST API v1 asks for.

`POST /o/client/register` (a software statement, JSON) gives client credentials; `POST
/o/client/token` (form) exchanges them for an access token. Both answer 201 JSON as the DCR pages
show; their errors are OAuth-style `{"error": "..."}` bodies (scenario: dcr-*).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mockserver.apis import handler
from mockserver.apis.clientless import params
from mockserver.apis.clientless_state import load, save
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Reply

JSON_TYPE = [("Content-Type", "application/json;charset=UTF-8")]


def _answer(body: dict[str, object]) -> Reply:
    return Reply(201, JSON_TYPE, json.dumps(body, separators=(",", ":")).encode())


# Grant types the server knows (RFC 6749) that a registered client is not given: `unauthorized_client`.
# Any other value is `unsupported_grant_type`.
KNOWN_NOT_GRANTED = frozenset({"authorization_code", "refresh_token"})


def software_id(statement: str) -> str | None:
    """The `software_id` claim of the statement's payload, when it reads as base64url JSON."""
    payload = statement.split(".")[1].strip()
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: `[[[...]]]` nested past Python's stack
        return None
    found = claims.get("software_id") if isinstance(claims, dict) else None
    return found if isinstance(found, str) else None


def bad_redirect_uri(value: Any) -> bool:
    """A redirect_uri that is not an absolute URI (`adobepass://com.programmer` in the sample)."""
    if value is None:
        return False
    try:
        return not isinstance(value, str) or not urlsplit(value.strip()).scheme
    except ValueError:  # an unbalanced [ or ] around the host: not a URI either
        return True


def repeats_a_parameter(ctx: RequestContext) -> bool:
    names = [name for name, _ in parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True)]
    names += list(ctx.query)
    return len(names) != len(set(names)) or any(len(v) > 1 for v in ctx.query.values())


@handler("clientless.dcr_register")
async def register(ctx: RequestContext) -> Outcome:
    body = ctx.json if isinstance(ctx.json, dict) else {}
    statement = body.get("software_statement")
    if not isinstance(statement, str) or statement.count(".") != 2:
        return Failure([ErrorRef("dcr-invalid-request" if not statement else "dcr-invalid-software-statement")])
    if bad_redirect_uri(body.get("redirect_uri")):
        return Failure([ErrorRef("dcr-invalid-redirect-uri")])
    unapproved = [str(s) for s in ctx.options.get("unapproved_software_ids") or []]
    if software_id(statement) in unapproved:
        return Failure([ErrorRef("dcr-unapproved-software-statement")])
    client_id, secret = ctx.generator.token(10), ctx.generator.token(10)
    await save(ctx, {"secret": secret}, "dcr-client", client_id)
    redirect = body.get("redirect_uri")
    return _answer({"client_id": client_id, "client_secret": secret,
                    "redirect_uris": [redirect] if isinstance(redirect, str) else [],
                    "grant_types": ["client_credentials"], "scopes": ["api:client:v2"],
                    "client_id_issued_at": int(ctx.clock.now())})


@handler("clientless.dcr_token")
async def token(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    if not all(values.get(k) for k in ("client_id", "client_secret", "grant_type")):
        return Failure([ErrorRef("dcr-invalid-request")])
    # invalid_request also covers "repeats a parameter" and "more than one mechanism for authenticating"
    basic = (ctx.header("authorization") or "").strip().lower().startswith("basic ")
    if basic or (ctx.body and repeats_a_parameter(ctx)):
        return Failure([ErrorRef("dcr-invalid-request")])
    client = await load(ctx, "dcr-client", values["client_id"])
    if not isinstance(client, dict) or client.get("secret") != values["client_secret"]:
        return Failure([ErrorRef("dcr-invalid-client")])
    if values["grant_type"] in KNOWN_NOT_GRANTED:
        return Failure([ErrorRef("dcr-unauthorized-client")])
    if values["grant_type"] != "client_credentials":
        return Failure([ErrorRef("dcr-unsupported-grant-type")])
    now, ttl_s = ctx.clock.now_ms(), int(ctx.options.get("dcr_token_ttl_s", 21600))
    token_id, access_token = ctx.generator.uuid(), ctx.generator.token(22)
    await save(ctx, {"expires": now + ttl_s * 1000}, "dcr-token", access_token)  # refused once expired
    return _answer({"id": token_id, "access_token": access_token, "created_at": now,
                    "expires_in": ttl_s, "token_type": "bearer"})
