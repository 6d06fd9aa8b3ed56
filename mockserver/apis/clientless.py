"""Adobe Pass clientless (REST API v1): what scenarios/clientless.yaml cannot say by itself.

The hook runs first on every request: it picks the answer format (XML or JSON), the environment
the Host stands for (production or staging), refuses a prequal host reached without spoofing, and
throttles per device IP as the throttling page documents (1 request/s, burst 10). The checks read
the Authorization header (legacy signed header or Bearer) and the mandatory parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from mockserver.apis import before, check
from mockserver.apis.clientless_format import CONTENT_TYPES, choose, encode, split_suffix
from mockserver.apis.clientless_state import PRODUCTION, STAGING, live, load
from mockserver.engine.context import RequestContext
from mockserver.engine.flags import decimal
from mockserver.engine.outcome import ErrorRef, Failure

API = "clientless"
# The endpoints the throttling page lists (paths as this API sees them, suffix taken off). It lists
# "/api/v1/authenticate/": the device poll and freepreview, not the login web app's GET /api/v1/authenticate.
THROTTLED = re.compile(
    r"^/(?:o/client/(?:register|token|scopes|validate)|api/v2/.*|api/v1/tokens/(?:usermetadata|authn|authz|media)"
    r"|api/v1/config/.*|api/v1/checkauthn.*|api/v1/logout|api/v1/authorize|api/v1/preauthorize.*"
    r"|api/v1/mediatoken|api/v1/authenticate/.*|api/v1/.+/profile-requests/.+|api/v1/identities"
    r"|adobe-services/config/.*|reggie/v1/.+/regcode(?:/.+)?)$"
)
# The legacy signed header: `<METHOD> requestor_id=.., nonce=.., signature_method=HMAC-SHA1,
# request_time=.., request_uri=.., public_key=.., signature=..` (request_uri may hold commas).
_LEGACY = re.compile(
    r"^(?P<method>[A-Za-z]+) requestor_id=(?P<requestor_id>[^,]*), nonce=(?P<nonce>[^,]*), "
    r"signature_method=(?P<signature_method>[^,]*), request_time=(?P<request_time>[^,]*), "
    r"request_uri=(?P<request_uri>.*), public_key=(?P<public_key>[^,]*), signature=(?P<signature>[^,]*)$",
    re.DOTALL,
)
# A '%' that starts no escape (two hex digits): the seed's "Malformed url for POST/GET".
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class LegacyAuthorization:
    method: str
    requestor_id: str
    nonce: str
    signature_method: str
    request_time: str
    request_uri: str
    public_key: str
    signature: str
    signed: str  # what the HMAC covers: everything before ", public_key="


def parse_legacy(header: str) -> LegacyAuthorization | None:
    """The legacy header's fields, or None when it does not have that shape."""
    found = _LEGACY.match(header.strip())
    if found is None:
        return None
    signed = header.strip()[: found.start("public_key") - len(", public_key=")]
    return LegacyAuthorization(signed=signed, **found.groupdict())


def legacy_signature(secret: str, signed: str) -> str:
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def in_milliseconds(request_time: str) -> bool:
    """Epoch milliseconds have 13 digits from 2001 to 2286: fewer are seconds, more micro- or nanoseconds."""
    millis = decimal(request_time)
    return millis is not None and 10**12 <= millis < 10**13


