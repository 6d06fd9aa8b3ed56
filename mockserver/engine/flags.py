"""Per-request flags: `__name=value` in the query string, or `Prefer: name=value` (RFC 7240).

Flags are taken off the raw query string piece by piece, without decoding or re-encoding the rest,
so the imitated API sees exactly the query the client sent minus the flags (DCS's code 311 depends
on it). An unknown `__` flag is misuse of the mock; an unknown `Prefer` preference is ignored, as
RFC 7240 asks of servers.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

FLAG_NAMES = ("error", "code", "delay", "fault", "chaos", "chaos_faults", "mode", "seed", "session", "replay",
              "throttle")
THROTTLE_STATUSES = ("403", "429")  # clientless's answer to a spent bucket: the seed's 403, the newer page's 429
FAULT_KINDS = ("reset", "empty", "malformed", "truncate", "slow")
SESSION_HEADER = "x-mock-session"
SESSION_PREFIX = "/__session/"  # `/__session/NAME/...`: the path form of a session (app.session_scope)
_SESSION_NAME = re.compile(r"^(?!\.+$)[A-Za-z0-9._:@-]{1,128}$")  # not `.` or `..`: a path segment clients fold
SESSION_NAMES = ["1-128 letters, digits or . _ : @ -, not dots alone"]  # the valid values a misuse answer lists
_BOOLEAN = {"": True, "1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # RFC 9110 §5.6.2: a header's name, a media type's parts, a preference's
_DELAY = re.compile(r"^(?:\d{1,7}|uniform:\d{1,7}-\d{1,7}|lognormal:\d{1,7}(?:\.\d+)?,\d+(?:\.\d+)?)$")
# One preference of RFC 7240: token [= (token | quoted-string)], then ;parameters we do not use. The
# whitespace runs are possessive (`\s*+`): backtracking through them made `Prefer: a<16 KB of spaces>x`
# take 2.6 s of the event loop (quadratic: 60 KB, half a minute for every request the server had).
_PREFERENCE = re.compile(
    rf'\s*+(?P<name>{TOKEN})\s*+(?:=\s*+(?P<value>"(?:[^"\\]|\\.)*"|[^,;\s]*))?(?:\s*+;[^,]*)?\s*+(?:,|$)'
)


def _after_empty_elements(header: str, position: int) -> int:
    """`, error=x` and `a,,b`: a list's empty elements are skipped (RFC 9110 §5.6.1)."""
    while position < len(header) and (header[position] == "," or header[position].isspace()):
        position += 1
    return position


def decimal(text: str) -> int | None:
    """`text` read as a whole number of ASCII digits, or None. `str.isdigit()` holds for `²`, which int()
    refuses, and int() refuses more digits than `sys.get_int_max_str_digits()` (4,300): both were tracebacks.
    `str.isdecimal()` and int() take other scripts' digits (`４２９`, fullwidth), which no HTTP client sends
    for a number: `__code=４２９` was a 429."""
    limit = sys.get_int_max_str_digits()
    return int(text) if text.isascii() and text.isdecimal() and (not limit or len(text) <= limit) else None


