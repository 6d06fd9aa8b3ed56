"""Braze body conditions a JSON Schema cannot state: sums of lists, byte sizes, campaigns, times.

Each returns whether its condition holds; which documented error it means, and the limits (50 ids,
1,912 bytes ...), are written next to it in braze.yaml.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.apis import check
from mockserver.apis.braze_request import (
    aware,
    company_zone,
    mapping_option,
    parse_datetime,
    request_body,
    truthy,
)
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef


def _at(body: Any, path: list[str]) -> Any:
    for key in path:
        body = body.get(key) if isinstance(body, Mapping) else None
    return body


@check("braze.count_over", args={"fields": list, "limit": int})
def count_over(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """The lists `args.fields` hold more than `args.limit` items together."""
    body = request_body(ctx)
    total = sum(len(v) for f in args["fields"] if isinstance(v := body.get(f), list))
    return total > int(args["limit"])


@check("braze.no_recipients", args={"ids": list, "broadcast_needs?": list})
def no_recipients(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """No listed recipient (`args.ids`), and no broadcast to a target (`args.broadcast_needs`, if any)."""
    body = request_body(ctx)
    if any(isinstance(v := body.get(f), list) and v for f in args["ids"]):
        return False
    if not truthy(body.get("broadcast")):
        return True
    needs = args.get("broadcast_needs") or []
    return bool(needs) and not any(body.get(f) for f in needs)


def _campaigns(ctx: RequestContext) -> dict[str, Any]:
    return mapping_option(ctx, "campaigns")


@check("braze.unknown_campaign", args={"field?": str, "in?": frozenset({"query", "body"})})
def unknown_campaign(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """`campaign_id` is given but is no id, or not one of `campaigns` when that option lists some."""
    field = str(args.get("field", "campaign_id"))
    value = ctx.query_value(field) if args.get("in") == "query" else request_body(ctx).get(field)
    if value is None:
        return False
    if not isinstance(value, str) or not value.strip():
        return True
    known = _campaigns(ctx)
    return bool(known) and value not in known


def _messages(ctx: RequestContext) -> Iterator[tuple[str, Mapping[str, Any]]]:
    messages = request_body(ctx).get("messages")
    if isinstance(messages, Mapping):
        for kind, message in messages.items():
            if isinstance(message, Mapping):
                yield str(kind), message


RESERVED_APPLE_KEYS = ("ab", "aps")


@check("braze.reserved_apple_extra", errors=("invalid-extra-push-payload",))
def reserved_apple_extra(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """An apple_push `extra` holding `ab` or `aps`, which the Apple push object rejects: the error that names the
    extra payload, saying why (its table sentence, "not a dictionary", is another cause)."""
    extra = _at(request_body(ctx), ["messages", "apple_push", "extra"])
    found = [key for key in RESERVED_APPLE_KEYS if isinstance(extra, Mapping) and key in extra]
    if not found:
        return []
    said = " and ".join(f"`{key}`" for key in found)
    return [ErrorRef("invalid-extra-push-payload", {"errors": [
        f"The `extra` object of `apple_push` holds {said}: messages that include the keys `ab` or `aps` in the "
        "`extra` object will be rejected."]})]


def _variations(ctx: RequestContext) -> dict[str, Any] | None:
    """The configured variations of the request's campaign (id -> message type), if any are known."""
    spec = _campaigns(ctx).get(str(request_body(ctx).get("campaign_id")))
    variations = spec.get("variations") if isinstance(spec, Mapping) else None
    return {str(k): v for k, v in variations.items()} if isinstance(variations, Mapping) else None


