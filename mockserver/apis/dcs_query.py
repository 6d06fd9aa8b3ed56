"""DCS key-value pairs read from the bytes the client sent, never from a decoded copy.

The DCS ignores a whole request when one parameter is badly percent-encoded (code 311), and
`d_cid` / `d_cid_ic` values are parts joined by a raw `%01` that must be split before decoding.
Both need the query exactly as sent; the mock's own `__` flags are already off (engine/flags.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote_plus, unquote_to_bytes

# A `%` that does not start a two-hex-digit escape: `%esid!` in the documentation's example.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
SEPARATOR = b"%01"  # joins the parts of a customer id; never decoded before splitting


def badly_encoded(raw: bytes) -> bool:
    """True when some `%` is not followed by two hexadecimal digits, or the escapes spell bytes that
    are not UTF-8 (code 311).

    The page's example holds both kinds and calls every one of them wrong: `%es`, `%ep` are not
    escapes, while `%ecid!`, `%eaid!`, `%ebuy!` are hex but start a UTF-8 sequence that `i` / `u`
    cannot continue; its corrected URL re-encodes all five as `%25`.
    """
    if _BAD_ESCAPE.search(raw) is not None:
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def decode(raw: bytes) -> str:
    """One key or value: `+` is a space, escapes are UTF-8 (invalid bytes replaced)."""
    text = raw.decode("latin-1")
    if "%" not in text and "+" not in text:
        return text  # what unquote_plus gives back for it, without its work
    return unquote_plus(text, encoding="utf-8", errors="replace")


class Pair(NamedTuple):
    """One `key=value` piece, decoded; the value keeps its raw bytes too, for `%01` splitting.
    A tuple: a request has a few of them, and its checks and templates read values many times."""

    key: str
    raw: bytes
    value: str

    def parts(self) -> list[str]:
        """The value split on the raw `%01` separator, each part decoded."""
        return [decode(part) for part in self.raw.split(SEPARATOR)]


def pairs(raw: bytes) -> list[Pair]:
    """Every non-empty `&`-separated piece, in order; a piece without `=` has an empty value."""
    found = []
    for piece in raw.split(b"&"):
        if not piece:
            continue
        key, _, value = piece.partition(b"=")
        found.append(Pair(decode(key), value, decode(value)))
    return found


class Params:
    """The request's pairs in the order sent (query first, then a form body), and each key's first value."""

    def __init__(self, found: list[Pair]) -> None:
        self.pairs = found
        self._first: dict[str, str] = {}  # each key's first value: the one every check reads
        for pair in found:
            self._first.setdefault(pair.key, pair.value)

    def first(self, *keys: str) -> str | None:
        """The first value of the first key present."""
        for key in keys:
            if key in self._first:
                return self._first[key]
        return None
