"""What every Braze check and handler reads from a request: the API key, the JSON body, dates, options.

Braze reads the REST API key from `Authorization: Bearer KEY`; a key in quotes is refused (errors.md,
401 row). Keys sent the pre-2020 way, as `api_key` in the body or the query, are still read: the May
2020 release note says Braze "will continue to support" them until a sunset date it never set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from mockserver.engine.context import RequestContext

_BEARER = re.compile(r"bearer[ \t]+(\S+)", re.IGNORECASE)
_KEY = re.compile(r"[!-~]+")  # printable ASCII: Braze's keys are UUIDs; curly quotes arrive as other bytes
_QUOTES = "\"'`"


def parse_bearer(header: str) -> str | None:
    """The key of `Bearer KEY`; None when the scheme is not Bearer, or the key is quoted or missing."""
    found = _BEARER.fullmatch(header.strip())
    if found is None:
        return None
    key = found.group(1)
    if not _KEY.fullmatch(key) or key[0] in _QUOTES or key[-1] in _QUOTES:
        return None
    return key


def request_body(ctx: RequestContext) -> dict[str, Any]:
    """The JSON body when it is an object, else an empty one (rules answer for other bodies)."""
    body = ctx.json
    return body if isinstance(body, dict) else {}


def api_key(ctx: RequestContext) -> str | None:
    """The REST API key the request authenticates with, or None when it gives none Braze accepts."""
    header = ctx.header("authorization")
    if header is not None:
        return parse_bearer(header)
    legacy = ctx.query_value("api_key") or request_body(ctx).get("api_key")
    return legacy if isinstance(legacy, str) and legacy.strip() else None


def truthy(value: Any) -> bool:
    """Braze's own examples send booleans as strings ("broadcast": "false"): read both."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (naive when it has no offset), or None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def aware(moment: datetime, zone: tzinfo = UTC) -> datetime:
    """A time with its offset; a naive one is read in `zone` (the company's, for local-time sends)."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def company_zone(ctx: RequestContext) -> tzinfo:
    """`company_time_zone`: the loader took only a name the time zone database knows (braze_options.py); UTC, the
    bundled value, needs no database."""
    name = ctx.options.get("company_time_zone") or "UTC"
    return UTC if name == "UTC" else ZoneInfo(str(name))


def mapping_option(ctx: RequestContext, name: str) -> dict[str, Any]:
    """An option that maps ids to settings; a plain list of ids means ids with no settings."""
    value = ctx.options.get(name)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(k): None for k in value}
    return {}


def string_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