class Misuse(Exception):
    """The client misused the mock itself (not the imitated API): answered 400 problem+json."""

    def __init__(self, detail: str, valid: list[str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.valid = valid or []


def misuse_body(detail: str, valid: list[str] | None, status: int) -> dict[str, Any]:
    """The mock's own complaint, from an API's path or the admin API alike: never to be mistaken for an error of the
    imitated API. The detail lists the valid values too (GUIDE §2), for a reader who sees only it; `valid` has them
    as data."""
    body: dict[str, Any] = {"type": "urn:mockserver:problem:misuse", "title": "Misuse of the mock server",
                            "status": status, "detail": f"{detail} (valid: {', '.join(valid)})" if valid else detail}
    if valid:
        body["valid"] = valid
    return body


@dataclass
class Flags:
    errors: list[str] = field(default_factory=list)
    code: int | None = None
    delay: str | None = None
    fault: str | None = None
    chaos: float | None = None
    chaos_faults: bool = False
    mode: str | None = None
    seed: int | None = None
    session: str | None = None
    replay: str | None = None
    throttle: int | None = None  # an API's own throttle answer (clientless: 403 or 429)
    given: list[str] = field(default_factory=list)  # "name=value" as received, for Preference-Applied

    @property
    def asks_error(self) -> bool:
        """An error asked by `__error` or `__code`: it wins over what an API's hook would refuse the
        request for (Reactor's gateway, Braze's spent window, clientless's spent bucket)."""
        return bool(self.errors) or self.code is not None


def valid_session(name: str) -> bool:
    return bool(_SESSION_NAME.match(name))


def split_query(raw: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """The query without its `__` flags (other bytes untouched), and the flags found."""
    if b"__" not in raw:
        return raw, []
    kept: list[bytes] = []
    flags: list[tuple[str, str]] = []
    for piece in raw.split(b"&"):
        if piece.startswith(b"__"):
            name, _, value = piece[2:].partition(b"=")
            flags.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
        else:
            kept.append(piece)
    return b"&".join(kept), flags


def parse_prefer(values: list[str]) -> list[tuple[str, str]]:
    """Preferences of every `Prefer` header, in order; quoted values unquoted."""
    found: list[tuple[str, str]] = []
    for header in values:
        position = 0
        while (position := _after_empty_elements(header, position)) < len(header):
            match = _PREFERENCE.match(header, position)
            if not match or match.end() == position:
                break  # the rest is not a preference: ignored, as RFC 7240 allows
            value = match.group("value") or ""
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            found.append((match.group("name").lower(), value))
            position = match.end()
    return found


NO_FLAGS = Flags()  # what most requests carry: shared, so never changed
_SPLITS = re.compile(r'[\s,;="\\]')


def preference_applied(given: str) -> str:
    """A `name=value` of `Flags.given` as Preference-Applied writes it (RFC 7240 `word`): the value quoted when it
    holds what would split the header (`replay="seed=7;session=ch;n=1"`, `error="a,b"`), else as it came
    (`delay=uniform:50-150`). The journal keeps the values as sent: a list needs no quoting."""
    name, _, value = given.partition("=")
    if not _SPLITS.search(value):
        return given
    return f'{name}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_flags(query_flags: list[tuple[str, str]], prefer: list[tuple[str, str]], session: str | None) -> Flags:
    """Check and combine both forms; raises Misuse with the valid values on a bad one."""
    if not query_flags and not prefer and session is None:
        return NO_FLAGS
    flags = Flags()
    for name, _ in query_flags:
        if name not in FLAG_NAMES:
            close = difflib.get_close_matches(name.lower(), FLAG_NAMES, 1, 0.7)  # a typo: `__eror`, `__ERROR`
            hint = f"; did you mean '__{close[0]}'?" if close else ""
            raise Misuse(f"unknown flag '__{name}'{hint}", [f"__{n}" for n in FLAG_NAMES])
    pairs = query_flags + [(n, v) for n, v in prefer if n in FLAG_NAMES]
    # each flag once (the usual case): all count, without working out which of the repeated ones does
    counted = None if len({name for name, _ in pairs}) == len(pairs) else _counted(pairs, len(query_flags))
    for index, (name, value) in enumerate(pairs):
        if counted is None or index in counted:
            before = len(flags.errors)
            _apply(flags, name, value)
            if name == "error" and value:  # the ids this one added: one asked again is named once
                value = ",".join(flags.errors[before:])
                if not value:
                    continue
            flags.given.append(f"{name}={value}" if value else name)
        else:  # checked all the same: a bad value is misuse even where another one wins
            _apply(Flags(), name, value)
    if session is not None:  # X-Mock-Session decides: a session flag it overrides was not applied
        _apply(flags, "session", session)
        flags.given = [g for g in flags.given if g.partition("=")[0] != "session"]
    return flags


def _counted(pairs: list[tuple[str, str]], in_query: int) -> set[int]:
    """Which of the flags (the query's first, then the Prefer header's) count. `error` adds up
    (several errors at once); any other flag counts once: the first of its form (RFC 7240 3: a
    repeated preference is ignored), the Prefer header's over the query's (as Prism reads them), so
    Preference-Applied names only what was applied."""
    first: dict[tuple[bool, str], int] = {}  # (from Prefer, name) -> index of its first occurrence
    for index, (name, _) in enumerate(pairs):
        first.setdefault((index >= in_query, name), index)
    in_prefer = {name for from_prefer, name in first if from_prefer}
    counted = {index for (from_prefer, name), index in first.items() if from_prefer or name not in in_prefer}
    return counted | {index for index, (name, _) in enumerate(pairs) if name == "error"}


def _apply(flags: Flags, name: str, value: str) -> None:
    if name == "error":
        ids = [v.strip() for v in value.split(",") if v.strip()]
        # no id: the API's ids are listed once the API is known; an id asked twice is one error
        flags.errors.extend(i for i in dict.fromkeys(ids or [""]) if i not in flags.errors)
    elif name == "code":
        code = decimal(value)
        if code is None or not 100 <= code <= 599:
            raise Misuse(f"flag 'code' takes an HTTP status, not '{value}'", ["100-599"])
        flags.code = code
    elif name == "seed":
        seed = decimal(value.removeprefix("-"))  # as --seed: ASCII digits, a minus maybe; not `+5`, `1_000`, `٣`
        if seed is None:
            raise Misuse(f"flag 'seed' takes an integer, not '{value}'", ["an integer"])
        flags.seed = -seed if value.startswith("-") else seed
    elif name == "session":
        if not _SESSION_NAME.match(value):
            raise Misuse(f"session name '{value}' is not valid", SESSION_NAMES)
        flags.session = value
    elif name == "delay":
        if not _DELAY.match(value):
            # `Prefer: delay=lognormal:80,0.4` is two preferences (RFC 7240): the comma needs the value quoted
            cut = re.fullmatch(r"lognormal:[\d.]+", value)
            quote = ' (a comma ends a Prefer preference: there, quote it, delay="lognormal:80,0.4")' if cut else ""
            raise Misuse(f"flag 'delay' takes milliseconds, not '{value}'{quote}",
                         ["MS", "uniform:LOW-HIGH", "lognormal:MEDIAN,SIGMA"])
        flags.delay = value
    elif name == "fault":
        if value not in FAULT_KINDS:
            raise Misuse(f"unknown fault '{value}'", list(FAULT_KINDS))
        flags.fault = value
    elif name == "chaos":
        try:
            probability = float(value)
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise Misuse(f"flag 'chaos' takes a probability, not '{value}'", ["a number from 0 to 1"])
        flags.chaos = probability
    elif name == "chaos_faults":
        if value.lower() not in _BOOLEAN:
            raise Misuse(f"flag 'chaos_faults' takes 1 or 0, not '{value}'", ["1", "0", "true", "false", "yes", "no"])
        flags.chaos_faults = _BOOLEAN[value.lower()]
    elif name == "mode":
        flags.mode = value
    elif name == "replay":
        flags.replay = value
    elif name == "throttle":
        if value not in THROTTLE_STATUSES:  # a value the mock does not know is misuse, not ignored
            raise Misuse(f"flag 'throttle' takes 403 or 429, not '{value}'", list(THROTTLE_STATUSES))
        flags.throttle = int(value)
