"""The seeded generator behind every id, request id and fake value of one answer.

The seed of a request is (seed, session, request number in that session): the same requests in the
same order within a session give the same values, whatever other sessions do. The random source is
made on first use only, so answers that need no random value pay nothing.
"""

from __future__ import annotations

import hashlib
import random
import string
from typing import TYPE_CHECKING, Any

from mockserver.engine.fastexpr import trust

if TYPE_CHECKING:
    from faker import Faker

_ALNUM = string.ascii_letters + string.digits
# Byte -> character tables: hashed bytes become ids in one C call (62 and 10 do not divide 256, a
# bias far too small to matter for fake ids).
_ALNUM_TABLE = bytes(ord(_ALNUM[i % len(_ALNUM)]) for i in range(256))
_DIGIT_TABLE = bytes(ord(string.digits[i % 10]) for i in range(256))
_FAKER: Faker | None = None
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # RFC 9562's variant bits
_blake2b = hashlib.blake2b


def _shared_faker() -> Faker:
    """One Faker per process, reseeded per request: building a Faker costs milliseconds."""
    global _FAKER
    if _FAKER is None:
        from faker import Faker  # imported on first use: it costs a tenth of a second at start-up

        _FAKER = Faker()
    return _FAKER


class Generator:
    """Deterministic values for one request; exposed to templates as functions."""

    __slots__ = ("key", "_rng", "_request_id", "_draws")

    def __init__(self, seed: int, session: str, number: int, salt: str = "") -> None:
        self.key = f"{seed}/{session}/{number}/{salt}"
        self._rng: random.Random | None = None
        self._request_id: str | None = None
        self._draws = 0

    def _bytes(self, size: int) -> bytes:
        """The next `size` bytes of this request's stream (BLAKE2b of key and draw number)."""
        if size <= 64:  # one digest: every id but the longest tokens
            self._draws += 1
            return _blake2b(f"{self.key}#{self._draws}".encode(), digest_size=size).digest()
        out = b""
        while len(out) < size:
            self._draws += 1
            chunk = min(64, size - len(out))
            out += hashlib.blake2b(f"{self.key}#{self._draws}".encode(), digest_size=chunk).digest()
        return out

    @property
    def rng(self) -> random.Random:
        if self._rng is None:
            self._rng = random.Random(self.key)
        return self._rng

    def uuid(self) -> str:
        """A version-4 UUID (variant bits set as RFC 9562 asks), formatted without the uuid module's checks."""
        h = self._bytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def hex(self, length: int = 32) -> str:
        return self._bytes((length + 1) // 2).hex()[:length]

    def request_id(self) -> str:
        """This request's id, the same wherever it is used: `jfb0dQ2e0XVTkQ6AOfEJFfTDjguw9x3d`."""
        if self._request_id is None:
            self._request_id = self.token(32)
        return self._request_id

    def token(self, length: int = 32) -> str:
        """Letters and digits."""
        return self._bytes(length).translate(_ALNUM_TABLE).decode()

    def digits(self, length: int) -> str:
        return self._bytes(length).translate(_DIGIT_TABLE).decode()

    def randbytes(self, size: int) -> bytes:
        """The next `size` bytes of this request's stream."""
        return self._bytes(size)

    def integer(self, low: int, high: int) -> int:
        """From low to high, both included; from the hashed stream, sparing the 5 µs of a Random."""
        if high < low:
            raise ValueError(f"empty range for integer({low}, {high})")
        return low + int.from_bytes(self._bytes(8), "big") % (high - low + 1)

    def random(self) -> float:
        return self.rng.random()

    def choice(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    @property
    def fake(self) -> Faker:
        faker = _shared_faker()
        faker.seed_instance(self.rng.getrandbits(64))
        return faker


for _method in (Generator.uuid, Generator.hex, Generator.request_id, Generator.token, Generator.digits,
                Generator.integer):
    trust(_method)
