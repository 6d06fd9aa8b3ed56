"""Braze success answers that depend on the request item by item: their data, not their shape.

The shapes (status, envelope, member names) are in braze.yaml's `respond:` templates; these
handlers compute the values those templates print.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mockserver.apis import braze_profiles, handler
from mockserver.apis.braze_request import (
    aware,
    mapping_option,
    parse_datetime,
    request_body,
    string_list,
    truthy,
)
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Success

TRACK_ARRAYS = ("attributes", "events", "purchases")  # processed in this order (api_limits.md)
USER_IDENTIFIERS = ("external_id", "user_alias", "braze_id", "email", "phone")  # one is required
PAGE_SIZE = 100  # /campaigns/list returns campaigns "in groups of 100"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now(ctx: RequestContext) -> datetime:
    """The time these bodies print (dates of exports and lists): the session's time line."""
    return datetime.fromtimestamp(ctx.clock.stamp(ctx.number), UTC)


def _identifies(name: str, value: Any) -> bool:
    """Whether a /users/track object's `name` names a user: a value (a number passes, as sloppy clients send it),
    and `user_alias` an object; an array or an object where a string goes names nobody."""
    if value is None or value == "":
        return False
    return isinstance(value, dict) if name == "user_alias" else not isinstance(value, list | dict)


# event_object.md: "time" is ISO 8601 "or in `yyyy-MM-dd'T'HH:mm:ss:SSSZ` format" (milliseconds after a colon).
_BRAZE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}:\d{3}(Z|[+-]\d{2}:?\d{2})")
_CURRENCY = re.compile(r"[A-Z]{3}")  # purchase_object.md: "ISO 4217 Alphabetic Currency Code"


