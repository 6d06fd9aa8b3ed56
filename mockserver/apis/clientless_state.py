"""Where the clientless flow keeps its records: reg codes, authN and authZ tokens, per environment.

Every key names the environment, so a code made on staging is not found on production (the seed's
"created for a specific requestor and environment"). Records keep their own `expires` (epoch ms)
instead of a store TTL, so an expired token can still be told from a missing one (410 vs 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.apis.clientless_format import CONTENT_TYPES, encode
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import Reply

PRODUCTION, STAGING = "production", "staging"


def env_of(ctx: RequestContext) -> str:
    return str(ctx.variables.get("environment", PRODUCTION))


def other_env(ctx: RequestContext) -> str:
    return STAGING if env_of(ctx) == PRODUCTION else PRODUCTION


def key_part(value: str) -> str:
    """A device or requestor id as one part of a key: its `:` escaped (a MAC address as device id has five)."""
    return value.replace("%", "%25").replace(":", "%3A")


def key(env: str, kind: str, *parts: str) -> str:
    return ":".join(["clientless", env, kind, *map(key_part, parts)])


async def load(ctx: RequestContext, kind: str, *parts: str, env: str | None = None) -> Any:
    return await ctx.state.get(ctx.session, key(env or env_of(ctx), kind, *parts))


async def save(ctx: RequestContext, value: Any, kind: str, *parts: str) -> None:
    await ctx.state.set(ctx.session, key(env_of(ctx), kind, *parts), value)


async def forget(ctx: RequestContext, kind: str, *parts: str) -> None:
    await ctx.state.delete(ctx.session, key(env_of(ctx), kind, *parts))


def live(ctx: RequestContext, record: Mapping[str, Any] | None) -> bool:
    return record is not None and int(record.get("expires", 0)) > ctx.clock.now_ms()


async def live_regcode(ctx: RequestContext, requestor: str, code: str, env: str | None = None) -> Any:
    """The reg code record {record, device} if it exists and has not expired."""
    found = await load(ctx, "regcode", requestor, code.upper(), env=env)
    return found if found is not None and live(ctx, found["record"]) else None


def find_user(ctx: RequestContext, username: str) -> dict[str, Any] | None:
    for user in ctx.options.get("users") or []:
        if isinstance(user, dict) and str(user.get("username")) == username:
            return user
    return None


def reply(ctx: RequestContext, status: int, root: str, data: Mapping[str, Any], root_attributes: str = "") -> Reply:
    """A success body in the format the client asked for."""
    fmt = str(ctx.variables.get("fmt", "xml"))
    body = encode(fmt, root, data, root_attributes).encode()
    return Reply(status, [("Content-Type", CONTENT_TYPES[fmt])], body)
