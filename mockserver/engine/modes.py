"""Modes: named situations declared in the scenario files, switched on per request or by the admin API.

An API file declares each mode in a few lines (scenario/model.py `Mode`); this module does the work:
which modes are on for a request, their counters in the state store (so every worker and replica
counts together), and what they do to the answer.

Switched-on modes are one JSON object in the store's GLOBAL pseudo-session, `{key: activation}`,
where an activation is `{"mode", "api", "session", "id", "since", "until"}` (`api` / `session` None:
every API declaring it / every session; `until` None: until switched off). Counters of a mode
carry the activation id, so switching a mode on again starts its sequence afresh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.engine.flags import Misuse
from mockserver.engine.outcome import ErrorRef, Failure
from mockserver.engine.state import GLOBAL, MODES_KEY, StateStore

if TYPE_CHECKING:
    from mockserver.engine.clock import Clock
    from mockserver.engine.context import RequestContext
    from mockserver.engine.render import Tree
    from mockserver.scenario.model import Api, Catalog, Mode, Route

ON_REQUEST = "request"  # the activation id of __mode=NAME


@dataclass
class Effects:
    """What the modes on for one request do besides failing it: wait, break, add headers."""

    delay: str | None = None
    fault: str | None = None
    headers: list[tuple[Tree, dict[str, Any]]] = field(default_factory=list)


def activation_key(mode: str, api: str | None, session: str | None) -> str:
    return f"{session or '*'}|{api or '*'}|{mode}"


def live(activations: Any, now: float) -> list[Mapping[str, Any]]:
    """The activations still on at `now` (a time-to-live ends them by itself)."""
    if not isinstance(activations, Mapping):
        return []
    return [a for a in activations.values() if isinstance(a, Mapping) and (a.get("until") is None or a["until"] > now)]


_index: tuple[Any, dict[Any, list[tuple[int, Mapping[str, Any]]]]] = (None, {})


def for_session(activations: Any, session: str) -> list[Mapping[str, Any]]:
    """The activations for every session and for this one, in the order they were switched on.

    Indexed by session once per set of activations (the memory store hands every request the same
    object until a switch replaces it): sessions that leave modes on do not slow the others' requests,
    which a scan of every activation did (1,000 left on: Reactor's 404 from 52 to 412 µs)."""
    global _index
    if _index[0] is not activations:
        by_session: dict[Any, list[tuple[int, Mapping[str, Any]]]] = {}
        if isinstance(activations, Mapping):
            for position, activation in enumerate(activations.values()):
                if isinstance(activation, Mapping):
                    by_session.setdefault(activation.get("session"), []).append((position, activation))
        _index = (activations, by_session)
    index = _index[1]
    everyone, own = index.get(None, []), index.get(session, [])
    if own and everyone:
        return [activation for _, activation in sorted([*everyone, *own], key=lambda pair: pair[0])]
    return [activation for _, activation in own or everyone]


def modes_on(api: Api, route: Route, session: str, flag: str | None, activations: Any,
             now: float) -> list[tuple[Mode, str, float | None]]:
    """(mode, activation id, end) for every mode on for this request, the one asked by flag first."""
    found: list[tuple[Mode, str, float | None]] = []
    if flag is not None:
        mode = api.modes.get(flag)
        if mode is None:
            raise Misuse(f"{api.name} declares no mode '{flag}'", sorted(api.modes))
        found.append((mode, ON_REQUEST, None))
    for activation in for_session(activations, session):
        if activation.get("api") not in (None, api.name) or not (activation.get("until") is None
                                                                  or activation["until"] > now):
            continue
        mode = api.modes.get(activation.get("mode", ""))
        if mode is not None and all(m.name != mode.name for m, _, _ in found):
            found.append((mode, str(activation.get("id")), activation.get("until")))
    return [(m, i, u) for m, i, u in found if m.routes is None or route.id in m.routes]


def answered_now(ctx: RequestContext, errors: list[ErrorRef]) -> list[ErrorRef]:
    """The errors (a flag's or a mode's) to answer at once; asynchronous ones on a route that starts work
    (`starts_async`) go to its handler (`ctx.async_errors`), which reports them when the work is polled, as the
    real API does."""
    api, route = ctx.api, ctx.route
    assert route is not None
    immediate = [e for e in errors if not (api.errors[e.id].asynchronous and route.starts_async)]
    ctx.async_errors += [e for e in errors if e not in immediate]
    return immediate


async def apply_modes(ctx: RequestContext, on: list[tuple[Mode, str, float | None]]) -> Failure | None:
    """Count, decide, and note the effects in `ctx.effects`; the first mode that fails at once answers (one whose
    errors are asynchronous here hands them to the route's handler and lets the next mode answer)."""
    assert ctx.route is not None
    effects = ctx.effects = Effects()
    failure: Failure | None = None
    for mode, activation, until in on:
        variables: dict[str, Any] = {"name": mode.name}
        fails = False
        if mode.error is not None:
            fails = await _fails(ctx, mode, activation, until, variables)
        if failure is None and "mode" not in ctx.variables:
            ctx.variables["mode"] = variables
        if fails and failure is None:
            immediate = answered_now(ctx, [ErrorRef(e) for e in mode.error or ()])
            if immediate:
                ctx.variables["mode"] = variables
                failure = Failure(immediate)
        if mode.delay is not None and effects.delay is None:
            effects.delay = mode.delay
        if mode.fault is not None and effects.fault is None and (mode.error is None or fails):
            effects.fault = mode.fault
        if mode.headers is not None:
            effects.headers.append((mode.headers, variables))
    return failure


async def _fails(ctx: RequestContext, mode: Mode, activation: str, until: float | None,
                 variables: dict[str, Any]) -> bool:
    assert ctx.route is not None
    state, session, now = ctx.state, ctx.session, ctx.clock.now()
    base = f"__mode:{ctx.api.name}:{mode.name}:{activation}"
    if mode.first is not None:
        count = await state.incr(session, f"{base}:first:{ctx.route.endpoint(ctx.path_params)}")
        variables.update(count=count, first=mode.first)
        return count <= mode.first
    if mode.quota is not None:
        quota = mode.quota
        key = f"{base}:quota:{ctx.route.endpoint(ctx.path_params) if quota.per_route else ''}"
        count = await state.incr(session, key + ":count", ttl_s=quota.window_s)
        if count == 1:
            await state.set(session, key + ":start", now, ttl_s=quota.window_s)
        start = float(await state.get(session, key + ":start", now))
        reset = start + quota.window_s
        variables.update(limit=quota.limit, remaining=max(quota.limit - count, 0), reset=math.ceil(reset),
                         retry_after=max(math.ceil(reset - now), 0), count=count)
        return count > quota.limit
    if until is not None:
        variables["retry_after"] = max(math.ceil(until - now), 0)
    elif mode.retry_after_s is not None:
        variables["retry_after"] = math.ceil(mode.retry_after_s)
    return True


# -- switching modes on and off (the admin API) ------------------------------------------------
def declared_by(catalog: Catalog, name: str, api: str | None) -> list[Api]:
    """The APIs a switch would reach; raises Misuse with the valid names when there are none."""
    apis = [a for a in catalog.apis.values() if api in (None, a.name) and name in a.modes]
    if not apis:
        valid = sorted({m for a in catalog.apis.values() if api in (None, a.name) for m in a.modes})
        raise Misuse(f"API {api} declares no mode '{name}'" if api else f"no API declares a mode '{name}'", valid)
    return apis


async def switch(store: StateStore, clock: Clock, change: Any) -> dict[str, Any]:
    """Apply `change(activations) -> activations` atomically (compare-and-set); the new value."""
    while True:
        current = await store.get(GLOBAL, MODES_KEY)
        updated = change(dict(current) if isinstance(current, Mapping) else {})
        now = clock.now()
        updated = {k: v for k, v in updated.items() if v.get("until") is None or v["until"] > now}
        if await store.compare_and_set(GLOBAL, MODES_KEY, current, updated):
            return updated


async def switch_on(store: StateStore, clock: Clock, mode: str, api: str | None, session: str | None,
                    ttl_s: float | None) -> dict[str, Any]:
    number = await store.incr(GLOBAL, "__mode_seq")
    now = clock.now()
    activation = {"mode": mode, "api": api, "session": session, "id": number, "since": now,
                  "until": None if ttl_s is None else now + ttl_s}
    key = activation_key(mode, api, session)
    # switched on again, it goes last, where GET /__admin/modes lists it (by `id`), not back to its old place
    await switch(store, clock, lambda current: {**{k: v for k, v in current.items() if k != key}, key: activation})
    return activation


async def switch_off(store: StateStore, clock: Clock, mode: str | None, api: str | None,
                     session: str | None) -> int:
    """Switch off every activation matching the given fields; how many there were."""
    removed = 0

    def change(current: dict[str, Any]) -> dict[str, Any]:
        nonlocal removed
        kept = {k: v for k, v in current.items()
                if not ((mode is None or v.get("mode") == mode) and (api is None or v.get("api") == api)
                        and (session is None or v.get("session") == session))}
        removed = len(current) - len(kept)
        return kept

    await switch(store, clock, change)
    return removed


def describe(activations: Any, now: float) -> list[dict[str, Any]]:
    """The live activations as GET /__admin/modes lists them."""
    out = []
    for a in sorted(live(activations, now), key=lambda a: a.get("id", 0)):
        until = a.get("until")
        out.append({**a, "remaining_s": None if until is None else round(until - now, 3)})
    return out