def _is_time(value: Any) -> bool:
    return parse_datetime(value) is not None or (isinstance(value, str) and bool(_BRAZE_TIME.fullmatch(value)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _object_problem(array: str, item: dict[str, Any]) -> str | None:
    """What event_object.md and purchase_object.md mark required, and the types they give them."""
    if array == "attributes":
        return None
    properties = isinstance(item.get("properties"), dict | type(None))  # "(optional, Properties Object)"
    if array == "events":
        valid = _text(item.get("name")) and _is_time(item.get("time")) and properties
        return None if valid else "invalid-event-object"
    quantity = item.get("quantity")  # "(optional, integer) ... must be <= 100"; null: not given; 2.0 is 2 in JSON
    quantity = 1 if quantity is None else quantity
    valid = (_text(item.get("product_id")) and isinstance(item.get("currency"), str)
             and bool(_CURRENCY.fullmatch(item["currency"])) and _is_number(item.get("price"))
             and _is_time(item.get("time")) and properties
             and _is_number(quantity) and quantity == int(quantity) and 0 < quantity <= 100)
    return None if valid else "invalid-purchase-object"


def track_item_problem(array: str, item: Any, blacklisted: set[str]) -> str | None:
    """The non-fatal error of one /users/track object, or None when Braze processes it."""
    if not isinstance(item, dict) or not any(_identifies(k, item.get(k)) for k in USER_IDENTIFIERS):
        return "missing-user-identifier"
    external_id = item.get("external_id")
    if isinstance(external_id, str) and external_id in blacklisted:
        return "blacklisted-external-id"
    return _object_problem(array, item)


@handler("braze.users_track", variables={"processed", "minor_errors"})
async def users_track(ctx: RequestContext) -> Failure | Success:
    """Objects with a minor error are reported in `errors`, the others processed, counted and kept."""
    body = request_body(ctx)
    blacklisted = set(string_list(ctx.options.get("blacklisted_external_ids")))
    unknown = set(string_list(ctx.options.get("unknown_external_ids")))
    # post_user_track.md: "if events are included in the request, this will return an integer of the number of
    # events that were queued": a count for every array sent, 0 when none of its objects was processed.
    processed = {array: 0 for array in TRACK_ARRAYS if isinstance(body.get(array), list) and body[array]}
    minor: list[dict[str, Any]] = []
    for array in TRACK_ARRAYS:
        items = body.get(array)
        for index, item in enumerate(items if isinstance(items, list) else []):
            problem = track_item_problem(array, item, blacklisted)
            if problem is None:
                processed[array] = processed.get(array, 0) + 1
                external_id = item.get("external_id")  # any JSON value: a user named by another identifier
                known = not (isinstance(external_id, str) and external_id in unknown)
                await braze_profiles.track(ctx, array, item, known)
            else:
                minor.append({"type": ctx.api.errors[problem].title, "input_array": array, "index": index})
                ctx.report(problem)
    if not any(processed.values()):
        return Failure([ErrorRef("no-valid-data", {"errors": minor})])
    return Success(variables={"processed": processed, "minor_errors": minor})


@handler("braze.tracked_send", variables={"tracked_send"})
def tracked_send(ctx: RequestContext) -> Success:
    """Whether Braze makes a `send_id` for this send when the request gives none.

    errors.md: analytics "are available for a specific campaign send instance when the campaign is
    sent as a broadcast", and then the answer is `{"message": "success", "send_id": ...}`;
    get_send_analytics.md: "the send_id is only generated for API campaign sends targeting segments,
    connected audiences or broadcasts". So: a campaign (`campaign_id`) sent with `broadcast: true`.
    """
    body = request_body(ctx)
    campaign = body.get("campaign_id")
    return Success(variables={"tracked_send": truthy(body.get("broadcast")) and isinstance(campaign, str)
                              and bool(campaign.strip())})


@handler("braze.canvas_trigger", variables={"canvas_status"})
def canvas_trigger(ctx: RequestContext) -> Success:
    """A Canvas configured as paused or archived is still accepted, with a `notice`."""
    spec = mapping_option(ctx, "canvases").get(str(request_body(ctx).get("canvas_id")))
    status = spec.get("status") if isinstance(spec, dict) else None
    return Success(variables={"canvas_status": status})


@handler("braze.sends_data_series", variables={"data"})
def sends_data_series(ctx: RequestContext) -> Success:
    """`length` days of seeded statistics ending at `ending_at` (default: now)."""
    length = int(ctx.query_value("length") or 1)
    end = parse_datetime(ctx.query_value("ending_at"))
    last = aware(end) if end is not None else _now(ctx)
    numbers = ctx.generator
    data = []
    for offset in range(length - 1, -1, -1):
        try:
            day = (last - timedelta(days=offset)).date().isoformat()
        except OverflowError:  # an ending_at in the first days of year 1: the series starts there
            continue
        sent = numbers.integer(0, 1000)
        delivered = numbers.integer(0, sent)
        opens = numbers.integer(0, delivered)
        conversions = numbers.integer(0, opens)
        stats = {
            "variation_name": "Variant 1", "sent": sent, "delivered": delivered,
            "undelivered": sent - delivered, "delivery_failed": 0, "direct_opens": opens,
            "total_opens": opens, "bounces": 0, "body_clicks": numbers.integer(0, opens),
            "revenue": 0.0, "unique_recipients": delivered, "conversions": conversions,
            "conversions_by_send_time": conversions,
        }
        data.append({
            "time": day,
            "messages": {"ios_push": [stats]},
            "conversions_by_send_time": conversions, "conversions": conversions,
            "unique_recipients": delivered, "revenue": 0.0,
        })
    return Success(variables={"data": data})


@handler("braze.campaigns_list", variables={"campaigns"})
def campaigns_list(ctx: RequestContext) -> Success:
    """The campaigns of the `campaigns` option, 100 per page, archived ones on request."""
    include_archived = (ctx.query_value("include_archived") or "").lower() == "true"
    edited = _iso(_now(ctx))
    found = []
    for campaign_id, spec in mapping_option(ctx, "campaigns").items():
        spec = spec if isinstance(spec, dict) else {}
        if spec.get("archived") and not include_archived:
            continue
        found.append({
            "id": campaign_id,
            "last_edited": spec.get("last_edited", edited),
            "name": spec.get("name", campaign_id),
            "is_api_campaign": spec.get("is_api_campaign", True),
            "tags": spec.get("tags", []),
        })
    if (ctx.query_value("sort_direction") or "").lower() == "desc":
        found.reverse()
    page = int(ctx.query_value("page") or 0)
    return Success(variables={"campaigns": found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]})


def _profile(ctx: RequestContext, identity: dict[str, Any], fields: list[str],
             tracked: dict[str, Any] | None = None) -> dict[str, Any]:
    fake = ctx.generator.fake
    profile: dict[str, Any] = {
        "created_at": _iso(_now(ctx) - timedelta(days=ctx.generator.integer(1, 900))),
        "braze_id": ctx.generator.hex(24),
        "first_name": fake.first_name(),
        "last_name": fake.last_name(),
        "email": fake.email(),
        "country": fake.country_code(),
        "custom_attributes": {},
    }
    top, custom = braze_profiles.exported(tracked or {})
    profile.update(top)
    profile["custom_attributes"] = custom
    if fields:
        profile = {k: v for k, v in profile.items() if k in fields}
    merged = {**identity, **profile}
    merged.update(identity)  # what was asked for wins, and comes first
    return merged


@handler("braze.users_export_ids", variables={"users", "invalid_user_ids"})
async def users_export_ids(ctx: RequestContext) -> Success:
    """A profile per identifier asked for, with what /users/track set on it; ids of
    `unknown_external_ids` (unless tracked since) and deleted ones go to `invalid_user_ids`."""
    body = request_body(ctx)
    fields = string_list(body.get("fields_to_export"))
    unknown = set(string_list(ctx.options.get("unknown_external_ids")))
    users: list[dict[str, Any]] = []
    invalid: list[str] = []
    for external_id in string_list(body.get("external_ids")):
        kept = await braze_profiles.profile(ctx, external_id)
        if (kept["deleted"] if kept is not None else external_id in unknown):
            invalid.append(external_id)
        else:
            users.append(_profile(ctx, {"external_id": external_id}, fields, kept and kept["attributes"]))
    aliases = body.get("user_aliases")
    for alias in aliases if isinstance(aliases, list) else []:
        users.append(_profile(ctx, {"user_aliases": [alias]}, fields))
    for name, member in (("braze_id", "braze_id"), ("email_address", "email"), ("phone", "phone")):
        if isinstance(body.get(name), str):
            users.append(_profile(ctx, {member: body[name]}, fields))
    return Success(variables={"users": users, "invalid_user_ids": invalid})


DELETE_LISTS = ("external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers")


@handler("braze.users_delete", variables={"deleted", "invalid_user_ids"})
async def users_delete(ctx: RequestContext) -> Success:
    """Every id is queued for deletion but those of `unknown_external_ids`, which Braze lists as invalid;
    a deleted external_id is no longer exported (braze_profiles)."""
    body = request_body(ctx)
    unknown = set(string_list(ctx.options.get("unknown_external_ids")))
    invalid: list[str] = []
    for external_id in string_list(body.get("external_ids")):
        if external_id in unknown and await braze_profiles.profile(ctx, external_id) is None:
            invalid.append(external_id)
        else:
            await braze_profiles.delete(ctx, external_id)
    total = sum(len(v) for name in DELETE_LISTS if isinstance(v := body.get(name), list))
    return Success(variables={"deleted": total - len(invalid), "invalid_user_ids": invalid})
