"""Audience Manager DCS: which documented codes a request earns, computed from the raw request.

scenarios/dcs.yaml orders the stages the way the DCS handles a call (size, host, encoding, access,
privacy, then the ids it keeps); each check here answers one stage with every code it found, sorted
by code like the documentation's `X-Error: 101,102`. Codes and messages are the file's; the partner
list, org ids, referers, IMS tokens, countries, the CMP list and the limits are its `options`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mockserver.apis import before, check, handler
from mockserver.apis import dcs_ids as ids
from mockserver.apis.dcs_options import deleted_at, pattern
from mockserver.apis.dcs_query import badly_encoded
from mockserver.apis.dcs_tcf import decode_segment, parse
from mockserver.apis.dcs_view import DcsRequest, valid_aam_id
from mockserver.engine.clock import as_float
from mockserver.engine.context import RequestContext
from mockserver.engine.flags import Misuse
from mockserver.engine.outcome import ErrorRef, Success

Found = list[ErrorRef] | bool
OPT_OUT_COOKIE = "Path=/; Max-Age=315360000"


def request_of(ctx: RequestContext) -> DcsRequest:
    found = ctx.variables.get("dcs")
    if not isinstance(found, DcsRequest):
        found = ctx.variables["dcs"] = DcsRequest(ctx)
    return found


@before("dcs", variables={"dcs"}, integer_options={"max_get_bytes", "max_post_bytes", "namespace_limit",
                                                   "customer_id_limit", "region"})
def parse_request(ctx: RequestContext) -> None:
    """Every template of the API, flag-asked errors included, reads the request as `dcs`."""
    request_of(ctx)


def _by_code(found: list[ErrorRef]) -> Found:
    return sorted(found, key=lambda ref: int(ref.id)) or False


def _upper(values: Any) -> set[str]:
    return {str(v).strip().upper() for v in values or []}


# -- stages before the DCS reads the ids ---------------------------------------------------
@check("dcs.oversized", errors=("uri-too-long", "payload-too-large"))
def oversized(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    """GET calls are limited to 8K, POST bodies to 32K (dcs-api-methods.md)."""
    if len(ctx.path) + 1 + len(ctx.raw_query) > int(ctx.options.get("max_get_bytes", 8192)):
        return [ErrorRef("uri-too-long")]
    if len(ctx.body) > int(ctx.options.get("max_post_bytes", 32768)):
        return [ErrorRef("payload-too-large")]
    return False


@check("dcs.no_host", errors=("100",))
def no_host(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    # An empty `Host:` names no host either (what httpx or requests send for headers={"Host": ""}).
    return [ErrorRef("100")] if not (request_of(ctx).host_header or "").strip() else False


@check("dcs.unknown_partner", errors=("1",))
def unknown_partner(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    return [ErrorRef("1", {"hostname": ctx.host})] if request_of(ctx).partner is None else False


@check("dcs.bad_encoding", errors=("311",))
def bad_encoding(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    """311: the DCS disregards the whole call when one parameter is not properly encoded."""
    bad = badly_encoded(ctx.raw_query) or badly_encoded(request_of(ctx).form)
    return [ErrorRef("311")] if bad else False


def org_configured(orgid: str, options: Mapping[str, Any]) -> bool:
    """An org in `org_ids`, or one of Adobe's form (`org_id_pattern`): a real client sends its own org,
    which no bundled list can know; a value that cannot be an org id still gets code 2."""
    if orgid in {str(o) for o in options.get("org_ids") or []}:
        return True
    org_pattern = options.get("org_id_pattern")  # it compiles: the loader refused one that does not
    return bool(org_pattern) and pattern(str(org_pattern)).fullmatch(orgid) is not None


@check("dcs.refused", errors=("2", "101", "102", "109", "111"))
def refused(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    """2 (unknown org), 101/102 (malformed ECID / AAM UUID), 109 (referer not allowed for the partner),
    111 (bad IMS token): each one found is reported, then the call is refused (the page's sample body)."""
    request, options = request_of(ctx), ctx.options
    partner = request.partner or {}
    found = []
    orgid = request.params.first("d_orgid")
    if orgid is not None and not org_configured(orgid, options):
        found.append(ErrorRef("2", {"orgid": orgid}))
    mid, sent_uuid = request.params.first("d_mid"), request.params.first("d_uuid")
    if mid is not None and not valid_aam_id(mid):
        found.append(ErrorRef("101", {"mid": mid}))
    if sent_uuid is not None and not valid_aam_id(sent_uuid):
        found.append(ErrorRef("102", {"sent_uuid": sent_uuid}))
    referer = ctx.header("referer")
    if referer is not None and not _referer_allowed(referer, partner.get("referers")):
        found.append(ErrorRef("109", {"referer": referer, "partner_id": partner.get("id", request.alias)}))
    authorization = ctx.header("authorization")
    if authorization is not None and not _ims_token_valid(authorization, options, ctx.clock.now()):
        found.append(ErrorRef("111"))
    return _by_code(found)


def _referer_allowed(referer: str, patterns: Any) -> bool:
    if not patterns:
        return True
    try:
        host = urlsplit(referer.strip()).hostname
    except ValueError:
        return False
    return bool(host) and any(fnmatch.fnmatchcase(str(host), str(p).lower()) for p in patterns)


def _ims_token_valid(header: str, options: Mapping[str, Any], now: float) -> bool:
    """`Bearer <IMS access token>`: a JWT whose expiry (`exp`, or `created_at` + `expires_in`) is ahead."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    allowed = options.get("ims_tokens") or []
    if allowed:
        return token in {str(t) for t in allowed}
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(decode_segment(parts[1]))
        if not isinstance(claims, dict):
            return False
        if "exp" in claims:
            return as_float(claims["exp"]) > now
        if "created_at" in claims and "expires_in" in claims:
            return as_float(int(claims["created_at"]) + int(claims["expires_in"])) / 1000 > now
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        return False
    return True


# -- privacy: the DCS stops and discards the call ------------------------------------------
@check("dcs.blocked", errors=("171", "172", "198", "199", "315"))
async def blocked(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    """199/198 by country (the `X-Mock-Country` header stands in for GeoIP), 172, 171, 315."""
    request, options = request_of(ctx), ctx.options
    found = []
    country, cookies = _mock_headers(ctx)
    if country and country in _upper(options.get("blocked_countries")):
        found.append(ErrorRef("199", {"country": country}))
    elif country and country in _upper((request.partner or {}).get("blocked_countries")):
        found.append(ErrorRef("198", {"country": country}))
    if cookies == "blocked":
        found.append(ErrorRef("172"))
    opted_out = await _opted_out(ctx, request)
    if opted_out is not None:
        found.append(ErrorRef("171", {"opted_out": opted_out}))
    found.extend(consent(request)[0])
    return _by_code(found)


_COUNTRY = re.compile(r"[A-Z]{2}")
COOKIE_STATES = ("blocked", "allowed")


def _mock_headers(ctx: RequestContext) -> tuple[str, str]:
    """`X-Mock-Country` (an ISO 3166-1 alpha-2 code) and `X-Mock-Cookies` (blocked or allowed), the mock's own
    stand-ins for GeoIP and the browser's cookie test. A value of another form is misuse (GUIDE §2): `IRN` or
    `Iran` doing nothing would read as a client that handled a block it never got."""
    country = (ctx.header("x-mock-country") or "").strip().upper()
    if country and not _COUNTRY.fullmatch(country):
        raise Misuse(f"header X-Mock-Country takes a two-letter ISO 3166-1 code (IR, CU, AQ ...), not '{country}'",
                     ["two letters, as IR"])
    cookies = (ctx.header("x-mock-cookies") or "").strip().lower()
    if cookies and cookies not in COOKIE_STATES:
        raise Misuse(f"header X-Mock-Cookies takes blocked or allowed, not '{cookies}'", list(COOKIE_STATES))
    return country, cookies


async def _opted_out(ctx: RequestContext, request: DcsRequest) -> str | None:
    """The id an opt-out was recorded for (cookie, /demoptout call, `d_optout`), or None."""
    sent_uuid = request.params.first("d_uuid") or ""
    if request.params.first("d_optout") not in (None, "", "0") or request.cookie("demdex") == "NOTARGET":
        return sent_uuid
    marks = [(f"uuid:{u}", u) for u in (sent_uuid, request.cookie("demdex")) if u and valid_aam_id(u)]
    mid = request.params.first("d_mid") or ""
    if valid_aam_id(mid):
        marks.append((f"mid:{mid}", mid))
    marks += [(f"cid:{c.namespace}:{c.user_id}", c.user_id) for c in request.customer_ids if c.user_id]
    for scope in (request.alias, "*"):
        for mark, opted_out in marks:
            if await ctx.state.get(ctx.session, f"dcs:optout:{scope}:{mark}"):
                return opted_out
    return None


def consent(request: DcsRequest) -> tuple[list[ErrorRef], list[ErrorRef]]:
    """(stopping, warning) codes of the IAB TCF plug-in for `gdpr=1`; read once per request."""
    if "consent" not in request.cache:
        request.cache["consent"] = _consent(request)
    result: tuple[list[ErrorRef], list[ErrorRef]] = request.cache["consent"]
    return result


def _consent(request: DcsRequest) -> tuple[list[ErrorRef], list[ErrorRef]]:
    if request.params.first("gdpr") != "1":
        return [], []
    try:
        tc = parse(request.params.first("gdpr_consent") or "")
    except ValueError:
        return [ErrorRef("315")], []  # absent, unreadable or version 1: no valid consent
    options = request.options
    gcl = options.get("gcl") or {}
    if str(tc.cmp_id) not in gcl:
        return [], [ErrorRef("313", {"cmp_id": tc.cmp_id})]  # string discarded, call processed as usual
    listed = gcl[str(tc.cmp_id)] or {}  # `"10":` (null) is listed, as `"10": {}`
    deleted = deleted_at(listed.get("deletedDate"))  # it parses: the loader refused one that does not
    if deleted is not None and deleted <= request.ctx.clock.now():
        return [], [ErrorRef("314", {"cmp_id": tc.cmp_id})]
    needs = options.get("tcf") or {}
    purposes = frozenset(int(p) for p in needs.get("purposes", [1, 10]))
    if not tc.consents(int(needs.get("vendor_id", 565)), purposes):
        return [ErrorRef("315")], []
    return [], []


# -- the ids the DCS keeps: warnings, the call still answers with the profile ---------------
@check("dcs.profile_codes", errors=("104", "300", "301", "302", "303", "304", "306", "307", "309", "310",
                                    "312", "313", "314"))
async def profile_codes(ctx: RequestContext, args: Mapping[str, Any]) -> Found:
    """The customer-id codes, deny-listed ids, 313/314 (the ECID and AAM UUID are well formed: dcs.refused)."""
    request = request_of(ctx)
    found: list[ErrorRef] = []
    mid, sent_uuid = request.params.first("d_mid"), request.params.first("d_uuid")
    review = ids.review(request.customer_ids, ctx.options, request.partner or {})
    found.extend(review.errors)
    kept = []
    for cid in review.kept:
        if await _denied(ctx, "customer", cid.user_id):
            found.append(ErrorRef("303", {"customer": cid.user_id}))
            review.invalid += 1
        else:
            kept.append(cid)
    if review.kept and review.invalid == len(request.customer_ids):  # the last ones deny-listed by ID monitoring
        found.append(ErrorRef("104"))
    for device in dict.fromkeys(v for v in (sent_uuid, mid) if v):
        if await _denied(ctx, "device", device):
            found += [ErrorRef("306", {"device": device}), ErrorRef("307", {"device": device})]
    found.extend(consent(request)[1])
    await _map_uuid(ctx, request, kept, mid)
    return _by_code(found)


async def _denied(ctx: RequestContext, kind: str, value: str) -> bool:
    """On the deny list: listed in the options, or sent more often than ID monitoring allows."""
    listed = (ctx.options.get("denylist") or {}).get(f"{kind}_ids") or []
    denied_key = f"dcs:denied:{kind}:{value}"
    if value in {str(v) for v in listed} or await ctx.state.get(ctx.session, denied_key):
        return True
    monitoring = ctx.options.get("id_monitoring") or {}
    limit, window = int(monitoring.get("max_requests", 0)), float(monitoring.get("window_s", 60))
    if limit <= 0 or window <= 0:
        return False
    bucket = int(ctx.clock.now() // window)
    seen = await ctx.state.incr(ctx.session, f"dcs:seen:{kind}:{value}:{bucket}", ttl_s=2 * window)
    if seen > limit:
        await ctx.state.set(ctx.session, denied_key, True)
        return True
    return False


def _link_key(namespace: str, user_id: str) -> str:
    return f"dcs:uuid:cid:{namespace}:{user_id}"


async def _map_uuid(ctx: RequestContext, request: DcsRequest, kept: list[ids.CustomerId], mid: str | None) -> None:
    """A declared id (or an ECID) answers the AAM UUID it was linked to last: declared-ids.md, "The most
    recent mapping is used if your ID maps to more than one Audience Manager ID"; a d_uuid or demdex
    cookie sent with it is a new link."""
    if kept:
        key = _link_key(kept[0].namespace, kept[0].user_id)
    elif mid and valid_aam_id(mid):
        key = f"dcs:uuid:mid:{mid}"
    else:
        return
    known = await ctx.state.get(ctx.session, key)
    if isinstance(known, str):
        request.mapped_uuid = known
    if request.uuid != known:
        await ctx.state.set(ctx.session, key, request.uuid)


# -- /demoptout.jpg --------------------------------------------------------------------------
@handler("dcs.opt_out")
async def opt_out(ctx: RequestContext) -> Success:
    """Partner-level opt-out of the declared ids / d_uuid / d_mid sent; with none, the global cookie opt-out.

    opt-out-management's device-ID calls name the device by `d_uuid=123` or by `d_mid=123&d_orgid=...`
    (an ECID): either is a partner-level opt-out of that device, not the global one.
    """
    request = request_of(ctx)
    scope = request.alias if request.partner is not None else "*"
    declared = [c for c in request.customer_ids if c.user_id]
    marks = [f"cid:{c.namespace}:{c.user_id}" for c in declared]
    sent_uuid, mid = request.params.first("d_uuid"), request.params.first("d_mid")
    if mid and valid_aam_id(mid):
        marks.append(f"mid:{mid}")
    headers: list[tuple[str, str]] = []
    if not marks and not sent_uuid:
        scope, sent_uuid = "*", request.cookie("demdex")
        headers = [("Set-Cookie", f"{name}=NOTARGET; {OPT_OUT_COOKIE}") for name in ("demdex", "dextp")]
    if sent_uuid and valid_aam_id(sent_uuid):
        marks.append(f"uuid:{sent_uuid}")
    elif declared:
        marks += [f"uuid:{device}" for device in await _linked_devices(ctx, request, declared)]
    for mark in marks:
        await ctx.state.set(ctx.session, f"dcs:optout:{scope}:{mark}", True)
    return Success(headers=headers)


async def _linked_devices(ctx: RequestContext, request: DcsRequest, declared: list[ids.CustomerId]) -> list[str]:
    """The AAM UUIDs a partner-level opt-out of declared ids stops too (no d_uuid sent, which would take
    precedence): opt-out-management.md, "The last device ID ... linked to the CRM ID is opted out";
    declared-ids.md, "stored for the latest mapping ... If there is no previously existing mapping ... the
    AAM UUID in the cookie" (a new AAM UUID otherwise: one no client knows, so none is kept here)."""
    cookie = request.cookie("demdex") or ""
    found = []
    for cid in declared:
        linked = await ctx.state.get(ctx.session, _link_key(cid.namespace, cid.user_id))
        device = linked if isinstance(linked, str) else cookie
        if valid_aam_id(device):
            found.append(device)
    return list(dict.fromkeys(found))
