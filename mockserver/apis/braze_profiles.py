"""Braze user profiles a session wrote: what /users/track set and /users/delete removed, per workspace.

The mock invents a profile for any external_id (the `unknown_external_ids` option aside); a profile
this session tracked or deleted is read back instead, by /users/export/ids:
- post_user_track.md: /users/track "update[s] user profile attributes" and creates the user that does
  not exist yet, unless the object sets `_update_existing_only: true` (user_attributes_object.md:
  "Setting this flag to true puts the API in 'Update Only' mode"); `{"inc": n}` adds to a number,
  `null` removes the attribute.
- post_user_delete.md: the profile, its attributes and its external ID are "deleted (nulled)"; an
  export then lists the id in `invalid_user_ids` ("identifiers ... that did not correspond to a known
  user", post_users_identifier.md) until a later /users/track creates the user again, without the old
  attributes.
- api_limits.md: eventual consistency "is 10–100ms" under normal conditions (5 minutes advised
  between dependent calls): the mock applies a change at once.
Workspaces are API keys (rate limits count per key too). Only external_ids are kept: the other
identifiers (aliases, braze_id, email, phone) still export an invented profile.
"""

from __future__ import annotations

import math
from typing import Any

from mockserver.apis.braze_request import api_key
from mockserver.engine.context import RequestContext

# Braze user profile fields of the user attributes object that the export prints at the top level
# (post_users_identifier.md's user export object); other members that are not identifiers or flags
# are custom attributes, exported under `custom_attributes`.
EXPORTED_FIELDS = frozenset({"first_name", "last_name", "email", "dob", "home_city", "country", "phone",
                             "language", "time_zone", "gender", "push_subscribe", "email_subscribe"})
NOT_ATTRIBUTES = frozenset({"external_id", "user_alias", "braze_id", "_update_existing_only", "push_token_import",
                            "subscription_groups", "push_tokens", "current_location", "date_of_first_session",
                            "date_of_last_session", "email_open_tracking_disabled", "email_click_tracking_disabled",
                            "facebook", "twitter", "marked_email_as_spam_at", "app_id", "name", "time",
                            "properties", "product_id", "currency", "price", "quantity"})


def _key(ctx: RequestContext, external_id: str) -> str:
    return f"braze:profile:{api_key(ctx) or ''}:{external_id}"


async def profile(ctx: RequestContext, external_id: str) -> dict[str, Any] | None:
    """{"deleted": bool, "attributes": {...}} of a profile this session wrote, else None."""
    found = await ctx.state.get(ctx.session, _key(ctx, external_id))
    return found if isinstance(found, dict) else None


def _apply(attributes: dict[str, Any], item: dict[str, Any]) -> None:
    for name, value in item.items():
        if name in NOT_ATTRIBUTES:
            continue
        if value is None:
            attributes.pop(name, None)
        elif isinstance(value, dict) and set(value) == {"inc"} and isinstance(value["inc"], int | float):
            previous = attributes.get(name)
            try:
                total = (previous if isinstance(previous, int | float) else 0) + value["inc"]
                finite = math.isfinite(total)
            except OverflowError:  # an integer past a double, met with a float
                finite = False
            if finite:  # past a double, the attribute is kept as it was (JSON has no Infinity to export)
                attributes[name] = total
        else:
            attributes[name] = value


async def track(ctx: RequestContext, array: str, item: dict[str, Any], known: bool) -> None:
    """One processed /users/track object of `array` naming an external_id: create or update its profile.

    `known`: whether the id is a user when this session never wrote it (not in `unknown_external_ids`).
    """
    external_id = item.get("external_id")
    if not isinstance(external_id, str):
        return
    found = await profile(ctx, external_id)
    exists = (not found["deleted"]) if found is not None else known
    if item.get("_update_existing_only") is True and not exists:
        return
    attributes = dict(found["attributes"]) if found is not None and not found["deleted"] else {}
    if array == "attributes":
        _apply(attributes, item)
    if found is None and array != "attributes" and known:
        return  # an event or purchase of a user the mock already invents: nothing to read back
    await ctx.state.set(ctx.session, _key(ctx, external_id), {"deleted": False, "attributes": attributes})


async def delete(ctx: RequestContext, external_id: str) -> None:
    await ctx.state.set(ctx.session, _key(ctx, external_id), {"deleted": True, "attributes": {}})


def exported(attributes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level profile fields, custom attributes) of tracked attributes."""
    fields = {k: v for k, v in attributes.items() if k in EXPORTED_FIELDS}
    return fields, {k: v for k, v in attributes.items() if k not in EXPORTED_FIELDS}
