"""The mock's own interface, model-based (GUIDE §2, README "Asking for a failure", "Modes", "Admin API").

Random walks over flags (query, `Prefer`, session by header, query or path), modes switched on and
off (global, per session, with a time-to-live), the virtual clock, resets of one session or all,
journal deletes and reads, coverage and verdict reads, on three APIs and three sessions. A plain
model (`Model`) says what the README promises; after each step the mock must agree:

- an answer asked by `__error` / `__code` is that documented error (status from the catalog), and
  `Preference-Applied` names the flags applied (a repeated flag: the first in `Prefer`, the header's
  over the query's);
- a mode switched on answers with its error (outage: always; flaky: the first 2 of each route, per
  activation) until switched off, reset, or its `ttl` ends on the mock's clock (`until > now`);
  Edge's outage sends `Retry-After` = the seconds left (30 without a ttl: its declared description);
- misuse is `400 application/problem+json` with `X-Mockserver-Misuse: 1`, the valid values in the
  detail, and journaled as misuse in the session it names;
- the journal holds exactly the requests made (seq order, session, api, status, errors, misuse) within
  its bound (`journal_size`), per filter; coverage and the verdict read the same journal;
- determinism (GUIDE §2): the whole walk replayed on a fresh app gives the same bytes, and so does each
  session's last segment (since its last reset) replayed alone with the admin calls, without the other
  sessions' requests: a reset session is a fresh one, and other sessions never touch it.

Where the README is silent (the `flags` field of misuse entries, coverage's `requests` count of misuse,
what a journal DELETE does to coverage) the model does not assert. The table is in the round's notes.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from starlette.testclient import TestClient

from mockserver.app import build_app
from mockserver.settings import Settings
from tests.apis.stateful import SETTINGS, _answer
from tests.apis.test_reactor_support import HEADERS as REACTOR_HEADERS
from tests.conftest import asgi_client

SESSIONS = ("s1", "s2", "s3")
JOURNAL_SIZE = 25
FLAKY_FIRST = 2  # every bundled API's flaky: the first 2 requests of each route fail
START = 1767225600.0  # 2026-01-01T00:00:00Z
INSTANTS = (START, START + 3600, START + 86400)
# api -> (method, path, request kwargs, status when nothing is asked, flag values to ask)
APIS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "reactor": ("GET", "/companies", {"headers": REACTOR_HEADERS}, 200),
    "braze": ("POST", "/users/track", {"headers": {"Authorization": "Bearer key"},
                                       "json": {"attributes": [{"external_id": "u1", "plan": "gold"}]}}, 201),
    "edge": ("POST", "/ee/v2/interact?datastreamId=ds-1", {"json": {"event": {}}}, 200),
}
ERRORS = {"reactor": ["internal-error", "not-found", "invalid-org", "session-timeout"],
          "braze": ["internal-server-error", "service-unavailable", "unauthorized", "rate-limited"],
          "edge": ["EXEG-0000-503", "EXEG-0001-500", "EXEG-0400-403", "rate-limited"]}
CODES = {"reactor": [500, 404, 403, 401, 422], "braze": [500, 503, 400, 429], "edge": [503, 500, 429, 400]}
MODE_ERROR = {"reactor": "internal-error", "braze": "service-unavailable", "edge": "EXEG-0000-503"}
MODES = ("outage", "flaky")
EVERY_API = ("braze", "clientless", "dcs", "edge", "reactor")  # all declare flaky and outage
IGNORED = {"date", "server"}

flag = st.one_of(
    st.tuples(st.just("code"), st.integers(0, 4)),
    st.tuples(st.just("error"), st.integers(0, 3)),
    st.tuples(st.just("mode"), st.sampled_from(MODES)),
    st.tuples(st.just("seed"), st.integers(0, 3)),
)
HOW = st.sampled_from(["header", "query", "path", "override"])  # override: the header over a __session
flags = st.lists(st.tuples(flag, st.sampled_from(["query", "prefer"])), max_size=3)
MISUSES = ["unknown-flag", "unknown-error", "bad-code", "undocumented-code", "unknown-mode", "prefer-unknown-mode",
           "no-api", "bad-seed"]

ADMIN_MISUSES: dict[str, tuple[str, str, Any]] = {
    "reset-param": ("POST", "/__admin/reset?sesion=s1", None),
    "clock-duration": ("POST", "/__admin/clock", {"advance": "soon"}),
    "clock-command": ("POST", "/__admin/clock", {"advanse": "1s"}),
    "clock-instant": ("POST", "/__admin/clock", {"freeze": "yesterday"}),
    "clock-not-json": ("POST", "/__admin/clock", "advance 1s"),
    "mode-name": ("POST", "/__admin/modes", {"mode": "nope"}),
    "mode-ttl": ("POST", "/__admin/modes", {"mode": "outage", "ttl": "-5s"}),
    "mode-api": ("POST", "/__admin/modes", {"mode": "outage", "api": "nope"}),
    "mode-session": ("POST", "/__admin/modes", {"mode": "outage", "session": "bad name!"}),
    "mode-not-json": ("POST", "/__admin/modes", "outage"),
    "mode-off-name": ("DELETE", "/__admin/modes?mode=nope", None),
    "journal-delete-filter": ("DELETE", "/__admin/requests?api=edge", None),
    "journal-limit": ("GET", "/__admin/requests?limit=-1", None),
    "journal-status": ("GET", "/__admin/requests?status=abc", None),
    "journal-limit-text": ("GET", "/__admin/requests?limit=ten", None),
    "route": ("GET", "/__admin/nope", None),
    "method": ("PUT", "/__admin/reset", None),
    "coverage-api": ("GET", "/__admin/coverage?api=nope", None),
    "verdict-param": ("GET", "/__admin/verdict?sesion=s1", None),
}


def applied(pairs: list[tuple[str, str, str]]) -> list[str]:
    """README: a flag given twice counts once, the first in Prefer, the header's over the query's;
    `error` alone adds up. Query flags come first, then the header's, as sent."""
    in_prefer = {name for name, _, form in pairs if form == "prefer"}
    seen: set[tuple[str, str]] = set()
    out = []
    for name, value, form in pairs:
        if name != "error" and ((form == "query" and name in in_prefer) or (form, name) in seen):
            continue
        seen.add((form, name))
        out.append(f"{name}={value}")
    return out


