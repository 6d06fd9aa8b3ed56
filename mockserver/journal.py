"""The bounded request journal, and which documented errors each session was served.

Recording stays cheap (one slotted object appended to a deque); redaction and formatting happen
when somebody reads the journal, not on the request path.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

REDACTED = "[redacted]"
_SECRET_HEADERS = {"authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization"}
_SIGNATURE = re.compile(r"(signature=)[^,\s]+", re.IGNORECASE)
# Credentials some APIs take in the query or the body: Braze's legacy `api_key` (query or JSON), the
# clientless DCR `client_secret` and `software_statement` (form), the mock login page's `password`.
_SECRET_FIELDS = "api_key|client_secret|software_statement|access_token|refresh_token|password"
_SECRET_PAIR = re.compile(rf"((?:^|[&;])(?:{_SECRET_FIELDS})=)[^&;]*")
_SECRET_MEMBER = re.compile(rf'("(?:{_SECRET_FIELDS})"\s*:\s*)"(?:[^"\\]|\\.)*"?')  # to the cap's end
BODY_CAP = 2048  # shown when the journal is read
BODY_KEEP = 65536  # kept per entry: the fingerprint of a retry hashes it with the full size
HEADERS_KEEP = 65536  # the request's headers kept per entry (uvicorn takes megabytes of them), then a note
# marshal's format 2 writes no back-references: format 4 looks every object up in a table made per call
# (a third of the time packing took), to save about 45 bytes of an entry's 350; loads reads either
PACK_VERSION = 2


class Entry:
    """One request while it is answered; stored as a plain tuple of immutable values, which the
    garbage collector stops scanning (a journal of lists made every full collection slower)."""

    __slots__ = (
        "seq",
        "time",
        "virtual_time",
        "session",
        "api",
        "route",
        "method",
        "path",
        "query",
        "headers",
        "body",
        "status",
        "errors",
        "fault",
        "latency_ms",
        "flags",
        "misuse",
        "reply_headers",
    )

    def __init__(self, time: float, method: str, path: str, query: bytes, headers: Any, api: str | None) -> None:
        self.seq = 0
        self.time = time
        self.virtual_time: float | None = None
        self.session: str | None = None
        self.api = api
        self.route: str | None = None
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = b""
        self.status = 0
        self.errors: Any = ()
        self.fault: str | None = None
        self.latency_ms = 0.0
        self.flags: Any = ()
        self.misuse = False
        self.reply_headers: Any = ()  # the answer's (name, value) pairs: Retry-After, X-RateLimit-Reset ...

    def freeze(self, headers: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
        """The fields in FIELDS order (marshal takes the lists as they are: they come back as lists)."""
        body = self.body
        return (self.seq, self.time, self.virtual_time, self.session, self.api, self.route, self.method, self.path,
                self.query, tuple(self.headers) if headers is None else headers,
                body[:BODY_KEEP] if len(body) > BODY_KEEP else body, self.status,
                self.errors, self.fault, self.latency_ms, self.flags, self.misuse, self.reply_headers, len(body))

    def pack(self) -> bytes:
        """The entry marshal-ed. The headers are counted only when the whole is over HEADERS_KEEP (counting
        them on every request cost 0.85 µs of a 2.6 µs record)."""
        packed = marshal.dumps(self.freeze(), PACK_VERSION)
        if len(packed) > HEADERS_KEEP:  # a body near BODY_KEEP alone gets here: packed again only when cut
            cut = _cut(self.headers)
            if cut is not None:
                packed = marshal.dumps(self.freeze(cut), PACK_VERSION)
        return packed


def _cut(headers: Any) -> tuple[Any, ...] | None:
    """The headers up to HEADERS_KEEP bytes, those past it counted in one `x-mockserver-journal-cut`; None
    when they all fit."""
    kept = tuple(headers)
    size = sum(len(name) + len(value) for name, value in kept)
    if size <= HEADERS_KEEP:
        return None
    out, used = [], 0
    for name, value in kept:
        if used + len(name) + len(value) > HEADERS_KEEP:
            break
        out.append((name, value))
        used += len(name) + len(value)
    note = f"{len(kept) - len(out)} headers, {size - used} bytes not kept".encode()
    return (*out, (b"x-mockserver-journal-cut", note))


FIELDS = (*Entry.__slots__, "body_size")
_FIELD = {name: index for index, name in enumerate(FIELDS)}
Stored = tuple[Any, ...]


def to_dict(stored: Stored, redact: bool = True) -> dict[str, Any]:
    """One entry as the admin API shows it; `redact=False` only for judges inside the server (the verdict)."""
    entry = dict(zip(FIELDS, stored, strict=True))
    body: bytes = entry["body"] or b""
    shown = _redact if redact else _plain
    query, text = (entry["query"] or b"").decode("latin-1"), body[:BODY_CAP].decode("utf-8", "replace")
    entry.update(
        query=redact_fields(query) if redact else query,
        headers=[shown(n.decode("latin-1"), v.decode("latin-1")) for n, v in entry["headers"]],
        body=redact_fields(text) if redact else text,
        body_hash=hashlib.sha1(body).hexdigest()[:16],
        errors=list(entry["errors"]),
        flags=list(entry["flags"]),
        reply_headers=[shown(n, v) for n, v in entry["reply_headers"]],
    )
    return entry


def _plain(name: str, value: str) -> list[str]:
    return [name, value]


def redact_fields(text: str) -> str:
    """`api_key=K` (query, form) and `"api_key": "K"` (JSON) with the value redacted; the hash is the body's."""
    if "=" in text:
        text = _SECRET_PAIR.sub(r"\1" + REDACTED, text)
    if '"' in text:
        text = _SECRET_MEMBER.sub(r'\1"' + REDACTED + '"', text)
    return text


