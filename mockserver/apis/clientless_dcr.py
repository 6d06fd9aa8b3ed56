"""Dynamic Client Registration: where current clients get the Bearer token the REST API v1 asks for.

`POST /o/client/register` (a software statement, JSON) gives client credentials; `POST
/o/client/token` (form) exchanges them for an access token. Both answer 201 JSON as the DCR pages
show; their errors are OAuth-style `{"error": "..."}` bodies (scenario: dcr-*).
"""

from __future__ import annotations

import json

from mockserver.apis import handler
from mockserver.apis.clientless import params
from mockserver.apis.clientless_state import load, save
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Reply

JSON_TYPE = [("Content-Type", "application/json;charset=UTF-8")]


def _answer(body: dict[str, object]) -> Reply:
    return Reply(201, JSON_TYPE, json.dumps(body, separators=(",", ":")).encode())


@handler("clientless.dcr_register")
async def register(ctx: RequestContext) -> Outcome:
    body = ctx.json if isinstance(ctx.json, dict) else {}
    statement = body.get("software_statement")
    if not isinstance(statement, str) or statement.count(".") != 2:
        return Failure([ErrorRef("dcr-invalid-request" if not statement else "dcr-invalid-software-statement")])
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
    client = await load(ctx, "dcr-client", values["client_id"])
    if not isinstance(client, dict) or client.get("secret") != values["client_secret"]:
        return Failure([ErrorRef("dcr-invalid-client")])
    if values["grant_type"] != "client_credentials":
        return Failure([ErrorRef("dcr-unsupported-grant-type")])
    return _answer({"id": ctx.generator.uuid(), "access_token": ctx.generator.token(22),
                    "created_at": ctx.clock.now_ms(), "expires_in": int(ctx.options.get("dcr_token_ttl_s", 21600)),
                    "token_type": "bearer"})