@check("braze.variant_unspecified")
def variant_unspecified(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """A campaign is named but a message object has no `message_variation_id`."""
    if not request_body(ctx).get("campaign_id"):
        return False
    return any(not message.get("message_variation_id") for _, message in _messages(ctx))


@check("braze.variant_invalid")
def variant_invalid(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """A message's variation is not one of the (configured) campaign's variations."""
    variations = _variations(ctx)
    if variations is None:
        return False
    return any(str(m.get("message_variation_id")) not in variations for _, m in _messages(ctx))


@check("braze.variant_mismatched")
def variant_mismatched(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """A message sits under another message type than its variation's (apple_push vs email ...)."""
    variations = _variations(ctx) or {}
    for kind, message in _messages(ctx):
        expected = variations.get(str(message.get("message_variation_id")))
        if expected is not None and str(expected) != kind:
            return True
    return False


@check("braze.json_over", args={"path": list, "bytes": int, "ignore?": list})
def json_over(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """The object at `args.path`, as compact UTF-8 JSON without `args.ignore` keys, passes `args.bytes`."""
    value = _at(request_body(ctx), [str(p) for p in args["path"]])
    if not isinstance(value, Mapping):
        return False
    ignored = set(args.get("ignore") or [])
    kept = {k: v for k, v in value.items() if k not in ignored}
    try:
        size = len(json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode())
    except RecursionError:  # nested deeper than any push service takes: over any limit
        return True
    return size > int(args["bytes"])


def _send_times(ctx: RequestContext) -> list[Any]:
    body = request_body(ctx)
    times = [body["send_at"]] if "send_at" in body else []
    schedule = body.get("schedule")
    if isinstance(schedule, Mapping) and "time" in schedule:
        times.append(schedule["time"])
    return times


@check("braze.send_at_unparseable")
def send_at_unparseable(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """`schedule.time` (or the older top-level `send_at`) is there but is no ISO 8601 date-time."""
    return any(parse_datetime(t) is None for t in _send_times(ctx))


@check("braze.schedule_too_far", args={"days": int}, errors=("bad-request",))
def schedule_too_far(ctx: RequestContext, args: Mapping[str, Any]) -> list[ErrorRef]:
    """post_schedule_messages.md: `time` is "up to 90 days in the future" (`args.days`); the page gives
    no sentence for a later one, so the error says the limit."""
    days = int(args["days"])
    zone = company_zone(ctx)
    latest = ctx.clock.now() + days * 86400
    for value in _send_times(ctx):
        when = parse_datetime(value)
        if when is not None and aware(when, zone).timestamp() > latest:
            said = f"The schedule time may be at most {days} days in the future."
            return [ErrorRef("bad-request", {"errors": [said]})]
    return []


@check("braze.local_time_passed")
def local_time_passed(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """`in_local_time` is true and `time` has passed in the company's time zone (the clock's now)."""
    schedule = request_body(ctx).get("schedule")
    if not isinstance(schedule, Mapping) or not truthy(schedule.get("in_local_time")):
        return False
    when = parse_datetime(schedule.get("time"))
    return when is not None and aware(when, company_zone(ctx)).timestamp() < ctx.clock.now()


@check("braze.bad_datetime_query", args={"name": str})
def bad_datetime_query(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """The query parameter `args.name` is there but is no ISO 8601 date or date-time."""
    value = ctx.query_value(str(args["name"]))
    return value is not None and parse_datetime(value) is None


# NaN and Infinity are refused by the request's JSON parser already (body_unparseable); what is left
# is a number that overflows a double, which Python reads as inf: only a 3-digit exponent can
_OVERFLOW = re.compile(rb"[0-9][eE][+]?[0-9]{3}")


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


@check("braze.non_finite_number")
def non_finite_number(ctx: RequestContext, args: Mapping[str, Any]) -> bool:
    """The body holds a number too large for a double (1e999): not JSON to Braze's parser.

    The raw bytes are searched first, so an ordinary body is never walked.
    """
    if not _OVERFLOW.search(ctx.body):
        return False
    try:
        return _has_non_finite(ctx.json)
    except RecursionError:  # deeper than any parser takes: bad syntax all the same
        return True