class Model:
    """What the README promises, for the requests this machine sends."""

    def __init__(self, max_sessions: int = 0) -> None:
        # README ("A server that stays up"): the store holds the last `max_sessions` sessions used, the
        # least recently used forgotten (state, its own modes) as by a reset; coverage, the last seen
        self.max_sessions = max_sessions
        self.used: list[str] = []  # sessions whose state the store holds, least recently used first
        self.seen: list[str] = []  # sessions whose coverage the journal holds, least recently seen first
        self.forgotten: set[str] = set()  # coverage forgotten since the session's last wipe
        self.now = START
        self.activations: dict[str, dict[str, Any]] = {}  # key -> activation, in switch-on order
        self.mode_seq = 0
        self.counters: dict[tuple[str, str, str, Any], int] = {}  # (session, api, mode, activation id) -> count
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)
        self.seq = 0
        self.cut: set[str] = set()  # sessions whose entries the bound pushed out since their last wipe
        self.any_cut = False
        # what each session was served since its last reset: surely (`served`), perhaps (`maybe`: a journal
        # DELETE's effect on coverage is not said, so what was served before it may or may not show)
        self.served: dict[str, dict[str, set[str]]] = {s: {} for s in SESSIONS}
        self.maybe: dict[str, dict[str, set[str]]] = {s: {} for s in SESSIONS}

    def live(self, activation: dict[str, Any]) -> bool:
        return activation["until"] is None or activation["until"] > self.now

    def switch(self, change: Any) -> None:
        self.activations = {k: v for k, v in change(dict(self.activations)).items() if self.live(v)}

    def switch_on(self, mode: str, api: str | None, session: str | None, ttl: float | None) -> None:
        for name in ([api] if api else EVERY_API):
            self.mode_seq += 1
            activation = {"mode": mode, "api": name, "session": session, "id": self.mode_seq,
                          "until": None if ttl is None else self.now + ttl}
            key = f"{session or '*'}|{name}|{mode}"
            self.switch(lambda current, k=key, a=activation: {**current, k: a})

    def switch_off(self, mode: str | None, api: str | None, session: str | None) -> None:
        self.switch(lambda current: {k: v for k, v in current.items() if not (
            mode in (None, v["mode"]) and api in (None, v["api"]) and session in (None, v["session"]))})

    def use(self, session: str) -> None:
        if session in self.used:
            self.used.remove(session)
        elif self.max_sessions and len(self.used) >= self.max_sessions:
            oldest = self.used.pop(0)
            self.counters = {k: v for k, v in self.counters.items() if k[0] != oldest}
            self.activations = {k: v for k, v in self.activations.items() if v["session"] != oldest}
        self.used.append(session)

    def see(self, session: str) -> None:
        if session in self.seen:
            self.seen.remove(session)
        elif self.max_sessions and len(self.seen) >= self.max_sessions:
            oldest = self.seen.pop(0)
            self.forgotten.add(oldest)
            self.served[oldest], self.maybe[oldest] = {}, {}
        self.seen.append(session)

    def answer(self, session: str, api: str, asked: dict[str, Any]) -> tuple[int | None, list[str] | None, Any]:
        """(status, error ids, the activation that failed it); None where the model leaves it open."""
        self.use(session)
        if asked.get("error"):
            return None, list(asked["error"]), None
        if asked.get("code") is not None:
            return asked["code"], None, None
        on: list[tuple[str, Any, Any]] = []
        if asked.get("mode"):
            on.append((asked["mode"], "request", None))
        for activation in self.activations.values():
            if (activation["session"] in (None, session) and activation["api"] == api and self.live(activation)
                    and all(m != activation["mode"] for m, _, _ in on)):
                on.append((activation["mode"], activation["id"], activation))
        failed: Any = False
        for mode, number, activation in on:
            fails = True
            if mode == "flaky":
                key = (session, api, mode, number)
                self.counters[key] = self.counters.get(key, 0) + 1
                fails = self.counters[key] <= FLAKY_FIRST
            if fails and failed is False:
                failed = (mode, activation)
        if failed is not False:
            return None, [MODE_ERROR[api]], failed
        return APIS[api][3], [], None

    def record(self, session: str | None, api: str | None, status: int, errors: list[str], misuse: bool) -> None:
        self.seq += 1
        if session is not None:
            self.see(session)
        if len(self.journal) == JOURNAL_SIZE:
            self.any_cut = True
            if self.journal[0]["session"] is not None:
                self.cut.add(self.journal[0]["session"])
        self.journal.append({"seq": self.seq, "session": session, "api": api, "status": status,
                             "errors": errors, "misuse": misuse})
        if session is not None and api and errors:
            self.served[session].setdefault(api, set()).update(errors)
            self.maybe[session].setdefault(api, set()).update(errors)

    def wipe(self, session: str | None, state: bool) -> None:
        """A reset (`state`) or a journal DELETE of one session or all."""
        kept = [e for e in self.journal if session is not None and e["session"] != session]
        self.journal = deque(kept, maxlen=JOURNAL_SIZE)
        for name in SESSIONS if session is None else (session,):
            self.cut.discard(name)
            self.forgotten.discard(name)
            if name in self.seen:
                self.seen.remove(name)
            self.served[name] = {}
            if state:
                self.maybe[name] = {}
        if session is None:
            self.any_cut = False
        if not state:
            return
        self.counters = {k: v for k, v in self.counters.items() if session is not None and k[0] != session}
        self.used = [s for s in self.used if session is not None and s != session]
        if session is None:
            self.activations = {}
        else:
            self.switch_off(None, None, session)


