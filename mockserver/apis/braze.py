"""Braze REST API: rate limits on every request, and who may call what.

Rate limits (api_limits.md): each workspace, i.e. each API key, has a window per endpoint group
(`/users/track` 3,000 per 3 s, the send endpoints 250,000 per hour shared, 250 per minute for
broadcasts ...). Every answer, success or error, carries `X-RateLimit-Limit`, `-Remaining` and
`-Reset` (UTC epoch seconds): the hook puts their values in `ctx.variables` for the API's `headers:`
template, and answers `rate-limited` once a window is spent. Windows are fixed periods on the clock's
grid (the hour from :00, the minute, three seconds, the UTC day for /sends/id/create), so every
request of a window reads the same `X-RateLimit-Reset`; a test that freezes the clock meets the limit
after exactly `limit` requests, and the window reopens when the clock reaches that Reset.

A window is a key's: a request Braze cannot attribute to a key it accepts (none, one in quotes, an unlisted one
when `api_keys` lists keys, a key of another instance) takes nothing from any window and gets its 401, however
many come: a 429 there would send a client back to retry a request that can never pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from mockserver.apis import before, check
from mockserver.apis.braze_request import api_key, mapping_option, request_body, truthy
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure

DEFAULT_GROUP = "default"


def limit_group(ctx: RequestContext) -> str:
    """The endpoint group a request counts against (`rate_limit_groups` in the options)."""
    groups = ctx.options.get("rate_limit_groups")
    spec = groups.get(ctx.path) if isinstance(groups, Mapping) else None
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping):
        if spec.get("broadcast") and truthy(request_body(ctx).get("broadcast")):
            return str(spec["broadcast"])
        return str(spec.get("group", DEFAULT_GROUP))
    return DEFAULT_GROUP


def limit_of(ctx: RequestContext, group: str) -> tuple[int, float]:
    """(requests, window in seconds) of a group: `rate_limit.GROUP`, else `rate_limit.default`. The loader took
    only a whole `limit` and a `window_s` over 0 (braze_options.py): both are read as written."""
    spec = ctx.options.get(f"rate_limit.{group}") or ctx.options.get(f"rate_limit.{DEFAULT_GROUP}")
    if not isinstance(spec, Mapping):
        spec = {}
    return int(spec.get("limit", 250_000)), float(spec.get("window_s", 3600))


@before("braze", variables={"rate_limit"})
async def rate_limit(ctx: RequestContext) -> Failure | None:
    limit_bytes = ctx.options.get("payload_limit_bytes")
    too_large = isinstance(limit_bytes, int) and len(ctx.body) > limit_bytes and not ctx.flags.asks_error
    group = limit_group(ctx)
    limit, window = limit_of(ctx, group)
    # Fixed windows on the clock's grid (the hour from :00, the minute, three seconds), as a
    # per-period counter keeps them: every request of a window reads the same X-RateLimit-Reset, and
    # so do two servers answering in the same window (same seed, same bytes).
    index = math.floor(ctx.clock.now() / window)
    key = accepted_key(ctx)
    counter = f"braze:rate:{group}:{key}:{index}"
    # A body over the limit is refused before the window counts it, but its answer still tells the
    # window as it stands: "Every single API request sent to Braze returns" the three headers. A request of
    # no key Braze accepts has no window: its headers tell the group's, whole, and the route's rules answer 401.
    if key is None:
        count = 0
    elif too_large:
        count = int(await ctx.state.get(ctx.session, counter, 0))
    else:
        count = await ctx.state.incr(ctx.session, counter, ttl_s=window)
    ctx.variables["rate_limit"] = {
        "limit": limit,
        "remaining": max(limit - count, 0),
        "reset": math.ceil((index + 1) * window),
    }
    if too_large:
        return Failure([ErrorRef("payload-too-large")])
    _null_is_not_given(ctx)
    # A request that asks for an error by flag (`__error`, `__code`) gets that error, spent window or
    # not: the hook runs before the flags, and its 429 would answer something else than was asked
    # (with a Preference-Applied saying otherwise). The request still counts, as every request does.
    return Failure([ErrorRef("rate-limited")]) if count > limit and not ctx.flags.asks_error else None


def _null_is_not_given(ctx: RequestContext) -> None:
    """A member of the body that is null is not given: null-writing clients (Jackson, Newtonsoft, Go's pointers)
    send every optional member, and the pages give each as "(optional, ...)". So every route's rules and
    handlers read `{"send_id": null}` as `{}`: a required one null is missing (400), an optional one absent.
    The top level and `messages` (each message object is optional) only: elsewhere, null keeps its meaning (a
    /users/track attribute set to null is removed)."""
    if not ctx.body:
        return
    body = ctx.json
    if not isinstance(body, dict):
        return
    messages = body.get("messages")
    if isinstance(messages, dict) and any(value is None for value in messages.values()):
        body = {**body, "messages": {kind: value for kind, value in messages.items() if value is not None}}
    if any(value is None for value in body.values()):
        body = {key: value for key, value in body.items() if value is not None}
    if body is not ctx.json:
        ctx.replace_json(body)


def _granted(ctx: RequestContext) -> tuple[str | None, dict[str, Any]]:
    return api_key(ctx), mapping_option(ctx, "api_keys")


_INSTANCE_HOST = re.compile(r"rest\.([a-z0-9-]+)\.braze\.(?:com|eu)", re.IGNORECASE)


def wrong_instance(ctx: RequestContext, key: str) -> bool:
    """The key belongs to another instance (`key_instances`) than the `rest.INSTANCE.braze.*` host asked.

    errors.md, 401 row: the error "can also occur if you're sending the request to the incorrect
    instance". Requests under the /braze prefix name no instance and are never refused for it.
    """
    instance = mapping_option(ctx, "key_instances").get(key)
    found = _INSTANCE_HOST.fullmatch(ctx.host)  # the host name, port taken off
    return isinstance(instance, str) and found is not None and found.group(1).lower() != instance.lower()


def accepted_key(ctx: RequestContext) -> str | None:
    """The key Braze attributes the request to (a workspace's, whose windows it counts in), or None: no key it
    reads, a key of another instance, or (when `api_keys` lists keys) an unlisted one. An inactive key is a
    workspace's (403, counted), not an unknown one."""
    key, known = _granted(ctx)
    if key is None or wrong_instance(ctx, key):
        return None
    if known and key not in known and key not in mapping_option(ctx, "inactive_keys"):
        return None
    return key


@check("braze.unauthorized")
def unauthorized(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """No key Braze accepts: errors.md's 401."""
    return accepted_key(ctx) is None


@check("braze.inactive_key")
def inactive_key(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """A key of an account whose rate plan does not allow the API, or that is deactivated."""
    key = api_key(ctx)
    return key is not None and key in mapping_option(ctx, "inactive_keys")


@check("braze.lacks_endpoint_permission")
def lacks_endpoint_permission(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """As braze.lacks_permission, for the permission Braze names after the endpoint (`/email/spam/remove`:
    email.spam.remove; the transactional send's: transactional.send), or as the `endpoint_permissions` option
    names it."""
    endpoint = ctx.path_params.get("endpoint") or "transactional/send"
    permission = mapping_option(ctx, "endpoint_permissions").get(endpoint) or endpoint.replace("/", ".")
    return lacks_permission(ctx, {"permission": permission})


@check("braze.lacks_permission", args={"permission": str})
def lacks_permission(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """The key's permissions (a list in `api_keys`; none listed means all) miss `args.permission`."""
    key, known = _granted(ctx)
    granted = known.get(key) if key is not None else None
    if not isinstance(granted, list):
        return False
    return "*" not in granted and str(args["permission"]) not in granted
