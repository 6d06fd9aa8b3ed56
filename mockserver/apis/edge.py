"""Edge Network Server API: what scenarios/edge.yaml cannot say.

The before hook reads what every answer needs (request id, location hint, org, datastream); the
checks decide which fatal error a request earns, in the order the routes list them; the handler
embeds asked upstream errors and warnings (`ctx.async_errors`) in the normal answer, per event, and
adds the warnings a session's state calls for (an opt-out, an unauthorized identity fetch).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from mockserver.apis import OptionProblems, before, check, handler, options_check, unknown_key
from mockserver.apis.edge_auth import AUTH_ERRORS, auth_errors
from mockserver.apis.edge_body import (
    CONSENT,
    consent_choice,
    consent_report,
    events_of,
    fetched_namespaces,
    fpid_ecid,
    missing_primary,
    overrides_error,
    sent_identity,
    shape_error,
    stored_entry,
    stored_identity,
    streaming_framing,
)
from mockserver.engine.context import RequestContext, template_context
from mockserver.engine.flags import TOKEN, Misuse, decimal
from mockserver.engine.match import REGEX_ERRORS
from mockserver.engine.modes import answered_now
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Reply, Success
from mockserver.engine.respond import render_own

_ENDPOINT = re.compile(
    r"^/ee/(?:(?P<hint>[^/]+)/)?v(?P<version>[12])/(?P<name>interact|collect|privacy/set-consent|identity/acquire)$"
)
_MEDIA_TYPE = re.compile(f"^{TOKEN}/{TOKEN}$")
_PRINTABLE = re.compile(r"[^\x21-\x7e]")
SUPPORTED_TYPES = ("application/json", "application/x-jackson-smile", "text/plain", "text/javascript")
EVENT_INDEX_HEADER = "x-mock-event-index"
CONSENT_KEY = "edge:consent"
IGNORED = "EXEG-0301-200"  # "This request was ignored due to lack of user consent": nothing to hand back
DATASTREAM_PARAMS = {1: ("configId", "datastreamId", "dataStreamId"), 2: ("datastreamId", "dataStreamId", "configId")}


def _edge(ctx: RequestContext) -> dict[str, Any]:
    return ctx.variables["edge"]  # type: ignore[no-any-return]


def _datastream(ctx: RequestContext, version: int) -> str | None:
    """The datastream id: `datastreamId` (v2), `configId` (v1), either accepted on both; a blank one is none
    (no datastream is named " ": missing, EXEG-0002-400, rather than served as if it existed)."""
    for name in DATASTREAM_PARAMS[version]:
        value = ctx.query_value(name)
        if value and not value.isspace():
            return value
    return None


def _request_id(ctx: RequestContext) -> str:
    """`requestId` query or x-request-id header comes back as `<id>-<16 hex>`; else a UUID."""
    given = _PRINTABLE.sub("", ctx.query_value("requestId") or ctx.header("x-request-id") or "")[:128]
    return f"{given}-{ctx.generator.hex(16)}" if given else ctx.generator.uuid()


# Read as integers (the loader refuses anything else): Retry-After's delay-seconds is a whole number (RFC 9110),
# and urllib3 refuses `Retry-After: 1.5`; a byte limit of 1.5 was cut to 1.
INTEGER_OPTIONS = ("retry_after_seconds", "max_body_bytes", "edge_region_id")


@before("edge", variables={"edge"}, integer_options=INTEGER_OPTIONS)
def prepare(ctx: RequestContext) -> None:
    """What every answer and check reads, as the `edge` template variable."""
    options = ctx.options
    found = _ENDPOINT.match(ctx.path)
    version = int(found.group("version")) if found else 2
    path_hint = found.group("hint") if found else None
    hint = path_hint if path_hint in options["location_hints"] else options["default_location_hint"]
    org = ctx.header("x-gw-ims-org-id") or str(options["org_id"])
    datastream = _datastream(ctx, version)
    param = DATASTREAM_PARAMS[version][0]
    ctx.variables["edge"] = {
        "request_id": _request_id(ctx),
        "hint": hint,
        "endpoint": found.group("name") if found else None,
        "version": version,
        "org_id": org,
        "org_cookie": org.replace("@", "_"),
        "config_id": datastream,
        "placeholders": {**options["placeholder_defaults"], **options["placeholders"],
                         "imsOrg": org, "orgId": org, "paramName": param,
                         **({"dataStreamId": datastream, "configId": datastream} if datastream else {})},
    }


def _datastream_config(ctx: RequestContext) -> Mapping[str, Any]:
    config = ctx.options["datastreams"].get(_edge(ctx)["config_id"])
    return config if isinstance(config, Mapping) else {}


@check("edge.unknown_hint", errors=("not-found",))
def unknown_hint(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """A location hint the Edge Network does not have: the real service answers 404, no body.

    Found by the check, not declared by the rule: a path's hint is not something that fails at
    random, so `__chaos` never draws this 404 (an interact without a hint cannot even reach it);
    `__code=404` does."""
    hint = ctx.path_params.get("hint")
    return [ErrorRef("not-found")] if hint is not None and hint not in ctx.options["location_hints"] else []


@check("edge.host_auth", errors=AUTH_ERRORS)
def host_auth(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """server.adobedc.net authenticates every request (the access type table)."""
    return auth_errors(ctx) if ctx.host in ctx.options["authenticated_hosts"] else []


@check("edge.datastream_auth", errors=AUTH_ERRORS)
def datastream_auth(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """A datastream of access type "authenticated" authenticates on every host."""
    if ctx.host in ctx.options["authenticated_hosts"] or _datastream_config(ctx).get("access") != "authenticated":
        return []
    return auth_errors(ctx)


@check("edge.too_large", errors=("EXEG-0112-413",))
def too_large(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    limit = int(ctx.options["max_body_bytes"])
    if len(ctx.body) <= limit:
        return []
    size = f"{limit // 1024} KB" if limit % 1024 == 0 else f"{limit} bytes"
    return [ErrorRef("EXEG-0112-413", {"maxSize": size})]


def _unknown_datastream(ident: str, options: Mapping[str, Any]) -> bool:
    """Not in known_datastreams (when set), or named like the bogus ids clients test with."""
    known = options["known_datastreams"]
    if known and ident not in known:
        return True
    pattern = str(options.get("unknown_datastream_pattern") or "")
    return bool(pattern) and _compiled(pattern).search(ident) is not None


@lru_cache(maxsize=16)
def _compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiles: the loader refused one that does not (`check_options`)."""
    return re.compile(pattern, re.IGNORECASE)