def bearer_token(header: str | None) -> str | None:
    """The token of `Bearer <token>` ("" when there is none), or None for a header of another scheme."""
    scheme, _, token = (header or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authorization_errors(header: str | None, method: str, options: Mapping[str, Any]) -> list[ErrorRef]:
    """The seed's 'Not Authorized' causes: a POST without the header, a request_time not in ms."""
    if header is None or not header.strip():
        required = [str(m).upper() for m in options.get("authorization_required_methods", ["POST"])]
        return [ErrorRef("missing-authorization")] if method in required else []
    token = bearer_token(header)
    if token is not None:
        return [] if token else [ErrorRef("authorization-invalid")]
    legacy = parse_legacy(header)
    if legacy is None:
        return [ErrorRef("authorization-invalid")]
    if not in_milliseconds(legacy.request_time.strip()):
        return [ErrorRef("request-time-not-milliseconds")]
    secret = (options.get("requestor_secrets") or {}).get(legacy.requestor_id)
    if secret and not hmac.compare_digest(legacy_signature(str(secret), legacy.signed), legacy.signature.strip()):
        return [ErrorRef("authorization-invalid")]
    return []


def params(ctx: RequestContext) -> dict[str, str]:
    """Query parameters and form fields (first value each): the docs let both carry them."""
    found = dict(ctx.variables.get("params") or {})
    if not found:
        found = {k: v[0] for k, v in ctx.query.items()}
        if ctx.body and ctx.content_type in ("application/x-www-form-urlencoded", ""):
            text = ctx.body.decode("utf-8", "replace")
            for name, value in parse_qsl(text, keep_blank_values=True):
                found.setdefault(name, value)
    return found


def environment(ctx: RequestContext) -> str:
    """The Host decides: {api,sp}.auth-staging.adobe.com is staging, {api,sp}.auth.adobe.com production."""
    host = ctx.host.lower()
    if "auth-staging" in host:
        return STAGING
    if "auth.adobe.com" in host:
        return PRODUCTION
    return STAGING if str(ctx.options.get("environment", PRODUCTION)).lower() == STAGING else PRODUCTION


def device_ip(ctx: RequestContext) -> str:
    forwarded = ctx.header("x-forwarded-for")
    if forwarded and forwarded.split(",")[0].strip():
        return forwarded.split(",")[0].strip()
    return ctx.client_ip or "unknown"


def malformed_url(ctx: RequestContext) -> bool:
    """A broken percent-escape, or escapes that are not UTF-8, in the path or the query.

    The service is a Tomcat/Spring one: Tomcat refuses such a URL (400) rather than guess what it
    meant. The path arrives decoded (an undecodable escape shows as U+FFFD, a broken one stays as
    '%'); the query is read raw.
    """
    if "\ufffd" in ctx.path or _BAD_ESCAPE.search(ctx.path):
        return True
    query = ctx.raw_query.decode("latin-1")
    if _BAD_ESCAPE.search(query):
        return True
    try:
        unquote_to_bytes(query.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def throttle_status(ctx: RequestContext) -> int:
    """403 as the seed says, or 429 as the newer throttling page says: per request `__throttle=429` or
    `Prefer: throttle=429`, else `options.throttle_status`."""
    if ctx.flags.throttle is not None:
        return ctx.flags.throttle
    return 429 if ctx.options.get("throttle_status", 403) == 429 else 403


async def over_limit(ctx: RequestContext) -> bool:
    """nginx's limit_req (burst, nodelay): the docs' table of 0.3 s calls comes out the same."""
    if not ctx.options.get("throttle_enabled", True):
        return False
    rate = float(ctx.options.get("throttle_rate", 1))
    burst = float(ctx.options.get("throttle_burst", 10))
    key = f"clientless:throttle:{device_ip(ctx)}"
    while True:  # compare-and-set until this request's count is in: each lost round is another request's count won
        now_ms = ctx.clock.now_ms()
        previous = await ctx.state.get(ctx.session, key)
        excess = 0.0
        if previous is not None:
            elapsed = max(0, now_ms - int(previous["last"]))
            excess = max(0.0, float(previous["excess"]) - rate * elapsed / 1000 + 1)
            if excess > burst:
                return True
        if await ctx.state.compare_and_set(ctx.session, key, previous, {"excess": excess, "last": now_ms}):
            return False


def resource_id(resource: str) -> str:
    """A plain resource id, or the channel title of an MRSS resource."""
    text = resource.strip()
    if text.startswith("<"):
        start = text.find("<title>")
        end = text.find("</title>", start)
        if start >= 0 and end > start:
            title = text[start + len("<title>") : end].strip()
            return title.removeprefix("<![CDATA[").removesuffix("]]>").strip()
    return text


# Read as integers (the loader refuses anything else): a reg code's life and its limit are whole seconds, as the
# `ttl` parameter is (`regcode_ttl_s: 1.5` made codes live 1 s), so is the DCR token's `expires_in` it answers, and
# a length is a number of characters. The other lives (authn_ttl_s ...) and the throttle's rate and burst take a
# fraction, and honour it: the lives are counted in milliseconds, the bucket's excess is a fraction of a request.
INTEGER_OPTIONS = ("regcode_ttl_s", "max_regcode_ttl_s", "dcr_token_ttl_s", "regcode_length")


@before(API, variables={"params", "fmt", "content_type", "serialize", "environment", "resource", "expired_bearer"},
        flags={"throttle"}, integer_options=INTEGER_OPTIONS)
async def prepare(ctx: RequestContext) -> Failure | None:
    ctx.path, suffix = split_suffix(ctx.path)
    values = params(ctx)
    fmt = choose(suffix, values.get("format"), ctx.header("accept"), str(ctx.options.get("default_format", "json")))
    ctx.variables.update(
        params=values,
        fmt=fmt,
        content_type=CONTENT_TYPES[fmt],
        serialize=partial(encode, fmt),
        environment=environment(ctx),
        resource=resource_id(values.get("resource", "")),  # a denial's channel, when the error was asked by flag
    )
    # A DCR access token this session issued and whose expires_in has run out on the clock is refused
    # (dynamic-client-registration-faqs.md: get a new one "before the current one expires to prevent
    # unauthorized requests"). A token the mock never issued is taken, so a test may send any Bearer.
    token = bearer_token(ctx.header("authorization"))
    if token:
        issued = await load(ctx, "dcr-token", token)
        ctx.variables["expired_bearer"] = issued is not None and not live(ctx, issued)
    if "prequal" in ctx.host.lower():  # the host itself is wrong: before any route, as a malformed URL is
        return Failure([ErrorRef("prequal-spoofing")])
    status = throttle_status(ctx)
    # A request that asks for an error by flag (`__error`, `__code`) gets that error, spent bucket or
    # not (GUIDE: on any route): this hook runs before the flags, and its 403 would answer something
    # else than was asked. The request still takes its token, as every request does.
    if THROTTLED.match(ctx.path) and await over_limit(ctx) and not ctx.flags.asks_error:
        return Failure([ErrorRef("too-many-requests-429" if status == 429 else "too-many-requests")])
    if ctx.flags.throttle is not None:  # Preference-Applied names it on the throttled answer only (RFC 7240)
        ctx.flags.given = [g for g in ctx.flags.given if not g.startswith("throttle=")]
    if malformed_url(ctx):
        return Failure([ErrorRef("malformed-url")])
    return None


@check("clientless.authorization",
       errors=("authorization-invalid", "request-time-not-milliseconds", "missing-authorization"))
def check_authorization(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    if ctx.variables.get("expired_bearer"):
        return [ErrorRef("authorization-invalid")]
    return authorization_errors(ctx.header("authorization"), ctx.method, ctx.options)


@check("clientless.required", args={"params": list}, errors=("missing-parameter",))
def check_required(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """The first mandatory parameter missing: `Required '<>' is not present`."""
    values = params(ctx)
    for name in args.get("params", []):
        alternatives = name.split("|")  # device_info|X-Device-Info: a parameter or a header
        if not any(values.get(a, "").strip() or ctx.header(a) for a in alternatives):
            return [ErrorRef("missing-parameter", {"parameter": alternatives[0]})]
    return []


@check("clientless.ttl")
def check_ttl(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """`ttl` over 36000 s (or not a number of seconds) is a 400, as the regcode page says."""
    ttl = params(ctx).get("ttl", "").strip()
    if not ttl:
        return False
    seconds = decimal(ttl)
    return seconds is None or not 0 < seconds <= int(ctx.options.get("max_regcode_ttl_s", 36000))
