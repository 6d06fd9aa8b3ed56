"""The bounded request journal, and which documented errors each session was served.

Recording stays cheap (one slotted object appended to a deque); redaction and formatting happen
when somebody reads the journal, not on the request path.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

REDACTED = "[redacted]"
_SECRET_HEADERS = {"authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization"}
_SIGNATURE = re.compile(r"(signature=)[^,\s]+", re.IGNORECASE)
BODY_CAP = 2048


class Entry:
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
    )

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    def to_dict(self) -> dict[str, Any]:
        body: bytes = self.body or b""
        return {
            "seq": self.seq,
            "time": self.time,
            "virtual_time": self.virtual_time,
            "session": self.session,
            "api": self.api,
            "route": self.route,
            "method": self.method,
            "path": self.path,
            "query": (self.query or b"").decode("latin-1"),
            "headers": [_redact(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.headers or []],
            "body": body[:BODY_CAP].decode("utf-8", "replace"),
            "body_size": len(body),
            "status": self.status,
            "errors": list(self.errors or []),
            "fault": self.fault,
            "latency_ms": self.latency_ms,
            "flags": list(self.flags or []),
            "misuse": bool(self.misuse),
        }


def _redact(name: str, value: str) -> list[str]:
    lower = name.lower()
    if lower in _SECRET_HEADERS:
        scheme = value.split(" ", 1)[0] if " " in value and lower.endswith("authorization") else ""
        return [name, f"{scheme} {REDACTED}".strip() if not _SIGNATURE.search(value) else _SIGNATURE.sub(
            r"\1" + REDACTED, value
        )]
    return [name, value]


class Journal:
    def __init__(self, size: int = 10_000, enabled: bool = True) -> None:
        self.enabled = enabled and size > 0
        self.entries: deque[Entry] = deque(maxlen=max(size, 1))
        self.served: dict[str, dict[str, set[str]]] = {}  # session -> api -> error ids
        self.seq = 0

    def record(self, entry: Entry) -> None:
        self.seq += 1
        entry.seq = self.seq
        if entry.errors and entry.api and entry.session:
            self.served.setdefault(entry.session, {}).setdefault(entry.api, set()).update(entry.errors)
        if self.enabled:
            self.entries.append(entry)

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
    ) -> list[dict[str, Any]]:
        found = [
            e
            for e in self.entries
            if (api is None or e.api == api)
            and (session is None or e.session == session)
            and (route is None or e.route == route)
            and (status is None or e.status == status)
            and (error is None or error in (e.errors or ()))
            and (not unmatched or e.route is None)
        ]
        if limit is not None:
            found = found[-limit:]
        return [e.to_dict() for e in found]

    def clear(self, session: str | None = None) -> None:
        if session is None:
            self.entries.clear()
            self.served.clear()
        else:
            kept = [e for e in self.entries if e.session != session]
            self.entries.clear()
            self.entries.extend(kept)
            self.served.pop(session, None)