@check("edge.datastream", errors=("EXEG-0002-400", "EXEG-0003-400", "EXEG-0004-422", "EXEG-0010-422", "EXEG-0011-422",
                                   "EXEG-0012-422", "EXEG-0013-422"))
def datastream(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """Missing (0002), unknown (0003), disabled (0004), or configured to fail with an error: the documented
    configuration errors (0010-0013) are what `error:` is for, though any id of the catalog is taken (the loader
    refuses others: `check_options`)."""
    edge, options = _edge(ctx), ctx.options
    ident = edge["config_id"]
    if ident is None:
        return [ErrorRef("EXEG-0002-400")]
    if ident not in options["datastreams"] and _unknown_datastream(ident, options):
        return [ErrorRef("EXEG-0003-400")]
    config = _datastream_config(ctx)
    if config.get("enabled", True) is False:
        return [ErrorRef("EXEG-0004-422")]
    error = config.get("error")
    if error is None:
        return []
    # An upstream error or a warning (the catalog's 207 and 200) is not answered as a problem: it goes to the
    # handler, which embeds it in the normal answer after the remaining checks, exactly as `__error=ID` does.
    configured = [ErrorRef(str(error))]
    fresh = [ref for ref in configured if all(asked.id != ref.id for asked in ctx.async_errors)]  # asked by flag too
    return answered_now(ctx, fresh) if fresh else []


DATASTREAM_KEYS = ("enabled", "access", "require_primary_identity", "error")
ACCESS_TYPES = ("mixed", "authenticated")  # the access types of the authentication page


@options_check("edge")
def check_options(options: Mapping[str, Any], bundled: Mapping[str, Any], error_ids: Collection[str]) -> OptionProblems:
    """What the loader cannot know of the options: each was taken by `validate`, then every request met it as
    misuse (a pattern that does not compile, an unknown error id), or it silently changed nothing (a misspelt
    datastream key, a value of the wrong kind), or it broke clients (a hint whose own path is a 404). Options
    of the wrong kind, a negative number or a fraction where an integer is read are the loader's: not told twice."""
    found: OptionProblems = []
    pattern = options.get("unknown_datastream_pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern, re.IGNORECASE)
        except REGEX_ERRORS as exc:
            found.append((("unknown_datastream_pattern",), f"not a regular expression: {exc} (a Python regular "
                          "expression, searched case-insensitively; '' for none)"))
    hints, default = options.get("location_hints"), options.get("default_location_hint")
    if isinstance(hints, list) and default not in hints:
        listed, why = ", ".join(map(str, hints)), "every answer would name a hint whose own path answers 404"
        if hints != bundled.get("location_hints") and default == bundled.get("default_location_hint"):  # narrowed
            found.append((("location_hints",), f"default_location_hint {default!r} is not one of them ({listed}): "
                          f"{why}"))
        else:
            found.append((("default_location_hint",), f"{default!r} is not one of location_hints ({listed}): {why}"))
    datastreams = options.get("datastreams")
    for ident, config in datastreams.items() if isinstance(datastreams, Mapping) else ():
        found += [(("datastreams", str(ident), *path), message)
                  for path, message in _datastream_problems(config, error_ids)]
    return found


def _datastream_problems(config: Any, error_ids: Collection[str]) -> OptionProblems:
    """One datastream's settings: a mapping of DATASTREAM_KEYS, each null or of its kind, or nothing at all."""
    if config is None:
        return []  # `my-datastream:`, a datastream that exists and nothing more
    if not isinstance(config, Mapping):
        return [((), f"{config!r} where a datastream takes a mapping of {', '.join(DATASTREAM_KEYS)} (or nothing: "
                 "a datastream that exists)")]
    found: OptionProblems = []
    for key, value in config.items():
        key = str(key)
        if key not in DATASTREAM_KEYS:
            found.append(((key,), unknown_key(key, DATASTREAM_KEYS, "a datastream")))
        elif value is None:
            continue  # as if not given
        elif key in ("enabled", "require_primary_identity") and not isinstance(value, bool):
            found.append(((key,), f"{value!r} where the key takes true or false"))
        elif key == "access" and value not in ACCESS_TYPES:
            found.append(((key,), f"{value!r} is not an access type (one of: {', '.join(ACCESS_TYPES)})"))
        elif key == "error" and (not isinstance(value, str) or value not in error_ids):  # a list is no id
            found.append(((key,), f"no error '{value}' in the edge catalog (mockserver catalog --api edge lists "
                          "them; EXEG-0010-422 to EXEG-0013-422 are the configuration errors)"))
    return found


def media_type(header: str | None) -> str | None:
    """The lower-case type/subtype of a Content-Type value, or None when it is not one."""
    if header is None:
        return None
    value = header.split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else None


@check("edge.content_type", errors=("EXEG-0106-400", "EXEG-0111-415"))
def content_type(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """0106 for a header that is not a media type, 0111 for a missing or unsupported one."""
    header = ctx.header("content-type")
    kind = media_type(header)
    if header is not None and header.strip() and kind is None:
        return [ErrorRef("EXEG-0106-400")]
    return [] if kind in SUPPORTED_TYPES else [ErrorRef("EXEG-0111-415")]


def _silent(ctx: RequestContext) -> str | None:
    edge = _edge(ctx)
    return ctx.query_value("silent") if edge["endpoint"] == "collect" and edge["version"] == 2 else None


@check("edge.query_parameters", errors=("EXEG-0108-400",))
def query_parameters(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """`silent` (v2 collect) is a boolean."""
    silent = _silent(ctx)
    if silent is not None and silent.lower() not in ("true", "false"):
        return [ErrorRef("EXEG-0108-400", {"parameterName": "silent"})]
    return []


def _requires_primary(ctx: RequestContext) -> bool:
    """The datastream's own setting, else v2 collect always (its page: "the mandatory primary identity
    was not found" is a 400), else the API-wide option."""
    own = _datastream_config(ctx).get("require_primary_identity")
    if own is not None:
        return bool(own)
    edge, options = _edge(ctx), ctx.options
    if edge["endpoint"] == "collect" and edge["version"] == 2:
        return bool(options["collect_requires_primary_identity"])
    return bool(options["require_primary_identity"])


@check("edge.payload", errors=("EXEG-0101-400", "EXEG-0102-400", "EXEG-0103-400", "EXEG-0113-400", "EXEG-0306-400",
                            "EXEG-0104-422"))
def payload(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """Shape, overrides, consent entries, primary identities: the first failing, in that order."""
    if "smile" in (media_type(ctx.header("content-type")) or ""):
        return []  # binary JSON: accepted without a look inside
    body, edge, options = ctx.json, _edge(ctx), ctx.options
    if not isinstance(body, dict):
        return [ErrorRef("EXEG-0101-400")]
    endpoint, version = edge["endpoint"], edge["version"]
    found = shape_error(body, endpoint, version) or overrides_error(body)
    if found is not None:
        return [found]
    if endpoint == CONSENT:
        lines = consent_report(body["consent"], options["consent_standards"], options["consent_unknown_standard"],
                               options["consent_not_object"])
        return [ErrorRef("EXEG-0104-422", {"report_errors": lines})] if lines else []
    missing = missing_primary(body, events_of(body, endpoint, version)) if _requires_primary(ctx) else None
    return [missing] if missing is not None else []


def event_indexes(ctx: RequestContext, count: int) -> list[int | None]:
    """Events an asked upstream error is reported for: all, or those of X-Mock-Event-Index."""
    raw = ctx.header(EVENT_INDEX_HEADER)
    if count == 0:
        return [None]
    if raw is None:
        return list(range(count))
    chosen: list[int | None] = []
    for piece in raw.split(","):
        piece = piece.strip()
        index = decimal(piece)
        if index is None or index >= count:
            raise Misuse(f"X-Mock-Event-Index: '{piece[:40]}' is not an event of this request",
                         [f"comma-separated indexes from 0 to {count - 1}"])
        if index not in chosen:
            chosen.append(index)
    return chosen


def _consent_key(body: dict[str, Any], cookie: str | None, events: list[Any]) -> str | None:
    """Where a visitor's choice is kept: by its ECID (the identity it brings back, else the ECID of its
    identityMap: setConsent "only uses the ECID from the identity map, as the command operates at device
    level"), or the session's one for a client that brings neither; None for a visitor known only by
    other entries."""
    ecid = ecid_of(stored_identity(body, cookie)) or _valid_ecid(sent_identity(body, events, "ECID"))
    if ecid is not None:
        return f"{CONSENT_KEY}:{ecid}"
    if any(stored_entry(body, cookie, suffix) is not None for suffix in ("_identity", "_consent", "_cluster")):
        return None
    return CONSENT_KEY


async def _consent_warnings(ctx: RequestContext, body: dict[str, Any], events: list[Any]) -> tuple[list[ErrorRef], str]:
    """Consent belongs to one visitor (scenarios/edge.yaml, consent): set-consent records the visitor's
    choice; a later request is ignored when the consent entry it brings, else its recorded choice, is out."""
    cookie = ctx.header("cookie")
    key = _consent_key(body, cookie, events)
    if _edge(ctx)["endpoint"] == CONSENT:
        chosen = consent_choice(body.get("consent")) or "in"
        failed = any(ctx.api.errors[ref.id].fields.get("keeps_consent") for ref in ctx.async_errors)
        if key is not None and not failed:  # an update that failed (EXEG-0307-502) leaves the choice as it was
            await ctx.state.set(ctx.session, key, chosen)
        return [], f"general={chosen}"
    brought = stored_entry(body, cookie, "_consent")
    choice: Any = brought.removeprefix("general=") if brought else None
    if choice is None and key is not None:
        choice = await ctx.state.get(ctx.session, key)
    if choice == "out":
        return [ErrorRef("EXEG-0301-200")], "general=out"
    return [], "general=in"


@handler("edge.respond", variables={"ecid", "identity_cookie", "consent_cookie", "n_errors", "edge_status", "handle"})
async def respond(ctx: RequestContext) -> Outcome:
    """The answer of `_answer`, framed as a stream of one record when the request asks for streaming
    (fatal errors never reach here: the SDKs read those as one plain JSON document)."""
    outcome = await _answer(ctx)
    framing = streaming_framing(ctx.json)
    if framing is None or isinstance(outcome, Reply):
        return outcome
    rendered = render_own(ctx, outcome)  # the rest (modes, API headers, CORS) is added to the Reply as to any
    if not rendered.body:
        return outcome  # v1 collect's 204: nothing to frame
    separator, line_feed = framing
    return Reply(rendered.status, list(rendered.headers), separator.encode() + rendered.body + line_feed.encode())


async def _answer(ctx: RequestContext) -> Outcome:
    """The success answer, or the same answer with asked or earned errors and warnings embedded."""
    edge, options = _edge(ctx), ctx.options
    silent = _silent(ctx)
    if silent is not None and silent.lower() == "true":
        return Reply(204, [])  # "no critical errors": non-fatal ones are not reported either
    body = ctx.json if isinstance(ctx.json, dict) else {}
    events = events_of(body, edge["endpoint"], edge["version"])
    indexes = event_indexes(ctx, len(events)) if ctx.async_errors else []
    refs = [ErrorRef(asked.id, {**asked.params, **({"eventIndex": i} if i is not None else {})})
            for asked in ctx.async_errors for i in indexes]
    warnings, cookie = await _consent_warnings(ctx, body, events)
    fetched = fetched_namespaces(body, events)
    allowed = [str(n) for n in options["fetch_namespaces"]]
    refused = [n for n in fetched if n not in allowed]
    if refused:
        warnings.append(ErrorRef("EXEG-0303-200", {"unauthorizedNamespaces": ", ".join(refused),
                                                   "allowedNamespaces": ", ".join(allowed)}))
    # A visitor who brings no identity cookie gets one, fetch or not (Adobe's iOS and Android upstream
    # tests: a first sendEvent, no identity fetch, answers cluster and identity entries; a later one,
    # the identity sent back in meta.state, only the cluster); identity:result only when fetched.
    stored = stored_identity(body, ctx.header("cookie"))
    ecid = ecid_of(stored) or _sent_ecid(ctx, body, events) or ctx.generator.digits(38)
    answer = {"ecid": ecid if "ECID" in fetched and "ECID" in allowed else None,
              "identity_cookie": identity_cookie(ecid) if stored is None else None, "consent_cookie": cookie}
    if not refs and not warnings:
        return Success(variables=answer)
    severity = {ref.id: ctx.api.errors[ref.id].fields.get("severity") for ref in refs}
    failed = [ref for ref in refs if severity[ref.id] != "warning"]
    ordered = failed + [ref for ref in refs if severity[ref.id] == "warning"] + warnings
    # Warnings leave the status alone; a 204 (v1 collect) cannot carry them, so it becomes 200.
    status = 207 if failed else (202 if edge["endpoint"] == "collect" and edge["version"] == 2 else 200)
    variables: dict[str, Any] = {"n_errors": len(failed), "edge_status": status}
    if not failed and all(ref.id != IGNORED for ref in ordered):
        variables["handle"] = _success_handle(ctx, answer)
    return Failure(ordered, variables=variables)


def _sent_ecid(ctx: RequestContext, body: dict[str, Any], events: list[Any]) -> str | None:
    """visitor-identification-fpid.md: an ECID the request brings is used (over an FPID's); an FPID alone
    gives its own ECID, always the same; only a request with neither gets a new one."""
    given = _valid_ecid(sent_identity(body, events, "ECID"))
    if given is not None:
        return given
    fpid = sent_identity(body, events, "FPID")
    return fpid_ecid(str(_edge(ctx)["org_id"]), fpid) if fpid is not None else None


def _valid_ecid(value: str | None) -> str | None:
    """An ECID as Edge mints them (38 digits), or None."""
    return value if value is not None and len(value) == 38 and value.isascii() and value.isdigit() else None


def ecid_of(cookie: str | None) -> str | None:
    """The ECID in an identity cookie this mock minted (see identity_cookie); None for any other value."""
    try:
        raw = base64.b64decode(cookie or "", validate=True)
    except ValueError:
        return None
    ecid = raw[2:].decode("ascii", "replace")
    return ecid if raw[:2] == b"\n&" and len(ecid) == 38 and ecid.isdigit() else None


def identity_cookie(ecid: str | None) -> str | None:
    """The kndctr_<org>_identity value for a minted ECID: base64 of the protobuf field 1 that real
    values start with ("CiY" = 0x0a 0x26, then the 38 digits). The Web SDK waits for this cookie after
    its first request and warns "Identity cookie not found" on every answer without it."""
    return base64.b64encode(b"\n&" + ecid.encode()).decode() if ecid else None


def _success_handle(ctx: RequestContext, variables: dict[str, Any]) -> list[Any]:
    """The handle of the success answer. A warning keeps it: "the functionality is still delivered"
    (the error-handling page); an error (207, `handle: []` in its example) or an ignored request does not."""
    template = ctx.route.respond if ctx.route is not None else None
    if template is None:
        return []
    rendered = template.render({**template_context(ctx), **variables})
    body = json.loads(rendered.body) if rendered.body else None
    handle = body.get("handle") if isinstance(body, dict) else None
    return handle if isinstance(handle, list) else []
