"""The request path: flags off -> API -> route -> rules -> outcome -> rendered -> journal -> answer.

A raw ASGI callable on purpose: it is the hot path, and it skips the Starlette request/response
objects the admin routes use.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import time
from dataclasses import replace
from typing import Any

from mockserver import apis
from mockserver.engine import chaos
from mockserver.engine.context import RequestContext
from mockserver.engine.cors import preflight, with_cors_headers
from mockserver.engine.faults import (
    ARRIVED_EXTENSION,
    NEEDS_TRANSPORT,
    TRANSPORT_EXTENSION,
    Connection,
    kinds_served,
    no_status_line,
    serve_fault,
    waited,
    watch_departure,
)
from mockserver.engine.flags import (
    FLAG_NAMES,
    NO_FLAGS,
    SESSION_HEADER,
    SESSION_PREFIX,
    Flags,
    Misuse,
    misuse_body,
    parse_flags,
    parse_prefer,
    preference_applied,
    split_query,
    valid_session,
)
from mockserver.engine.generate import Generator
from mockserver.engine.match import Match, find_route, settle
from mockserver.engine.memo import remember
from mockserver.engine.modes import answered_now, apply_modes, modes_on
from mockserver.engine.outcome import INTERNAL_ERROR_HEADERS, PROBLEM_JSON, ErrorRef, Failure, Outcome, Reply, Success
from mockserver.engine.render import Rendered, wire_headers
from mockserver.engine.respond import render_outcome
from mockserver.journal import Entry, Journal
from mockserver.runtime import Runtime
from mockserver.scenario.model import Api, Catalog, DocumentedError, Route

log = logging.getLogger("mockserver")
MAX_BODY = 16 * 1024 * 1024
DEFAULT_SESSION = "default"
Scope = dict[str, Any]
_SESSION_HEADER = SESSION_HEADER.encode()
_UNKNOWN = object()
_CACHED_HOST_MAX = 256  # longer Host headers are served, not remembered
_CACHE_ENTRIES = 1024
_NO_LENGTH = (204, 304)  # statuses whose answers carry no body and no Content-Length
_MISUSE_HEADERS = (("Content-Type", PROBLEM_JSON), ("X-Mockserver-Misuse", "1"))
_MISUSE_WIRE = wire_headers(list(_MISUSE_HEADERS))  # encoded once: every misuse answer has these
_COMPACT = json.JSONEncoder(separators=(",", ":"))  # json.dumps(separators=) builds one per call: 2 µs


def host_name(host_header: str) -> str:
    """`Example.com:8080` -> `example.com`; `[::1]:8080` -> `[::1]` (an IPv6 literal keeps its brackets);
    `dcs.demdex.net.` -> `dcs.demdex.net` (a fully qualified name's root dot names the same host)."""
    if host_header.startswith("["):
        end = host_header.find("]")
        return (host_header[: end + 1] if end > 0 else host_header).lower()
    name = host_header.rsplit(":", 1)[0].lower()
    return name[:-1] if name.endswith(".") else name


class Answer:
    """What the dispatcher sends: the rendered answer, the wait before it, and a fault to end with."""

    __slots__ = ("rendered", "delay_ms", "fault", "noise")

    def __init__(self, rendered: Rendered, delay_ms: float = 0.0, fault: str | None = None,
                 noise: bytes = b"") -> None:
        self.rendered = rendered
        self.delay_ms = delay_ms
        self.fault = fault
        self.noise = noise


def _preflight_asked(method: str, api: Api | None, headers: list[tuple[bytes, bytes]]) -> bool:
    """A browser's preflight to an API with `cors:` (OPTIONS with Origin and Access-Control-Request-Method)."""
    if method != "OPTIONS" or api is None or api.cors is None:
        return False
    names = {name for name, _ in headers}
    return b"origin" in names and b"access-control-request-method" in names


def _for_browsers(api: Api | None, headers: list[tuple[bytes, bytes]], rendered: Rendered) -> Rendered:
    """The mock's own answer (misuse, an internal error) under an API browsers call, readable by the page that
    asked: the detail of what went wrong, where it saw a CORS failure before."""
    if api is None or api.cors is None:
        return rendered
    origin = next((value for name, value in headers if name == b"origin"), None)
    if origin is None:
        return rendered
    own = [name for name, _ in rendered.headers if name.lower().startswith("x-mockserver-")]  # the page reads them too
    exposed = ", ".join(filter(None, [api.cors.expose_headers, *own]))
    return with_cors_headers(replace(api.cors, expose_headers=exposed or None), origin.decode("latin-1"), rendered)


def _sent(query_flags: list[tuple[str, str]], prefer: list[str]) -> list[str]:
    """A refused request's flags as sent, the query's then Prefer's (its other preferences are no flags)."""
    pairs = query_flags + [(n, v) for n, v in parse_prefer(prefer) if n in FLAG_NAMES] if prefer else query_flags
    return [f"{n}={v}" if v else n for n, v in pairs]


def _named_session(header: str | None, query_flags: list[tuple[str, str]], prefer: list[str]) -> str | None:
    """The session a refused request is journaled in: the one it names (X-Mock-Session's, the query's, then
    Prefer's, as flags rank them) when that is a valid name; the default session when it names none, as for any
    other request (so `?session=default` lists it, and the verdict counts it there); none when no name is valid."""
    named = [header] if header is not None else []
    named += [value for name, value in query_flags if name == "session"]
    named += [value for name, value in parse_prefer(prefer) if name == "session"] if prefer else []
    if not named:
        return DEFAULT_SESSION
    return next((name for name in named if valid_session(name)), None)


def misuse_reply(detail: str, valid: list[str] | None = None, status: int = 400) -> Reply:
    """The mock's own complaint (`misuse_body`), written as the admin API writes it."""
    return Reply(status, list(_MISUSE_HEADERS), _COMPACT.encode(misuse_body(detail, valid, status)).encode())


# How long a server that stops waits at most for the journal entries of the requests it cut (`Dispatcher.cut_journaled`:
# written to Redis, whose connect and read timeouts bound each write): the grace of 3 s and this, within docker stop's
# 10 s.
CUT_JOURNAL_S = 4.0


class Dispatcher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._cut: set[asyncio.Task[None]] = set()  # the journal writes of requests the server's stop cut
        self._host_apis: dict[tuple[int, str], Any] = {}  # (catalog id, Host header) -> API served at / or None
        self._prefix_map: tuple[Catalog, dict[str, Api]] | None = None
        self._bases: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._told: set[tuple[str | None, str, str]] = set()  # internal errors whose traceback was logged
        self.explain = runtime.settings.log_level == "debug"  # a line per request: what answered it, and why

    def _internal_error(self, exc: Exception, method: str, path: str, entry: Entry) -> Answer:
        """A bug of ours (500, its traceback in the log), or the shared state gone away (503, one line)."""
        if self.runtime.state.shared:
            from mockserver.engine.redis_state import state_gone_answer, unreachable

            if unreachable(exc):
                return Answer(Rendered(*state_gone_answer(self.runtime.settings.state, exc, f"{method} {path}")))
        told = (entry.route, type(exc).__name__, str(exc)[:200])  # a failing template fails on every request
        if told in self._told:
            log.error("internal error answering %s %s: %s: %s (its traceback is above)", method, path,
                      type(exc).__name__, exc)
        else:
            log.exception("internal error answering %s %s", method, path)
            if len(self._told) < 1000:
                self._told.add(told)
        api = self.runtime.catalog.apis.get(entry.api or "")
        sources = {r.id: r.source for r in api.routes} if api else {}  # file:line, as `validate` gives them
        errors = [f"{e} ({api.errors[e].source})" if api and e in api.errors else e for e in entry.errors]
        where = (f", answering route {entry.route} ({sources.get(entry.route, '?')})" if entry.route else "") + (
            f" with {', '.join(errors)}" if errors else "")
        detail = f"internal error of the mock server (see its log): {type(exc).__name__}: {exc}{where}"
        body = {"type": "urn:mockserver:problem:internal-error", "title": "Internal error of the mock server",
                "status": 500, "detail": detail}  # not misuse: the request was fine, the mock or its file failed
        return Answer(Rendered(500, list(INTERNAL_ERROR_HEADERS), _COMPACT.encode(body).encode()))

    # -- choosing the API ------------------------------------------------------------------
    def choose_api(self, host_header: str, path: str) -> tuple[Api | None, str, str]:
        """(api, path under it, prefix it was reached through)."""
        catalog = self.runtime.catalog
        only = self.runtime.settings.api
        if only is not None:
            return catalog.apis.get(only), path, ""
        if host_header:
            key = (id(catalog), host_header)
            by_host = self._host_apis.get(key, _UNKNOWN)
            if by_host is _UNKNOWN:
                host = host_name(host_header)
                by_host = catalog.api_for_host(host)  # the most specific pattern: remembered, not searched again
                if len(host_header) <= _CACHED_HOST_MAX:  # what clients send is remembered, within bounds
                    remember(self._host_apis, key, by_host, _CACHE_ENTRIES)
            if by_host is not None:
                # A client whose base URL is the API's prefix and that sends the real Host (the DCS
                # partner alias its errors 1, 109 and 302 depend on) reaches the same API: no real
                # path starts with the mock's own prefix.
                own = by_host.prefix
                if path.startswith(own) and (len(path) == len(own) or path[len(own)] == "/"):
                    return by_host, path[len(own) :] or "/", own
                return by_host, path, ""
        end = path.find("/", 1)
        prefix = path[:end] if end > 0 else path
        api = self._prefixes(catalog).get(prefix)
        if api is not None:
            return api, path[len(prefix) :] or "/", prefix
        return None, path, ""

    def _base(self, scheme: str, base_host: str, prefix: str) -> tuple[str, str]:
        """(base URL of the API as the client reached it, host name): links in answers use them."""
        key = (scheme, base_host, prefix)
        found = self._bases.get(key)
        if found is None:
            found = (f"{scheme}://{base_host}{prefix}", host_name(base_host))
            if len(base_host) <= _CACHED_HOST_MAX:
                remember(self._bases, key, found, _CACHE_ENTRIES)
        return found

    def _prefixes(self, catalog: Catalog) -> dict[str, Api]:
        if self._prefix_map is None or self._prefix_map[0] is not catalog:
            self._prefix_map = (catalog, {api.prefix: api for api in catalog.apis.values()})
        return self._prefix_map[1]

    # -- the ASGI entry ------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        started, now = time.perf_counter(), time.time()  # together: the answer's end is `now` plus what perf_counter
        # counts from `started` (taken apart, a keep-alive client's next call seemed to come before the answer)
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        host_header = ""
        prefer: list[str] = []
        session_header: str | None = None
        has_body = scope.get("http_version") == "2"  # HTTP/2 may send a body without announcing its size
        for name, value in headers:
            if name == b"host":
                host_header = value.decode("latin-1")
            elif name == b"content-length" or name == b"transfer-encoding":
                has_body = True
            elif name == b"prefer":
                prefer.append(value.decode("latin-1"))
            elif name == _SESSION_HEADER:
                session_header = value.decode("latin-1")
        method: str = scope["method"]
        full_path: str = scope["path"]
        api, path, prefix = self.choose_api(host_header, full_path)
        if root_path := scope.get("root_path"):  # mounted below a path (the pytest plugin's /__session/NAME)
            prefix = root_path + prefix
        raw_query, query_flags = split_query(scope.get("query_string", b""))
        extensions = scope.get("extensions")
        if extensions:  # the server's: the transport for faults, and when the request arrived (uvicorn)
            connection = extensions.get(TRANSPORT_EXTENSION)
            arrived = extensions.get(ARRIVED_EXTENSION, now)
            started -= now - arrived  # the latency a client sees includes the wait behind the requests before it
        else:
            connection, arrived = None, now
        entry = Entry(arrived, method, full_path, raw_query, headers, api.name if api else None)
        body = b""
        state_gone = False  # the shared state did not answer: nor would the journal, which lives in the same Redis
        sent_flags: list[str] = []
        try:
            if has_body:
                body = await _read_body(receive)
            try:
                flags = parse_flags(query_flags, parse_prefer(prefer) if prefer else [], session_header)
                if api is not None and flags is not NO_FLAGS:
                    _check_flags(api, flags, connection is not None)
            except Misuse:
                if not _preflight_asked(method, api, headers):
                    raise
                flags = NO_FLAGS  # a preflight clears the request for the browser, whose misuse is then readable
            sent_flags = flags.given  # what the answer did not apply leaves flags.given, not this list
            if flags.session is not None and session_header is None:  # the links an answer prints (a redirect, a page's
                prefix = f"{SESSION_PREFIX}{flags.session}{prefix}"  # next) keep a session the query or Prefer named
            if api is None:
                raise Misuse(
                    f"no API at {full_path}",
                    [f"{a.prefix}/..." for a in self.runtime.catalog.apis.values()] + ["/__admin/..."],
                )
            answer = await self._answer(
                scope, api, method, path, prefix, host_header, raw_query, headers, body, flags, entry, connection
            )
        except ClientGone as gone:  # no answer can reach the client, and the API was sent no whole request
            entry.body, entry.status = gone.body, 0
            entry.session = _named_session(session_header, query_flags, prefer)
            await self._journal(entry, started)
            return
        except Misuse as misuse:
            outcome = misuse_reply(misuse.detail, misuse.valid)
            answer = Answer(_for_browsers(api, headers, Rendered(outcome.status, outcome.headers, outcome.body,
                                                                 _MISUSE_WIRE)))
            entry.misuse = True
            if entry.session is None:  # refused before the session was read: in the one it names, for its test
                entry.session = _named_session(session_header, query_flags, prefer)
            flags = Flags()
        except Exception as exc:  # a bug of ours, or a file's template failing on this request: never the API's
            answer = self._internal_error(exc, method, full_path, entry)
            answer.rendered = _for_browsers(api, headers, answer.rendered)
            flags = Flags()
            state_gone = answer.rendered.status == 503
        rendered = answer.rendered
        entry.body = body
        entry.status = rendered.status
        entry.reply_headers = rendered.headers
        # a refused request's flags as sent (the misspelt one among them), an unmatched one's too (what the test
        # asked of a path no route serves: the pytest plugin lists them), else those applied
        entry.flags = (_sent(query_flags, prefer) if entry.misuse
                       else sent_flags if entry.route is None else flags.given)
        if answer.delay_ms > 0 and answer.fault != "slow":
            departure = watch_departure(receive)
            try:
                stayed = await waited(answer.delay_ms / 1000, departure)
            except asyncio.CancelledError:  # the server stops and the grace is over: no answer reaches the client
                entry.status, entry.errors = 0, ()
                await self._journal_cut(entry, started)
                raise
            finally:
                departure.cancel()
            if not stayed:  # the client left during the wait: no answer reached it, nor its error
                entry.status, entry.errors = 0, ()
                await self._journal(entry, started)
                return
        sent_body = b"" if method == "HEAD" else rendered.body
        if answer.fault is not None:
            entry.fault = answer.fault
            if no_status_line(answer.fault, sent_body, scope.get("http_version") == "2"):
                entry.status = 0  # no status line reached the client
        journal = self.runtime.journal
        if journal.shared and not state_gone:  # before the answer leaves: whichever process the client asks next
            entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
            await _publish(journal, entry)
        if answer.fault is None:
            await _send(send, rendered, flags, method == "HEAD", self.runtime.clock.http_date())
        elif not await serve_fault(answer.fault, connection, send, rendered.status,
                                   _headers_of(rendered, flags, self.runtime.clock.http_date()), sent_body,
                                   answer.delay_ms, answer.noise, receive, scope.get("http_version") == "2"):
            entry.status, entry.errors = 0, ()  # gone before a slow answer without a body was sent
        if not journal.shared:
            entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
            journal.record(entry)
        if self.explain:
            log.debug("%s", explained(entry))

    async def _journal(self, entry: Entry, started: float) -> None:
        """A request that got no answer (its client gone), journaled at once."""
        entry.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        if self.runtime.journal.shared:
            await _publish(self.runtime.journal, entry)
        else:
            self.runtime.journal.record(entry)
        if self.explain:
            log.debug("%s", explained(entry))

    async def _journal_cut(self, entry: Entry, started: float) -> None:
        """A request the server's stop cut during its `__delay`, journaled as a client gone then is (README): the
        Redis journal outlives the server. The write is a task of its own that the lifespan's shutdown waits for
        (`cut_journaled`): the loop that runs it ends with the server, cancelling whatever is left."""
        write = asyncio.ensure_future(self._journal(entry, started))
        self._cut.add(write)
        write.add_done_callback(self._cut.discard)
        await asyncio.shield(write)

    async def cut_journaled(self) -> None:
        """At shutdown, once the requests in flight were cancelled: their journal entries written, or given up after
        `CUT_JOURNAL_S` (a Redis that does not answer)."""
        await asyncio.sleep(0)  # the requests cancelled just before start their writes
        if self._cut:
            await asyncio.wait(set(self._cut), timeout=CUT_JOURNAL_S)

    async def _answer(self, scope: Scope, api: Api, method: str, path: str, prefix: str, host_header: str,
                      raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes, flags: Flags,
                      entry: Entry, connection: Connection | None) -> Answer:
        runtime = self.runtime
        session = flags.session or DEFAULT_SESSION
        seed = flags.seed if flags.seed is not None else runtime.settings.seed
        number, activations, shared_clock = await runtime.state.begin(session)
        if runtime.state.shared:  # another process may have moved the clock
            runtime.clock.load(shared_clock)
        replay = chaos.parse_replay(flags.replay, api) if flags.replay is not None else None  # checked: no misuse
        if replay is not None:  # the generator of the answer replayed: same error, same ids
            generator = Generator(replay.seed, replay.session, replay.number)
        else:
            generator = Generator(seed, session, number)
        base_url, host = self._base(scope.get("scheme", "http"), host_header or _server_host(scope), prefix)
        client = scope.get("client") or ("", 0)
        ctx = RequestContext(
            api=api,
            method=method,
            path=path.rstrip("/") or "/",
            raw_query=raw_query,
            headers=headers,
            body=body,
            flags=flags,
            session=session,
            seed=replay.seed if replay else seed,
            number=replay.number if replay else number,
            base_url=base_url,
            host=host,
            client_ip=client[0] or "",
            state=runtime.state,
            clock=runtime.clock,
            generator=generator,
            options=api.options,
        )
        entry.session = session
        entry.virtual_time = ctx.clock.now()
        try:
            outcome = await self.decide(ctx, activations, replay, connection is not None)
        finally:  # a check that fails names its route too
            entry.route = ctx.route.id if ctx.route else None
        if isinstance(outcome, Failure):
            if len(outcome.errors) > 1 and api.one_error_per_answer and not outcome.variables:
                outcome = Failure(outcome.errors[:1])  # what the error answer shows (a handler's 207 shows them all)
            if len(flags.errors) > 1:  # of those asked: not one left out, nor one handed to work that never started
                _errors_shown(flags, outcome.errors)  # (one asked and not shown: the flag is off already)
            entry.errors = [e.id for e in outcome.errors]
        if ctx.reported:
            entry.errors = [*entry.errors, *ctx.reported]
        rendered = render_outcome(ctx, outcome)
        effects = ctx.effects
        if flags is NO_FLAGS and effects is None and ctx.fault is None:
            return Answer(rendered)  # most answers: no wait, no fault
        delay = flags.delay or (effects.delay if effects else None)
        delay_ms = delay_of(delay, Generator(ctx.seed, session, ctx.number, "delay")) if delay else 0.0
        fault = _fault_of(ctx)
        if fault in NEEDS_TRANSPORT and connection is None:
            raise Misuse(f"fault '{fault}' needs the connection, which this server does not give",
                         list(kinds_served(False)))
        noise = Generator(ctx.seed, session, ctx.number, "fault").token(48).encode() if fault == "malformed" else b""
        return Answer(rendered, delay_ms, fault, noise)

    # -- deciding ----------------------------------------------------------------------
    async def decide(self, ctx: RequestContext, activations: Any = None, replay: chaos.Decision | None = None,
                     has_transport: bool = False) -> Outcome:
        api = ctx.api
        if api.cors is not None and ctx.method == "OPTIONS":
            answer = preflight(api.cors, ctx)
            if answer is not None:  # before the API's checks: a preflight carries no credentials
                if ctx.flags.given:  # nor is it a route's answer, which flags ask for
                    _not_applied(ctx.flags, _ROUTE_FLAGS)
                return answer
        hook = apis.BEFORE.get(api.name)
        if hook is not None:
            called = hook(ctx)
            early = await called if inspect.isawaitable(called) else called
            if early is not None:  # refused before routing (Reactor's gateway): journaled under its route
                ctx.route = find_route(api, ctx.method, ctx.path).route
                if ctx.flags.given:  # modes and chaos never ran: Preference-Applied names what did (RFC 7240);
                    # nor did an error flag, unless the hook answered that very error (clientless's malformed URL)
                    answered = isinstance(early, Failure) and any(e.id in ctx.flags.errors for e in early.errors)
                    _not_applied(ctx.flags, _DECIDED_AFTER if answered else _ROUTE_FLAGS)
                return early
        found = find_route(api, ctx.method, ctx.path)
        if found.match is Match.NONE or found.route is None:
            if ctx.flags.given:  # what a flag asks of "any of its routes" (GUIDE §2): no route, nothing applied
                _not_applied(ctx.flags, _ROUTE_FLAGS)
            if found.match is Match.PARTIAL and api.method_not_allowed:
                return Failure([ErrorRef(api.method_not_allowed, {"allowed": list(found.allowed)})])
            if api.not_found:
                return Failure([ErrorRef(api.not_found)])
            return misuse_reply(f"no route of {api.name} matches {ctx.method} {ctx.path}",
                                [f"{'/'.join(sorted(r.methods))} {r.path}" for r in api.routes])
        route = ctx.route = found.route
        ctx.path_params = dict(found.params or {})
        if replay is not None:  # the decision pasted back, instead of what other flags would decide
            _not_applied(ctx.flags, _ROUTE_FLAGS - {"replay"})
            ctx.decision = replay.token()
            if replay.error is not None:
                return Failure([ErrorRef(replay.error)])
            ctx.fault = replay.fault  # the route's own answer, then the fault, as the decision had it
            return _error_to_truncate(ctx, route) or await self.answer_by_rules(ctx)
        flags = ctx.flags
        if flags is NO_FLAGS and not activations:  # most requests: no flag, no mode on
            return await self.answer_by_rules(ctx)
        forced = self.forced_errors(ctx)
        if forced:
            immediate = answered_now(ctx, forced)
            if immediate:  # before chaos and modes, which do not run: not named in Preference-Applied
                if len(flags.given) > 1:  # the flag that asked and more
                    _not_applied(flags, _DECIDED_AFTER)
                return Failure(immediate)
        if flags.chaos == 0:  # 0 is a strict no-op (issue 9): not even named as applied
            _not_applied(flags, _CHAOS_FLAGS)
        if flags.chaos:  # 0 and absent alike: nothing is drawn
            faults = kinds_served(has_transport) if flags.chaos_faults else ()
            decision = chaos.decide(flags.chaos, ctx.seed, ctx.session, api, route, ctx.number, faults)
            if decision.error is None and decision.fault is None and flags.fault is not None:
                decision = replace(decision, fault=flags.fault)  # let through to a fault asked: replayed with it
            ctx.decision = decision.token()
            if decision.error is not None:  # modes do not run, an asynchronous error asked is not shown
                _not_applied(flags, _MODE_AND_ERROR_FLAGS if ctx.async_errors else _MODE_FLAG)
                return Failure([ErrorRef(decision.error)])
            ctx.fault = decision.fault
        if activations or flags.mode is not None:
            on = modes_on(api, route, ctx.session, flags.mode, activations, ctx.clock.now())
            if on:
                if ctx.decision is not None and ctx.decision.endswith(chaos.PASSED_TOKEN):
                    ctx.decision = None  # the chaos let it through, the modes answer: a replay could not give this
                failure = await apply_modes(ctx, on)
                if failure is not None:
                    if ctx.async_errors:  # one asked by flag, handed to the handler, which does not run
                        _not_applied(flags, _ERROR_FLAGS)
                    return failure
        outcome = _error_to_truncate(ctx, route) or await self.answer_by_rules(ctx)
        if ctx.async_errors and isinstance(outcome, Failure) and not handed_on(ctx.async_errors, outcome):
            # Refused before the work that would report them started (a build of an unknown library, an Edge call
            # with no datastream), as the real API refuses it: Preference-Applied does not name the asynchronous
            # errors asked (RFC 7240: what was applied); a mode asked for stays on.
            _not_applied(flags, _ERROR_FLAGS)
        return outcome

    async def answer_by_rules(self, ctx: RequestContext) -> Outcome:
        """The route's rules in order, then its handler or its `respond`. A handler reads and changes the session's
        resources in several calls: with a shared store, the API's resources of the session are held meanwhile
        (two library submits at once, in two processes, both passed the check of the state before either wrote)."""
        route = ctx.route
        assert route is not None  # set by decide() before
        if route.handler is not None and self.runtime.state.shared:
            async with self.runtime.state.exclusive(ctx.session, ctx.api.name):
                return await self.rules_then_handler(ctx, route)
        return await self.rules_then_handler(ctx, route)

    async def rules_then_handler(self, ctx: RequestContext, route: Route) -> Outcome:
        for rule in route.rules:
            verdict = rule.when.holds(ctx)
            if rule.when.needs_await:
                verdict = await settle(verdict)
            if not verdict:
                continue
            if rule.respond is not None:
                return Success(template=rule.respond)
            if rule.errors:
                return Failure([ErrorRef(e) for e in rule.errors])
            if isinstance(verdict, list) and verdict:
                return Failure(verdict)
        if route.handler is not None:
            answered = apis.HANDLERS[route.handler](ctx)
            return await answered if inspect.isawaitable(answered) else answered
        return Success()

    def forced_errors(self, ctx: RequestContext) -> list[ErrorRef]:
        """`__error` ids as asked; `__code` picks a documented error of that status."""
        flags, api, route = ctx.flags, ctx.api, ctx.route
        if flags.errors:
            if flags.code is not None:  # the ids asked decide: not named as applied
                _not_applied(flags, _CODE_FLAG)
            return [ErrorRef(e) for e in flags.errors]
        if flags.code is None or route is None:
            return []
        chosen = pick_by_status(api, route.errors + route.check_errors, flags.code, route.starts_async)
        if chosen is None:
            raise Misuse(f"{api.name} documents no error with status {flags.code}", [str(s) for s in api.statuses()])
        return [ErrorRef(chosen.id)]


MAX_DELAY_MS = 9_999_999.0  # the longest a fixed `__delay` can ask (7 digits): a lognormal draw is cut there too


def delay_of(spec: str, generator: Generator) -> float:
    """Milliseconds: fixed, uniform or lognormal (WireMock's models), drawn from the request's generator."""
    if spec.startswith("uniform:"):
        low, high = (float(x) for x in spec[8:].split("-"))
        return generator.rng.uniform(min(low, high), max(low, high))
    if spec.startswith("lognormal:"):
        median, sigma = (float(x) for x in spec[10:].split(","))
        try:
            drawn = median * math.exp(sigma * generator.rng.gauss(0.0, 1.0))
        except OverflowError:  # a wide sigma's tail
            drawn = math.inf
        return min(drawn, MAX_DELAY_MS)
    return float(spec)


def handed_on(asked: list[ErrorRef], failure: Failure) -> bool:
    """The handler's failure reports the errors it was handed (Edge's 207 embeds them per event)."""
    ids = {ref.id for ref in asked}
    return any(ref.id in ids for ref in failure.errors)


def pick_by_status(api: Api, preferred: tuple[str, ...], status: int, allow_async: bool) -> DocumentedError | None:
    """The route's own errors of that status first, then the API's, in file order. Where the route
    starts no asynchronous work one answered at once comes first; failing that, an asynchronous one
    is answered at once, as `__error` does there (Reactor's 502s on `GET /companies`)."""
    candidates = [e for e in [*(api.errors[i] for i in preferred), *api.errors.values()] if e.status == status]
    if not allow_async:
        candidates.sort(key=lambda error: error.asynchronous)  # stable: file order kept within each
    return candidates[0] if candidates else None


def _check_flags(api: Api, flags: Flags, has_transport: bool) -> None:
    unknown = [e for e in flags.errors if e not in api.errors]
    if unknown:
        detail = (f"{api.name} has no documented error '{unknown[0]}'" if unknown[0]
                  else f"flag 'error' needs an error id of {api.name}")
        raise Misuse(detail, sorted(api.errors))
    if flags.throttle is not None and "throttle" not in apis.OWN_FLAGS.get(api.name, ()):
        takers = sorted(name for name, own in apis.OWN_FLAGS.items() if "throttle" in own)
        raise Misuse(f"flag 'throttle' is {' and '.join(takers)}'s: {api.name} reads no such flag",
                     [f"{a} only" for a in takers])
    if flags.mode is not None and flags.mode not in api.modes:
        raise Misuse(f"{api.name} declares no mode '{flags.mode}'", sorted(api.modes))
    if flags.fault is not None or flags.replay is not None:
        _check_faults(api, flags, has_transport)


def _check_faults(api: Api, flags: Flags, has_transport: bool) -> None:
    """A fault asked or replayed that this host cannot give: refused before the session's request number is taken."""
    replayed = chaos.parse_replay(flags.replay, api).fault if flags.replay is not None else None
    served = kinds_served(has_transport)
    for fault in (flags.fault, replayed):
        if fault is not None and fault not in served:
            raise Misuse(f"fault '{fault}' needs the connection, which this server does not give "
                         "(uvicorn and hypercorn, as `mockserver serve` runs them, do)", list(served))


def explained(entry: Entry) -> str:
    """`--log-level debug`'s line for a request: what the journal keeps of it, in one line a person reads (the
    path's and the query's control characters escaped: a `%0A` in a path writes no second line)."""
    target = entry.path + ("?" + entry.query.decode("utf-8", "replace") if entry.query else "")
    target = target.encode("unicode_escape").decode("ascii") if not target.isprintable() else target
    answered = "no answer (the client left)" if entry.status == 0 and entry.fault is None else (
        "no status line" if entry.status == 0 else str(entry.status))
    if entry.misuse:
        why = ["the mock's misuse"]
    elif INTERNAL_ERROR_HEADERS[1] in entry.reply_headers:
        why = ["the mock's own error (its log says which)"]
    else:
        why = [", ".join(entry.errors) or "no error"]
    if entry.route:
        why.append(f"route {entry.route}")
    elif entry.api and not entry.misuse:  # a body that never ended was never answered (no virtual time)
        never = entry.status == 0 and entry.virtual_time is None
        why.append("its body never ended: no route looked for" if never else "no route matched")
    elif not entry.misuse:
        why.append("no API")
    why += [f"flags {' '.join(entry.flags)}"] if entry.flags else []
    why += [f"fault {entry.fault}"] if entry.fault else []
    return (f"{entry.method} {target} -> {answered} ({'; '.join(why)}) "
            f"[{entry.api or '-'}, session {entry.session or '-'}, {entry.latency_ms:.1f} ms]")


async def _publish(journal: Journal, entry: Entry) -> None:
    """A journal that cannot be written is logged, and the client still gets its answer."""
    try:
        await journal.publish(entry)
    except Exception as exc:
        from mockserver.engine.redis_state import outage_log, unreachable

        if unreachable(exc):  # a line now and then, not a traceback per request while Redis is away
            outage_log.error("the shared journal did not take %s %s: %s", entry.method, entry.path, exc)
        else:
            log.exception("the shared journal did not take %s %s", entry.method, entry.path)


class ClientGone(Exception):
    """The client went away before its request's body ended (what came of it in `body`)."""

    def __init__(self, body: bytes) -> None:
        super().__init__("client disconnected before the end of the body")
        self.body = body


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # a half body was answered as a whole one: a 400 nobody saw
            raise ClientGone(b"".join(chunks))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise Misuse(f"request body over {MAX_BODY} bytes: the mock does not read further", [f"<= {MAX_BODY}"])
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _server_host(scope: Scope) -> str:
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = str(server[0]), server[1]
    if ":" in host:  # an IPv6 address, bracketed in a URL (RFC 3986 §3.2.2)
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


_DECIDED_AFTER = frozenset({"mode", "chaos", "chaos_faults"})  # flags an API's before-hook refusal preempts
_ERROR_FLAGS = frozenset({"error", "code"})
_MODE_FLAG = frozenset({"mode"})
_CHAOS_FLAGS = frozenset({"chaos", "chaos_faults"})
_CODE_FLAG = frozenset({"code"})
_MODE_AND_ERROR_FLAGS = _MODE_FLAG | _ERROR_FLAGS
_ROUTE_FLAGS = _DECIDED_AFTER | _ERROR_FLAGS | {"replay"}  # what only a route's answer applies


def _fault_of(ctx: RequestContext) -> str | None:
    """The transport fault of this answer: asked by flag, drawn or replayed, or a mode's."""
    return ctx.flags.fault or ctx.fault or (ctx.effects.fault if ctx.effects else None)


def _error_to_truncate(ctx: RequestContext, route: Route) -> Failure | None:
    """Issue 9: `truncate` sends "a documented error's status line and headers" cut short. With no error asked (by
    `__error`, `__code` or a draw), the route's first documented error that answers at once (chaos's pool), before
    its handler runs: a vendor error and a transport fault combine, and nothing is done for an answer never sent."""
    if _fault_of(ctx) != "truncate" or ctx.async_errors:
        return None
    pool = chaos.error_pool(ctx.api, route)
    return Failure([ErrorRef(pool[0])]) if pool else None


def _not_applied(flags: Flags, names: frozenset[str]) -> None:
    """Preference-Applied names what was applied (RFC 7240): not these."""
    flags.given = [g for g in flags.given if g.partition("=")[0] not in names]


def _errors_shown(flags: Flags, shown: list[ErrorRef]) -> None:
    """Preference-Applied names the error ids the answer shows: not one an API that answers one error at a time
    left out, nor an asynchronous one whose work never started."""
    ids = {ref.id for ref in shown}
    given: list[str] = []
    for preference in flags.given:
        name, _, value = preference.partition("=")
        if name == "error":  # each id is in one preference only (parse_flags names a repeated one once)
            kept = [e for e in value.split(",") if e in ids]
            if not kept:
                continue
            preference = f"error={','.join(kept)}"
        given.append(preference)
    flags.given = given


def _headers_of(rendered: Rendered, flags: Flags, date: bytes) -> list[tuple[bytes, bytes]]:
    headers = list(rendered.wire if rendered.wire is not None else wire_headers(rendered.headers))
    headers.append((b"date", date))  # the servers' own Date is off: this one follows the mock's clock
    if rendered.status not in _NO_LENGTH:  # RFC 9110 8.6: never on 204 (nor 304, which has no body here)
        headers.append((b"content-length", str(len(rendered.body)).encode()))
    if flags.given:
        applied = ", ".join(map(preference_applied, flags.given))
        headers.append((b"preference-applied", applied.encode("latin-1", "replace")))
    return headers


async def _send(send: Any, rendered: Rendered, flags: Flags, head: bool, date: bytes) -> None:
    await send({"type": "http.response.start", "status": rendered.status,
                "headers": _headers_of(rendered, flags, date)})
    await send({"type": "http.response.body", "body": b"" if head or rendered.status in _NO_LENGTH else rendered.body})