def _redact(name: str, value: str) -> list[str]:
    lower = name.lower()
    if lower in _SECRET_HEADERS:
        scheme = value.split(" ", 1)[0] if " " in value and lower.endswith("authorization") else ""
        return [name, f"{scheme} {REDACTED}".strip() if not _SIGNATURE.search(value) else _SIGNATURE.sub(
            r"\1" + REDACTED, value
        )]
    return [name, value]


class Journal:
    """In this process's memory; `shared_journal.SharedJournal` keeps it in Redis for every process."""

    shared = False  # a shared journal is written before the answer leaves (`publish`), read after `sync`

    @property
    def entries(self) -> list[Stored]:
        """The stored entries, oldest first (decoded on each read: reads are rare, writes are not)."""
        return [marshal.loads(packed) for packed in self._packed]

    def __init__(self, size: int = 10_000, enabled: bool = True, sessions: int = 0) -> None:
        self.enabled = enabled and size > 0
        # Each entry is kept as one marshal-ed bytes object: the garbage collector has nothing to scan in
        # a full journal (tuples of tuples kept it busy, and long-tail latency showed it).
        self._packed: deque[bytes] = deque(maxlen=max(size, 1))
        # Beside each entry its session (a str: nothing for the collector either), so that a session's reads
        # decode its own entries only: decoding a full journal for one took 0.2 s, every other request waiting.
        self._sessions: deque[str | None] = deque(maxlen=max(size, 1))
        self.dropped = False  # the bound has pushed entries out since the last clear
        # The sessions the bound pushed entries of out since their last clear (their verdict is incomplete): of those
        # remembered (`first`), so at most `sessions` of them (0: no bound); a session forgotten leaves it too.
        self.lost: dict[str, None] = {}
        self.served: dict[str, dict[str, set[str]]] = {}  # session -> api -> error ids
        # Per session, the seq of its first entry, the session last seen last: at most `sessions` of
        # them (0: all), the least recently seen forgotten first (README: "for the last --max-sessions
        # sessions seen", as the store forgets state); what a forgotten session was served still counts
        # in the whole server's coverage (`served_before`), no longer in its own.
        self.first: dict[str, int] = {}
        self.sessions = sessions
        self.served_before: dict[str, set[str]] = {}  # api -> error ids served to sessions forgotten here
        self.seq = 0

    def record(self, entry: Entry) -> None:
        self.seq += 1
        entry.seq = self.seq
        if entry.session is not None:
            first = self.first.pop(entry.session, None)  # seen again: last in the order of forgetting
            if first is None:
                self._first_seen(entry.session)
            else:
                self.first[entry.session] = first
        if entry.errors and entry.api and entry.session:
            by_api = self.served.get(entry.session)
            if by_api is None:
                by_api = self.served[entry.session] = {}
            ids = by_api.get(entry.api)
            if ids is None:
                ids = by_api[entry.api] = set()
            ids.update(entry.errors)
        if self.enabled:
            if len(self._packed) == self._packed.maxlen:
                self.dropped = True
                pushed_out = self._sessions[0]
                if pushed_out is not None:
                    self._lost(pushed_out)
            self._packed.append(entry.pack())
            self._sessions.append(entry.session)

    def _lost(self, session: str) -> None:
        if not self.sessions or session in self.first:  # one forgotten comes back afresh, as after its reset (README)
            self.lost[session] = None

    def _first_seen(self, session: str) -> None:
        self.first[session] = self.seq
        if self.sessions and len(self.first) > self.sessions:
            oldest = next(iter(self.first))
            del self.first[oldest]
            self.lost.pop(oldest, None)
            self._forget_served(oldest)

    def _forget_served(self, session: str) -> None:
        """The session's own coverage goes; the whole server's keeps it until a full clear (as Redis does)."""
        for api, ids in self.served.pop(session, {}).items():
            self.served_before.setdefault(api, set()).update(ids)

    def complete(self, session: str | None = None) -> bool:
        """False when the journal's bound has pushed out entries of `session` (None: of any session),
        which a verdict or a count over what it holds then misses."""
        if not self.dropped:
            return True
        return session is not None and session not in self.lost

    def served_ids(self, session: str | None = None) -> dict[str, set[str]]:
        """api -> documented error ids served to `session`, or to any session since the last clear."""
        found: dict[str, set[str]] = {} if session is not None else {a: set(i) for a, i in self.served_before.items()}
        for name, by_api in self.served.items():
            if session is None or name == session:
                for api, ids in by_api.items():
                    found.setdefault(api, set()).update(ids)
        return found

    def query(
        self,
        *,
        api: str | None = None,
        session: str | None = None,
        route: str | None = None,
        status: int | None = None,
        error: str | None = None,
        unmatched: bool = False,
        limit: int | None = None,
        redact: bool = True,
    ) -> list[dict[str, Any]]:
        f = _FIELD
        found: list[Stored] = []
        if limit is not None and limit <= 0:
            return []
        for e in self._newest_first(session):  # the last `limit` are all a client waits for
            if ((api is None or e[f["api"]] == api)
                    and (route is None or e[f["route"]] == route)
                    and (status is None or e[f["status"]] == status)
                    and (error is None or error in e[f["errors"]])
                    # no route: under an API, or under none (misuse, but a wrong base URL is what this list is
                    # for); a flag's misuse under an API is not counted, refused before its route was looked for, nor
                    # a client gone before its body ended, never matched (no status, no virtual time: never answered)
                    and (not unmatched or (e[f["route"]] is None and (not e[f["misuse"]] or e[f["api"]] is None)
                                           and (e[f["status"]] != 0 or e[f["virtual_time"]] is not None)))):
                found.append(e)
                if limit is not None and len(found) == limit:
                    break
        return [to_dict(e, redact) for e in reversed(found)]

    def _newest_first(self, session: str | None) -> Iterator[Stored]:
        """The entries (of `session`, when given), decoded one by one, newest first."""
        if session is None:
            return map(marshal.loads, reversed(self._packed))
        pairs = zip(reversed(self._packed), reversed(self._sessions), strict=True)
        return (marshal.loads(packed) for packed, owner in pairs if owner == session)

    def requests_by_api(self, session: str | None = None) -> dict[str, int]:
        """How many requests each API got (in what the journal still holds), for coverage."""
        f = _FIELD
        counts: dict[str, int] = {}
        for e in self._newest_first(session):
            if e[f["api"]]:
                counts[e[f["api"]]] = counts.get(e[f["api"]], 0) + 1
        return counts

    async def sync(self) -> None:
        """Before a read: a shared journal takes in what other processes recorded; this one has it all."""

    async def sync_served(self, session: str | None = None) -> None:
        """Before a coverage read: a shared journal takes in what `session` (None: any) was served."""

    async def publish(self, entry: Entry) -> None:
        self.record(entry)

    async def wipe(self, session: str | None = None) -> None:
        self.clear(session)

    def clear(self, session: str | None = None) -> None:
        if session is None:
            self._packed.clear()
            self._sessions.clear()
            self.served.clear()
            self.first.clear()
            self.served_before.clear()
            self.lost.clear()
            self.dropped = False
        else:
            kept = [(packed, owner) for packed, owner in zip(self._packed, self._sessions, strict=True)
                    if owner != session]
            self._packed.clear()
            self._sessions.clear()
            self._packed.extend(packed for packed, _ in kept)
            self._sessions.extend(owner for _, owner in kept)
            self._forget_served(session)
            self.first.pop(session, None)
            self.lost.pop(session, None)
