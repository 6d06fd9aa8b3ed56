"""One request as checks, handlers and templates see it; parsed lazily, raw bytes kept."""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from jinja2.exceptions import SecurityError

if TYPE_CHECKING:
    from mockserver.engine.clock import Clock
    from mockserver.engine.flags import Flags
    from mockserver.engine.generate import Generator
    from mockserver.engine.modes import Effects
    from mockserver.engine.outcome import ErrorRef
    from mockserver.engine.state import StateStore
    from mockserver.scenario.model import Api, Route

_UNPARSED = object()
JSON_WHITESPACE = b" \t\n\r"  # RFC 8259 §2; bytes.strip() would also take \x0b and \x0c, which no JSON parser skips
_WIRE_NAMES: dict[str, bytes] = {}  # header names as asked -> as ASGI gives them (lower-case bytes)


class BodyNotJson(Exception):
    pass


class RequestContext:
    """The request after flags were taken off, plus session, seed, state and clock."""

    __slots__ = ("api", "method", "path", "raw_query", "raw_headers", "body", "flags", "session", "seed", "number",
                 "base_url", "host", "client_ip", "state", "clock", "generator", "options", "route", "path_params",
                 "variables", "async_errors", "reported", "effects", "fault", "decision", "_headers", "_query", "_json",
                 "_json_error", "__dict__")

    def __init__(
        self,
        *,
        api: Api,
        method: str,
        path: str,
        raw_query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        flags: Flags,
        session: str,
        seed: int,
        number: int,
        base_url: str,
        host: str,
        client_ip: str,
        state: StateStore,
        clock: Clock,
        generator: Generator,
        options: Mapping[str, Any],
    ) -> None:
        self.api = api
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.raw_headers = headers
        self.body = body
        self.flags = flags
        self.session = session
        self.seed = seed
        self.number = number
        self.base_url = base_url
        self.host = host
        self.client_ip = client_ip
        self.state = state
        self.clock = clock
        self.generator = generator
        self.options = options  # per-API settings from the command line or environment
        self.route: Route | None = None
        self.variables: dict[str, Any] = {}  # set by API hooks and checks, seen by every template
        self.async_errors: list[ErrorRef] = []  # asked by flag, to be reported later by the handler
        self.reported: list[str] = []  # documented errors served inside a success (minor, delayed)
        self.path_params: dict[str, str] = {}
        self.effects: Effects | None = None  # what the modes on for this request add (delay, fault, headers)
        self.fault: str | None = None  # the transport fault this answer ends with (flag, chaos, mode)
        self.decision: str | None = None  # the chaos decision, for X-Mock-Decision
        self._headers: dict[str, list[str]] | None = None
        self._query: dict[str, list[str]] | None = None
        self._json: Any = _UNPARSED
        self._json_error: str | None = None

    @property
    def headers(self) -> dict[str, list[str]]:
        """Header values by lower-case name (latin-1, so any byte decodes)."""
        if self._headers is None:
            found: dict[str, list[str]] = {}
            for name, value in self.raw_headers:
                found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
            self._headers = found
        return self._headers

    def header(self, name: str) -> str | None:
        """The first value of a header; scans the raw list (names are lower case in ASGI)."""
        if self._headers is not None:
            values = self._headers.get(name.lower())
            return values[0] if values else None
        wanted = _WIRE_NAMES.get(name)
        if wanted is None:
            wanted = name.lower().encode("latin-1")
            if len(_WIRE_NAMES) < 256:
                _WIRE_NAMES[name] = wanted
        for key, value in self.raw_headers:
            if key == wanted:
                return value.decode("latin-1")
        return None

    @property
    def query(self) -> dict[str, list[str]]:
        """Decoded query parameters (several values each); DCS reads `raw_query` instead."""
        if self._query is None:
            found: dict[str, list[str]] = {}
            text = self.raw_query.decode("latin-1")
            for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
                found.setdefault(name, []).append(value)
            self._query = found
        return self._query

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def report(self, *error_ids: str) -> None:
        """Count documented errors that this answer serves without failing (non-fatal, or delayed on a
        poll): the journal and /__admin/coverage see them as served."""
        self.reported.extend(error_ids)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def _parse_json(self) -> None:
        try:
            text = self.body.decode("utf-8") if self.body.strip(JSON_WHITESPACE) else None
            self._json = loads_encodable(text) if text is not None else None
        except (UnicodeDecodeError, ValueError) as exc:
            self._json, self._json_error = None, str(exc)
        except RecursionError:
            self._json, self._json_error = None, "JSON nested too deeply"

    @property
    def json(self) -> Any:
        """The body as JSON; None when empty or unparseable (see `json_error`)."""
        if self._json is _UNPARSED:
            self._parse_json()
        return self._json

    def replace_json(self, value: Any) -> None:
        """What rules, checks and handlers read as the body from here on: an API hook's normal form of it."""
        self._json = value

    @property
    def json_error(self) -> str | None:
        if self._json is _UNPARSED:
            self._parse_json()
        return self._json_error


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_encodable(text: str) -> Any:
    """JSON text as a value an answer can echo: NaN and Infinity refused (not JSON), lone surrogates replaced."""
    value = json.loads(text, parse_constant=_not_json)
    return _replace_lone_surrogates(value) if _ESCAPED_SURROGATE.search(text) else value


