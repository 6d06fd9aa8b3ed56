"""Chaos: with probability P, one of the route's documented errors (or a transport fault).

The decision is a hash of (seed, session, API, route, request number in that session), not a draw from
a random source: it replays exactly, and every worker or replica decides the same for the same
request. P = 0 is never looked at (a strict no-op). The answer names its decision in
`X-Mock-Decision: seed=7;session=default;n=12;error=service-unavailable` (`error=none` when it let the
request through); sending that text back as
`__replay=` gives the same answer again (same error, same generated ids).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mockserver.engine.flags import FAULT_KINDS, Misuse

if TYPE_CHECKING:
    from mockserver.scenario.model import Api, Route

DECISION_HEADER = "X-Mock-Decision"
_TOKEN = re.compile(r"^seed=(-?\d+);session=([A-Za-z0-9._:@-]{1,128});n=(\d+);(error|fault)=([A-Za-z0-9_.:-]+)$")
_POOLS: dict[tuple[int, int], tuple[object, tuple[str, ...]]] = {}
PASSED = "none"  # `error=none`: the chaos let the request through to the route's own answer
PASSED_TOKEN = f";error={PASSED}"


@dataclass(frozen=True)
class Decision:
    seed: int
    session: str
    number: int
    error: str | None = None
    fault: str | None = None

    def token(self) -> str:
        what = f"fault={self.fault}" if self.fault is not None else f"error={self.error or PASSED}"
        return f"seed={self.seed};session={self.session};n={self.number};{what}"


def _unit(*parts: object) -> float:
    """A number in [0, 1) from the parts: BLAKE2b, the same in every process."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def error_pool(api: Api, route: Route) -> tuple[str, ...]:
    """The route's documented failures a chaos draw picks from: those answered at once, of status >= 400 or
    answered in the API's error form whatever their status (DCS's codes come in a 200 with X-Error); not one
    with an answer of its own under 400 (Braze's minor errors in a 201 success); the API's 5xx when the route
    names none."""
    key = (id(api), id(route))
    cached = _POOLS.get(key)
    if cached is not None and cached[0] is route:
        return cached[1]
    usable = [i for i in route.errors if not api.errors[i].asynchronous
              and (api.errors[i].status >= 400 or api.errors[i].response is None)]
    if not usable:
        usable = [i for i, e in api.errors.items() if e.status >= 500 and not e.asynchronous]
    if len(_POOLS) > 4096:
        _POOLS.clear()
    _POOLS[key] = (route, tuple(usable))
    return tuple(usable)


def decide(probability: float, seed: int, session: str, api: Api, route: Route, number: int,
           faults: tuple[str, ...]) -> Decision:
    """The chaos decision for one request; one with neither error nor fault answers as usual (`error=none`: named
    too, so each answer of a mixed sequence can be pasted back)."""
    if _unit(seed, session, api.name, route.id, number, "chaos") >= probability:
        return Decision(seed, session, number)
    errors = error_pool(api, route)
    pool = [("error", e) for e in errors] + [("fault", f) for f in faults]
    if not pool:
        return Decision(seed, session, number)
    kind, name = pool[int(_unit(seed, session, api.name, route.id, number, "pick") * len(pool))]
    if kind == "error":
        return Decision(seed, session, number, error=name)
    return Decision(seed, session, number, fault=name)


DECISION_FORMS = ["seed=N;session=NAME;n=N;error=ID", "seed=N;session=NAME;n=N;fault=KIND"]


def parse_replay(token: str, api: Api) -> Decision:
    """A decision pasted back from `X-Mock-Decision`; raises Misuse when it is not one of this API."""
    found = _TOKEN.match(token.strip())
    if not found:
        raise Misuse(f"'{token}' is not a decision", DECISION_FORMS)
    seed, session, number, kind, name = found.groups()
    if kind == "error" and name == PASSED and name not in api.errors:
        name = ""
    elif kind == "error" and name not in api.errors:
        raise Misuse(f"{api.name} has no documented error '{name}'", sorted(api.errors))
    if kind == "fault" and name not in FAULT_KINDS:
        raise Misuse(f"unknown fault '{name}'", list(FAULT_KINDS))
    try:
        seed_n, number_n = int(seed), int(number)
    except ValueError:  # past Python's 4,300 digits: no decision the mock printed
        raise Misuse(f"'{token[:80]}...' is not a decision (a number of over 4,300 digits)", DECISION_FORMS) from None
    if kind == "error":
        return Decision(seed_n, session, number_n, error=name or None)
    return Decision(seed_n, session, number_n, fault=name)
