"""The device side of the second-screen flow: reg codes, authN and authZ tokens, media tokens.

Which documented error applies is decided here from the per-session state; what each error says
is in scenarios/clientless.yaml. Success bodies follow the samples of the REST API v1 pages.
"""

from __future__ import annotations

import base64
import string
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from mockserver.apis import handler
from mockserver.apis.clientless import params, resource_id
from mockserver.apis.clientless_format import escape
from mockserver.apis.clientless_state import (
    find_user,
    forget,
    key_part,
    live,
    live_regcode,
    load,
    other_env,
    reply,
    save,
)
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Reply

CODE_ALPHABET = string.ascii_uppercase + string.digits
DEFAULT_REGCODE_TTL_S = 1800  # "If ttl is left empty, Adobe Pass Authentication sets a default value of 30 minutes."


def _fail(error_id: str, **fields: Any) -> Failure:
    return Failure([ErrorRef(error_id, fields)])


def _ttl_ms(ctx: RequestContext, option: str, default_s: int) -> int:
    return int(float(ctx.options.get(option, default_s)) * 1000)


# -- reg codes ------------------------------------------------------------------------------------
CODE_DRAWS = 16  # codes drawn at one length before the next is one character longer
CODE_LENGTHS = 4  # lengths tried: the draws of a request are bounded, whatever the session holds