class InterfaceModel(RuleBasedStateMachine):
    MAX_SESSIONS = 0  # the store's bound: 0, none (then every session's replay alone is checked too)

    def __init__(self) -> None:
        super().__init__()
        self.client = self._fresh()
        self.model = Model(self.MAX_SESSIONS)
        catalog = self.client.get("/__admin/catalog").json()
        self.catalog = {(e["api"], e["id"]): e for e in catalog}
        # (kind, session, method, url, kwargs, answer): "api" calls are compared on replay, "admin" ones sent
        self.log: list[tuple[str, str | None, str, str, dict[str, Any], Any]] = []
        self.segment_start = {s: 0 for s in SESSIONS}  # index in the log of the session's last reset

    def _fresh(self) -> TestClient:
        settings = Settings(seed=7, journal_size=JOURNAL_SIZE, max_sessions=self.MAX_SESSIONS)
        client = asgi_client(build_app(settings))  # type: ignore[arg-type]
        client.__enter__()
        assert client.post("/__admin/clock", json={"freeze": START}).status_code == 200
        return client

    # -- calls ---------------------------------------------------------------------------------
    def admin(self, method: str, url: str, log: bool = True, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        if log:
            self.log.append(("admin", None, method, url, copy.deepcopy(kwargs), None))
        return response

    def send(self, session: str, how: str, method: str, url: str, **kwargs: Any) -> Any:
        """An API call in `session`, named by header, query or path."""
        kwargs = copy.deepcopy(kwargs)
        headers = dict(kwargs.pop("headers", {}))
        if how in ("header", "override"):
            headers["X-Mock-Session"] = session
            if how == "override":  # the header decides; the flag it overrides is not applied
                url += ("&" if "?" in url else "?") + "__session=decoy"
        elif how == "query":
            url += ("&" if "?" in url else "?") + f"__session={session}"
        else:
            url = f"/__session/{session}{url}"
        response = self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
        self.client.cookies.clear()
        assert "x-mockserver-internal-error" not in response.headers, response.text
        self.log.append(("api", session, method, url, {"headers": headers, **kwargs}, _answer(response)))
        return response

    # -- rules: the imitated APIs -------------------------------------------------------------
    # Hypothesis picks rules evenly: requests, most of what a client does, get three rules of their own
    @rule(session=st.sampled_from(SESSIONS), api=st.sampled_from(sorted(APIS)), asked=flags, how=HOW)
    def request(self, session: str, api: str, asked: list[tuple[tuple[str, Any], str]], how: str) -> None:
        self.ask(session, api, asked, how)

    @rule(session=st.sampled_from(SESSIONS), api=st.sampled_from(sorted(APIS)), asked=flags, how=HOW)
    def request_again(self, session: str, api: str, asked: list[tuple[tuple[str, Any], str]], how: str) -> None:
        self.ask(session, api, asked, how)

    @rule(session=st.sampled_from(SESSIONS), api=st.sampled_from(sorted(APIS)), how=HOW)
    def plain_request(self, session: str, api: str, how: str) -> None:
        self.ask(session, api, [], how)

    def ask(self, session: str, api: str, asked: list[tuple[tuple[str, Any], str]], how: str) -> None:
        method, path, kwargs, _ = APIS[api]
        pairs: list[tuple[str, str, str]] = []
        for (name, value), form in asked:
            if name == "error":
                if any(n == "error" for n, _, _ in pairs):
                    continue  # errors add up; one at a time here
                value = ERRORS[api][value]
            elif name == "code":
                value = CODES[api][value % len(CODES[api])]
            pairs.append((name, str(value), form))
        if how == "query":  # the session's flag goes last in the query (see send)
            pairs.append(("session", session, "query"))
        pairs.sort(key=lambda pair: pair[2] == "prefer")  # the query's flags, then the header's, as the mock reads them
        query = "&".join(f"__{n}={v}" for n, v, form in pairs if form == "query" and n != "session")
        prefer = ", ".join(f"{n}={v}" for n, v, form in pairs if form == "prefer")
        url = f"/{api}{path}" + (("&" if "?" in path else "?") + query if query else "")
        kwargs = copy.deepcopy(kwargs)
        if prefer:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Prefer": prefer}
        given = applied(pairs)
        chosen = {}
        for item in given:
            name, _, value = item.partition("=")
            if name == "error":
                chosen.setdefault("error", []).append(value)
            elif name == "code":
                chosen["code"] = int(value)
            elif name == "mode":
                chosen["mode"] = value
        status, errors, failed = self.model.answer(session, api, chosen)
        response = self.send(session, how, method, url, **kwargs)
        assert "x-mockserver-misuse" not in response.headers, response.text
        entry = self.last_entry(session)
        if errors is None:  # __code: one documented error of that status
            assert len(entry["errors"]) == 1 and self.catalog[(api, entry["errors"][0])]["status"] == status
            errors = entry["errors"]
        if status is None:
            status = self.catalog[(api, errors[0])]["status"]
        assert (response.status_code, entry["errors"]) == (status, errors), (url, chosen, response.text[:300])
        # README: an error asked (all answered at once here) answers before a mode runs, which is then not named;
        # beside an `__error`, which decides, `__code` is not named either
        expected = [g for g in given if not (g.startswith("mode=") and ("error" in chosen or "code" in chosen))
                    and not (g.startswith("code=") and "error" in chosen)]
        applied_header = response.headers.get("preference-applied")
        assert (applied_header.split(", ") if applied_header else []) == expected, (applied_header, expected)
        if failed and failed[0] == "outage" and api == "edge" and not chosen.get("mode"):
            until = failed[1]["until"]
            left = 30 if until is None else max(math.ceil(until - self.model.now), 0)
            assert response.headers.get("retry-after") == str(left), (response.headers, until, self.model.now)
        self.model.record(session, api, status, errors, False)

    @rule(session=st.sampled_from(SESSIONS), api=st.sampled_from(sorted(APIS)), kind=st.sampled_from(MISUSES),
          how=HOW)
    def misuse(self, session: str, api: str, kind: str, how: str) -> None:
        if self.MAX_SESSIONS:
            return  # whether a refused request "uses" its session (README: the least recently used) is not said
        method, path, kwargs, _ = APIS[api]
        kwargs = copy.deepcopy(kwargs)
        sep = "&" if "?" in path else "?"
        url = f"/{api}{path}" + {"unknown-flag": f"{sep}__eror=internal", "unknown-error": f"{sep}__error=nope",
                                 "bad-code": f"{sep}__code=abc", "undocumented-code": f"{sep}__code=418",
                                 "unknown-mode": f"{sep}__mode=nope", "bad-seed": f"{sep}__seed=x"}.get(kind, "")
        if kind == "prefer-unknown-mode":
            kwargs["headers"] = {**kwargs.get("headers", {}), "Prefer": "mode=nope"}
        if kind == "no-api":
            url = "/nope" + path
        response = self.send(session, how, method, url, **kwargs)
        assert response.status_code == 400, (url, response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json", response.headers
        assert response.headers["x-mockserver-misuse"] == "1", response.headers
        problem = response.json()
        assert problem["valid"] and all(value in problem["detail"] for value in problem["valid"]), problem
        entry = self.last_entry(session)
        assert (entry["misuse"], entry["status"], entry["errors"]) == (True, 400, []), entry
        self.model.record(session, None if kind == "no-api" else api, 400, [], True)

    @rule(kind=st.sampled_from(sorted(ADMIN_MISUSES)))
    def admin_misuse(self, kind: str) -> None:
        """README: misuse of the admin API (an unknown route, a parameter it does not take, a bad value) is
        400 problem+json with X-Mockserver-Misuse and the valid values (405 with Allow for a method), and
        changes nothing (the model is left as it was: every later check holds it to that)."""
        method, url, body = ADMIN_MISUSES[kind]
        response = self.admin(method, url, **({"content": body} if isinstance(body, str) else {"json": body}))
        assert response.status_code == (405 if kind == "method" else 400), (kind, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", response.headers
        assert response.headers["x-mockserver-misuse"] == "1", response.headers
        assert response.json().get("valid"), (kind, response.json())
        if kind == "method":
            assert "POST" in response.headers["allow"], response.headers

    def last_entry(self, session: str) -> dict[str, Any]:
        found = self.admin("GET", f"/__admin/requests?session={session}&limit=1", log=False).json()["requests"]
        assert found and found[-1]["seq"] == self.model.seq + 1 and found[-1]["session"] == session, found
        return dict(found[-1])

    # -- rules: modes ------------------------------------------------------------------------------
    @rule(mode=st.sampled_from(MODES), api=st.sampled_from([None, *sorted(APIS)]),
          session=st.sampled_from([None, *SESSIONS]), ttl=st.sampled_from([None, 5, 30, 60]))
    def mode_on(self, mode: str, api: str | None, session: str | None, ttl: int | None) -> None:
        body: dict[str, Any] = {"mode": mode}
        for name, value in (("api", api), ("session", session), ("ttl", f"{ttl}s" if ttl else None)):
            if value is not None:
                body[name] = value
        response = self.admin("POST", "/__admin/modes", json=body)
        assert response.status_code == 200, response.text
        self.model.switch_on(mode, api, session, ttl)
        self.check_modes(response.json())

    @rule(mode=st.sampled_from([None, *MODES]), api=st.sampled_from([None, *sorted(APIS)]),
          session=st.sampled_from([None, *SESSIONS]), by_post=st.booleans())
    def mode_off(self, mode: str | None, api: str | None, session: str | None, by_post: bool) -> None:
        if by_post and mode is not None:
            body = {"mode": mode, "on": False, **({"api": api} if api else {}),
                    **({"session": session} if session else {})}
            response = self.admin("POST", "/__admin/modes", json=body)
        else:
            params = "&".join(f"{k}={v}" for k, v in (("mode", mode), ("api", api), ("session", session)) if v)
            response = self.admin("DELETE", "/__admin/modes" + (f"?{params}" if params else ""))
        assert response.status_code == 200, response.text
        self.model.switch_off(mode, api, session)
        self.check_modes(response.json())

    @rule()
    def modes_read(self) -> None:
        self.check_modes(self.admin("GET", "/__admin/modes", log=False).json())

    def check_modes(self, body: dict[str, Any]) -> None:
        expected = sorted(repr((a["mode"], a["api"], a["session"], a["until"])) for a in self.model.activations.values()
                          if self.model.live(a))
        active = sorted(repr((a["mode"], a["api"], a["session"], a["until"])) for a in body["active"])
        assert active == expected, (active, expected, self.model.now)
        for a in body["active"]:
            assert a["remaining_s"] == (None if a["until"] is None else round(a["until"] - self.model.now, 3))

    # -- rules: the clock --------------------------------------------------------------------------
    # one rule each for setting the clock and for wiping (Hypothesis picks rules evenly: requests first)
    @rule(kind=st.sampled_from(["freeze", "thaw", "reset"]), at=st.sampled_from(INSTANTS))
    def clock(self, kind: str, at: float) -> None:
        {"freeze": self.freeze_at, "thaw": lambda _: self.unfreeze_and_freeze(), "reset": self.clock_reset}[kind](at)

    @rule(kind=st.sampled_from(["session", "all", "journal"]), session=st.sampled_from([None, *SESSIONS]),
          at=st.sampled_from(INSTANTS))
    def wipe(self, kind: str, session: str | None, at: float) -> None:
        if kind == "all":
            self.reset_all(at)
        elif kind == "journal":
            self.delete_journal(session)
        else:
            self.reset_session(session or SESSIONS[0])

    @rule(seconds=st.sampled_from([1, 4, 5, 29, 30, 31, 60]))
    def advance(self, seconds: int) -> None:
        described = self.admin("POST", "/__admin/clock", json={"advance": f"{seconds}s"}).json()
        self.model.now += seconds
        assert described["frozen"] and described["now"] == self.model.now, described

    def freeze_at(self, at: float) -> None:
        described = self.admin("POST", "/__admin/clock", json={"freeze": at}).json()
        self.model.now = at
        assert described["frozen"] and described["now"] == at, described

    def unfreeze_and_freeze(self) -> None:
        """Unfrozen, the clock runs on from where it stood; frozen again a moment later."""
        thawed = self.admin("POST", "/__admin/clock", log=False, json={"freeze": False}).json()
        assert not thawed["frozen"] and 0 <= thawed["now"] - self.model.now < 5, thawed
        frozen = self.admin("POST", "/__admin/clock", log=False, json={"freeze": True}).json()
        assert frozen["frozen"] and 0 <= frozen["now"] - self.model.now < 5, frozen
        self.model.now = frozen["now"]
        self.log.append(("admin", None, "POST", "/__admin/clock", {"json": {"freeze": frozen["now"]}}, None))

    def clock_reset(self, at: float) -> None:
        described = self.admin("POST", "/__admin/clock", json={"reset": True}).json()
        assert not described["frozen"] and described["offset_s"] == 0, described
        self.freeze_at(at)

    # -- rules: resets, the journal, coverage, verdict ----------------------------------------------
    def reset_session(self, session: str) -> None:
        response = self.admin("POST", f"/__admin/reset?session={session}")
        assert response.status_code == 200 and response.json() == {"reset": session}
        self.model.wipe(session, state=True)
        self.segment_start[session] = len(self.log)

    def reset_all(self, at: float) -> None:
        response = self.admin("POST", "/__admin/reset")
        assert response.status_code == 200 and response.json() == {"reset": "all"}
        self.model.wipe(None, state=True)
        self.segment_start = {s: len(self.log) for s in SESSIONS}
        self.freeze_at(at)  # the README does not say what a reset does to the clock: set it again

    def delete_journal(self, session: str | None) -> None:
        response = self.admin("DELETE", "/__admin/requests" + (f"?session={session}" if session else ""))
        assert response.status_code == 204
        self.model.wipe(session, state=False)

    @rule(api=st.sampled_from([None, *sorted(APIS)]), session=st.sampled_from([None, *SESSIONS]),
          status=st.sampled_from([None, 200, 400, 500, 503]), error=st.sampled_from([None, "internal-error",
                                                                                       "EXEG-0000-503"]),
          limit=st.sampled_from([None, 0, 1, 3, 100]))
    def journal_read(self, api: str | None, session: str | None, status: int | None, error: str | None,
                     limit: int | None) -> None:
        params = "&".join(f"{k}={v}" for k, v in (("api", api), ("session", session), ("status", status),
                                                  ("error", error), ("limit", limit)) if v is not None)
        body = self.admin("GET", "/__admin/requests" + (f"?{params}" if params else ""), log=False).json()
        expected = [e for e in self.model.journal
                    if api in (None, e["api"]) and session in (None, e["session"]) and status in (None, e["status"])
                    and (error is None or error in e["errors"])]
        if limit is not None:
            expected = expected[-limit:] if limit else []
        got = [{k: e[k] for k in ("seq", "session", "api", "status", "errors", "misuse")} for e in body["requests"]]
        assert got == expected, (params, got, expected)
        assert body["count"] == len(expected)

    @rule(session=st.sampled_from([None, *SESSIONS]), api=st.sampled_from([None, *sorted(APIS)]))
    def coverage(self, session: str | None, api: str | None) -> None:
        params = "&".join(f"{k}={v}" for k, v in (("session", session), ("api", api)) if v)
        report = self.admin("GET", "/__admin/coverage" + (f"?{params}" if params else ""), log=False).json()
        assert sorted(report["apis"]) == ([api] if api else sorted(EVERY_API)), report["apis"].keys()
        for name, one in report["apis"].items():
            assert one["served"] == len(one["served_ids"]) and one["total"] == len(one["served_ids"]) + len(
                one["never_served"]), one
            held = [e for e in self.model.journal if e["api"] == name and session in (None, e["session"])]
            assert len([e for e in held if not e["misuse"]]) <= one["requests"] <= len(held), (name, one)
            if session is not None:
                sure, maybe = self.model.served[session].get(name, set()), self.model.maybe[session].get(name, set())
                assert sure <= set(one["served_ids"]) <= maybe, (session, name, one["served_ids"], sure, maybe)
            else:
                known = set().union(*(s.get(name, set()) for s in self.model.served.values()))
                assert known <= set(one["served_ids"]), (name, known, one["served_ids"])

    @rule(session=st.sampled_from([None, *SESSIONS]))
    def verdict(self, session: str | None) -> None:
        body = self.admin("GET", "/__admin/verdict" + (f"?session={session}" if session else ""), log=False).json()
        assert body["session"] == session
        complete = not self.model.any_cut if session is None else session not in self.model.cut
        if session not in self.model.forgotten:  # a forgotten session's cut entries: not said
            assert body["complete"] == complete, (session, body["complete"], self.model.cut, self.model.any_cut)
        held = {e["seq"] for e in self.model.journal if session in (None, e["session"])}
        for finding in body["findings"]:
            assert set(finding["entries"]) <= held, (finding["entries"], held)
            assert session in (None, finding["session"])

    # -- the end: determinism ------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            if any(kind == "api" for kind, *_ in self.log):
                self.replay(self.log, None)
                for session in SESSIONS if not self.MAX_SESSIONS else ():  # README: other sessions may push one out
                    start = self.segment_start[session]
                    own = [c for i, c in enumerate(self.log) if c[0] == "admin" or (c[1] == session and i >= start)]
                    self.replay(own, session)
        finally:
            self.client.__exit__(None, None, None)

    def replay(self, calls: list[Any], session: str | None) -> None:
        fresh = self._fresh()
        try:
            for number, (kind, owner, method, url, kwargs, answer) in enumerate(calls):
                again = fresh.request(method, url, follow_redirects=False, **kwargs)
                fresh.cookies.clear()
                if kind == "api" and (session is None or owner == session):
                    assert _answer(again) == answer, (session, number, method, url, _answer(again), answer)
        finally:
            fresh.__exit__(None, None, None)


class BoundedInterfaceModel(InterfaceModel):
    """The same with a store of 2 sessions for 3: the least recently used is forgotten."""

    MAX_SESSIONS = 2


InterfaceModel.TestCase.settings = SETTINGS
# CI: both machines in about 5 s (half the examples for the bounded one); STATEFUL_EXAMPLES=300 to explore
BoundedInterfaceModel.TestCase.settings = settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 2))
TestInterface = InterfaceModel.TestCase
TestBoundedInterface = BoundedInterfaceModel.TestCase