def _replace_lone_surrogates(value: Any) -> Any:
    """`"\\ud800"` alone parses to a character no UTF-8 can carry (RFC 8259 8.2 leaves it open): it
    becomes U+FFFD, as Go's and the browsers' decoders do, so an echo of it can still be encoded."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_lone_surrogates(k): _replace_lone_surrogates(v) for k, v in value.items()}
    return value


def _not_json(name: str) -> Any:
    """NaN and Infinity are Python's, not JSON's (RFC 8259): the parsers behind the real APIs refuse them."""
    raise ValueError(f"{name} is not a JSON value")


class TemplateRequest:
    """`request` in templates: parsed only as far as a template reads it."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx

    @property
    def method(self) -> str:
        return self._ctx.method

    @property
    def path(self) -> str:
        return self._ctx.path

    @property
    def path_params(self) -> dict[str, str]:
        return self._ctx.path_params

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._ctx.query.items()}

    @property
    def query_all(self) -> dict[str, list[str]]:
        return self._ctx.query

    @property
    def headers(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._ctx.headers.items()}

    @property
    def json(self) -> Any:
        return self._ctx.json

    @property
    def text(self) -> str:
        return self._ctx.body.decode("utf-8", "replace")

    @property
    def base_url(self) -> str:
        return self._ctx.base_url

    @property
    def host(self) -> str:
        return self._ctx.host


class LazyFake:
    """`fake` in templates: Faker seeded from this request's generator on each use."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Generator) -> None:
        self._generator = generator

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._generator.fake, name)
        if inspect.ismethod(found):
            return _sized(found)
        return _SizedProxy(found) if name in ("unique", "optional") else found


class _SizedProxy:
    """`fake.unique` and `fake.optional`: their methods are Faker's, bounded the same."""

    __slots__ = ("_proxy",)

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._proxy, name)
        return _sized(found) if callable(found) else found


MAX_FAKE_SIZE = 100_000  # characters, words, rows or items a Faker call may make
_SIZE_NAMES = re.compile(r"nb|chars|length|size|elements|digits|count|rows|num")


def _sized(method: Any) -> Any:
    """A Faker method refusing a size past `MAX_FAKE_SIZE` (`fake.pystr(max_chars=100000000)` held the event loop,
    and every other request with it, for half a minute), as the sandbox bounds `*`, `**` and range()."""
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            given = inspect.signature(method).bind(*args, **kwargs).arguments
        except (TypeError, ValueError):  # Faker says what is wrong with the arguments
            given = kwargs
        sizes = {name: value for name, value in given.items()  # a min_ is a bound its max_ holds: not a factor
                 if isinstance(value, int | float) and value > 1 and _SIZE_NAMES.search(name)
                 and not (name.startswith("min_") and "max_" + name[4:] in given)}
        if math.prod(sizes.values()) > MAX_FAKE_SIZE:  # together: texts(nb_texts=1000, max_nb_chars=99999)
            asked = ", ".join(f"{name}={value}" for name, value in sizes.items())
            together = " together" if len(sizes) > 1 else ""
            raise SecurityError(f"fake.{method.__name__}({asked}): at most {MAX_FAKE_SIZE:,}{together}")
        return method(*args, **kwargs)
    return call


TEMPLATE_NAMES = frozenset({
    "request", "fake", "uuid", "hex", "request_id", "token", "digits", "randint", "now", "now_ms", "seed", "session",
    "number", "base_url", "options",  # what template_context gives every template
    "mode",  # engine/modes.py, in ctx.variables while a mode is on
})
"""Names every template may read; the loader refuses others, but for an error's answer (`error`, `errors`,
`items`) and what an API's hooks and handlers declare (`apis.before`, `apis.handler`)."""


def template_context(ctx: RequestContext) -> dict[str, Any]:
    """What every template of an answer sees (docs/architecture.md lists it)."""
    generator = ctx.generator
    context = {
        "request": TemplateRequest(ctx),
        "fake": LazyFake(generator),
        "uuid": generator.uuid,
        "hex": generator.hex,
        "request_id": generator.request_id,
        "token": generator.token,
        "digits": generator.digits,
        "randint": generator.integer,
        "now": ctx.clock.now,
        "now_ms": ctx.clock.now_ms,
        "seed": ctx.seed,
        "session": ctx.session,
        "number": ctx.number,
        "base_url": ctx.base_url,
        "options": ctx.options,
    }
    if ctx.variables:
        context.update(ctx.variables)
    return context