async def _new_code(ctx: RequestContext, requestor: str) -> str | None:
    """A code no reg code of this requestor has (live or expired: a poll for the old one must not find the new).

    `regcode_length` characters; once CODE_DRAWS codes in a row are taken, one character longer, rather than draw
    forever (`regcode_length: 1` spun the server at 100% CPU once its 36 codes were made) or answer an error: the
    session, not the client, used the codes up, the pages document no answer for it, and a client takes the code
    as it comes (it shows it and polls with it). After CODE_LENGTHS lengths, None (the route's 500): with 4
    characters at least, that is 36**7 codes or more in one session, never met, but a state the loop may not spin on.
    """
    length = int(ctx.options.get("regcode_length", 7))
    for draw in range(CODE_DRAWS * CODE_LENGTHS):
        code = "".join(ctx.generator.rng.choices(CODE_ALPHABET, k=length + draw // CODE_DRAWS))
        if await load(ctx, "regcode", requestor, code) is None:
            return code
    return None


@handler("clientless.create_regcode")
async def create_regcode(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    requestor = ctx.path_params["requestor"]
    # blank is no ttl, as the check that let it through reads it
    ttl_s = int((values.get("ttl") or "").strip() or ctx.options.get("regcode_ttl_s", DEFAULT_REGCODE_TTL_S))
    now = ctx.clock.now_ms()
    code = await _new_code(ctx, requestor)
    if code is None:
        return _fail("internal-server-error")
    device_id = values["deviceId"]
    bearer = (ctx.header("authorization") or "").lower().startswith("bearer ")
    user_agent = ctx.header("user-agent")
    record: dict[str, Any] = {
        "id": ctx.generator.uuid(),
        "code": code,
        "requestor": requestor,
        "mvpd": values.get("mvpd") or None,
        "generated": now,
        "expires": now + ttl_s * 1000,
        "info": {
            "deviceId": base64.b64encode(device_id.encode()).decode(),
            "deviceType": values.get("deviceType") or None,
            "deviceInfo": values.get("device_info") or ctx.header("x-device-info"),
            "userAgent": user_agent,
            "originalUserAgent": user_agent,
            "authorizationType": "OAUTH2" if bearer else None,
        },
    }
    if bearer:  # "Application Info as configured in DCR"
        record["info"]["sourceApplicationInformation"] = dict(ctx.options.get("source_application") or {})
    await save(ctx, {"record": record, "device": device_id}, "regcode", requestor, code)
    return reply(ctx, 201, "ns2:regcode", record, 'xmlns:ns2="model.mvc.reggie.pass.adobe.com"')


@handler("clientless.get_regcode")
async def get_regcode(ctx: RequestContext) -> Outcome:
    found = await live_regcode(ctx, ctx.path_params["requestor"], ctx.path_params["code"])
    if found is None:
        return _fail("regcode-record-not-found")
    return reply(ctx, 200, "ns2:regcode", found["record"], 'xmlns:ns2="model.mvc.reggie.pass.adobe.com"')


@handler("clientless.delete_regcode")
async def delete_regcode(ctx: RequestContext) -> Outcome:
    requestor, code = ctx.path_params["requestor"], ctx.path_params["code"].upper()
    if await live_regcode(ctx, requestor, code) is None:
        return _fail("regcode-record-not-found")
    await forget(ctx, "regcode", requestor, code)
    return Reply(204, [])


# -- configuration and authentication -------------------------------------------------------------
@handler("clientless.config")
async def config(ctx: RequestContext) -> Outcome:
    mvpds = [dict(m) for m in ctx.options.get("mvpds") or [] if isinstance(m, dict)]
    return reply(ctx, 200, "config", {"requestor": {"id": ctx.path_params["requestor"], "mvpds": {"mvpd": mvpds}}})


def redirect_error(ctx: RequestContext, values: dict[str, str]) -> str | None:
    """domain_name must be registered; redirect_url must parse ("Malformed url") and stay on it (or under it)."""
    domain = values.get("domain_name", "").strip().lower()
    registered = [str(d).lower() for d in ctx.options.get("registered_domains") or []]
    if registered and domain not in registered:
        return "cross-domain"
    try:
        host = (urlsplit(values.get("redirect_url", "")).hostname or "").lower()
    except ValueError:  # an unbalanced [ or ] around the host
        return "malformed-url"
    return "cross-domain" if host and host != domain and not host.endswith("." + domain) else None


@handler("clientless.authenticate")
async def authenticate(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    requestor, code = values["requestor_id"], values.get("reg_code", "").strip()
    if not code or await live_regcode(ctx, requestor, code) is None:
        elsewhere = code and await live_regcode(ctx, requestor, code, env=other_env(ctx))
        return _fail("environment-mismatch" if elsewhere else "regcode-not-found")
    if error := redirect_error(ctx, values):
        return _fail(error)
    kept = ("requestor_id", "reg_code", "domain_name", "redirect_url")
    query: dict[str, str] = {k: values[k] for k in kept if k in values}
    location = f"{ctx.base_url}/mvpd/{quote(values['mso_id'], safe='')}/login?{urlencode(query)}"
    return Reply(302, [("Location", location)])


@handler("clientless.freepreview")
async def freepreview(ctx: RequestContext) -> Outcome:
    """Temp Pass: the device gets an authN token for `mso_id` at once, as after a second-screen login."""
    values = params(ctx)
    if error := redirect_error(ctx, values):
        return _fail(error)
    now = ctx.clock.now_ms()
    token = {"requestor": values["requestor_id"], "mvpd": values["mso_id"], "userId": ctx.generator.hex(32),
             "username": "", "generated": now, "expires": now + _ttl_ms(ctx, "temp_pass_ttl_s", 3600)}
    await save(ctx, token, "authn", values["requestor_id"], values["deviceId"])
    return Reply(204, [])


def _authn_body(ctx: RequestContext, token: dict[str, Any]) -> dict[str, Any]:
    """Members in the order of the page's XML or JSON sample."""
    if ctx.variables.get("fmt") == "xml":
        return {"expires": str(token["expires"]), "userId": token["userId"], "mvpd": token["mvpd"],
                "requestor": token["requestor"]}
    return {"requestor": token["requestor"], "mvpd": token["mvpd"], "userId": token["userId"],
            "expires": str(token["expires"])}


async def _authn(ctx: RequestContext, requestor: str, device: str) -> dict[str, Any] | None:
    found = await load(ctx, "authn", requestor, device)
    return found if isinstance(found, dict) else None


async def _authn_by_code(ctx: RequestContext, requestor: str, code: str) -> dict[str, Any] | None:
    device = await load(ctx, "authn-code", requestor, code.upper())
    return await _authn(ctx, requestor, str(device)) if device is not None else None


@handler("clientless.checkauthn_code")
async def checkauthn_code(ctx: RequestContext) -> Outcome:
    token = await _authn_by_code(ctx, params(ctx)["requestor"], ctx.path_params["code"])
    return Reply(200, []) if live(ctx, token) else _fail("checkauthn-forbidden")


@handler("clientless.authenticate_code")
async def authenticate_code(ctx: RequestContext) -> Outcome:
    """The legacy device poll `GET /api/v1/authenticate/{code}`: 404 until the user logged in."""
    token = await _authn_by_code(ctx, params(ctx)["requestor"], ctx.path_params["code"])
    if token is None or not live(ctx, token):
        return _fail("authn-token-not-found")
    return reply(ctx, 200, "authentication", _authn_body(ctx, token))


async def _device_authn(ctx: RequestContext, missing: str, expired: str) -> dict[str, Any] | Failure:
    """The device's live authN token, or the route's error for a missing or an expired one."""
    values = params(ctx)
    token = await _authn(ctx, values["requestor"], values["deviceId"])
    if token is None:
        return _fail(missing)
    return token if live(ctx, token) else _fail(expired)


@handler("clientless.checkauthn")
async def checkauthn(ctx: RequestContext) -> Outcome:
    token = await _device_authn(ctx, "not-authenticated", "authn-token-expired")
    return token if isinstance(token, Failure) else Reply(200, [])


@handler("clientless.tokens_authn")
async def tokens_authn(ctx: RequestContext) -> Outcome:
    token = await _device_authn(ctx, "authn-token-not-found", "authn-token-gone")
    return token if isinstance(token, Failure) else reply(ctx, 200, "authentication", _authn_body(ctx, token))


# -- authorization --------------------------------------------------------------------------------
def denied(ctx: RequestContext, token: dict[str, Any], resource: str) -> bool:
    user = find_user(ctx, str(token.get("username", ""))) or {}
    refused = [str(r) for r in (ctx.options.get("denied_resources") or [])]
    refused += [str(r) for r in (user.get("denied_resources") or [])]
    return resource_id(resource) in refused


async def _decide(ctx: RequestContext, token: dict[str, Any] | None, resource: str) -> Failure | None:
    """authorize and mediatoken: 403 without authN, with an expired one, or when the MVPD says no."""
    if token is None:
        return _fail("not-authenticated")
    if not live(ctx, token):
        return _fail("authn-token-expired")
    if denied(ctx, token, resource):
        return _fail("authorization-denied", parameter=resource_id(resource))
    return None


async def _authorized(ctx: RequestContext) -> tuple[str, str, dict[str, Any], int] | Failure:
    """authorize and mediatoken: the decision, and the authZ token kept when it is yes."""
    values = params(ctx)
    requestor, device, resource = values["requestor"], values["deviceId"], values["resource"]
    token = await _authn(ctx, requestor, device)
    refused = await _decide(ctx, token, resource)
    if refused is not None or token is None:
        return refused or _fail("not-authenticated")
    expires = ctx.clock.now_ms() + _ttl_ms(ctx, "authz_ttl_s", 86400)
    await save(ctx, {"expires": expires, "mvpd": token["mvpd"]}, "authz", requestor, device, resource)
    return requestor, resource, token, expires


@handler("clientless.authorize")
async def authorize(ctx: RequestContext) -> Outcome:
    granted = await _authorized(ctx)
    if isinstance(granted, Failure):
        return granted
    requestor, resource, token, expires = granted
    return reply(ctx, 200, "authorization", _authz_body(ctx, token["mvpd"], resource, requestor, expires))


def _authz_body(ctx: RequestContext, mvpd: str, resource: str, requestor: str, expires: int) -> dict[str, Any]:
    if ctx.variables.get("fmt") == "xml":
        return {"expires": str(expires), "mvpd": mvpd, "requestor": requestor, "resource": resource}
    return {"mvpd": mvpd, "resource": resource, "requestor": requestor, "expires": str(expires)}


@handler("clientless.tokens_authz")
async def tokens_authz(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    requestor, device, resource = values["requestor"], values["deviceId"], values["resource"]
    if not live(ctx, await _authn(ctx, requestor, device)):
        return _fail("authz-not-authenticated")
    grant = await load(ctx, "authz", requestor, device, resource)
    if grant is None:
        return _fail("authz-token-not-found")
    if not live(ctx, grant):
        return _fail("authz-token-expired")
    return reply(ctx, 200, "authorization", _authz_body(ctx, grant["mvpd"], resource, requestor, grant["expires"]))


@handler("clientless.mediatoken")
async def mediatoken(ctx: RequestContext) -> Outcome:
    granted = await _authorized(ctx)
    if isinstance(granted, Failure):
        return granted
    requestor, resource, token, _ = granted
    now = ctx.clock.now_ms()
    expires = now + _ttl_ms(ctx, "media_token_ttl_s", 420)
    signed = (
        f"<signatureInfo>{ctx.generator.hex(40)}</signatureInfo><authToken><sessionGUID>{ctx.generator.uuid()}"
        f"</sessionGUID><requestorID>{escape(requestor)}</requestorID><resourceID>{escape(resource)}</resourceID>"
        f"<ttl>{expires - now}</ttl><issueTime>{now}</issueTime><mvpdId>{escape(token['mvpd'])}</mvpdId></authToken>"
    )
    serialized = base64.b64encode(signed.encode()).decode()
    if ctx.variables.get("fmt") == "xml":
        body = {"expires": str(expires), "mvpdId": token["mvpd"], "requestor": requestor, "resource": resource,
                "serializedToken": serialized, "userId": token["userId"]}
    else:
        body = {"resource": resource, "requestor": requestor, "expires": str(expires), "serializedToken": serialized,
                "userId": token["userId"], "mvpdId": token["mvpd"]}
    return reply(ctx, 200, "play", body)


@handler("clientless.preauthorize")
async def preauthorize(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    requestor = values["requestor"]
    if "code" in ctx.path_params:
        token = await _authn_by_code(ctx, requestor, ctx.path_params["code"])
    else:
        token = await _authn(ctx, requestor, values["deviceId"])
    if token is None or not live(ctx, token):
        return _fail("preauthorize-precondition-failed")
    documented = ctx.api.errors["authorization-denied"]
    decisions: list[dict[str, Any]] = []
    for resource in (r.strip() for r in values["resource"].split(",")):
        if not resource:
            continue
        if not denied(ctx, token, resource):
            decisions.append({"id": resource, "authorized": True})
            continue
        fields = documented.fields
        error = {"status": documented.status, "code": fields.get("code"),
                 "message": fields.get("message") or documented.title,
                 "details": str(fields.get("details", "")).replace("<>", resource_id(resource)),
                 "helpUrl": fields.get("helpUrl"), "trace": ctx.generator.uuid(), "action": fields.get("action")}
        decisions.append({"id": resource, "authorized": False, "error": error})
    listed = {"resource": decisions} if ctx.variables.get("fmt") == "xml" else {"resources": decisions}
    answer = reply(ctx, 200, "resources", listed)
    # The samples' headers, their Content-Type spelling included ("application/json; charset=utf-8").
    fmt = str(ctx.variables.get("fmt", "xml"))
    answer.headers = [("Content-Type", f"application/{fmt}; charset=utf-8"),
                      ("Adobe-Request-Id", ctx.generator.uuid()), ("Adobe-Response-Confidence", "full")]
    return answer


@handler("clientless.logout")
async def logout(ctx: RequestContext) -> Outcome:
    """Clears the AuthN and AuthZ tokens of the device (and, as documented, not the MVPD session)."""
    values = params(ctx)
    device = key_part(values["deviceId"])
    requestors = [key_part(values["requestor"])] if values.get("requestor") else None
    for name in await ctx.state.keys(ctx.session, "clientless:"):
        parts = name.split(":")  # each part's own `:` escaped (key_part)
        if len(parts) >= 5 and parts[2] in ("authn", "authz") and parts[4] == device:
            if parts[1] == str(ctx.variables.get("environment")) and (requestors is None or parts[3] in requestors):
                await ctx.state.delete(ctx.session, name)
    return Reply(204, [])


@handler("clientless.usermetadata")
async def usermetadata(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    token = await _authn(ctx, values.get("requestor", ""), values["deviceId"])
    if token is None or not live(ctx, token):
        return _fail("usermetadata-invalid-authn")
    user = find_user(ctx, str(token.get("username", ""))) or {}
    metadata = user.get("metadata")
    if not metadata:
        return _fail("usermetadata-not-found")
    return reply(ctx, 200, "metadata", {"updated": int(token["generated"]) // 1000, "encrypted": [],
                                         "data": dict(metadata)})
