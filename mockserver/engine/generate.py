"""The seeded generator behind every id, request id and fake value of one answer.

The seed of a request is (seed, session, request number in that session): the same requests in the
same order within a session give the same values, whatever other sessions do. The random source is
made on first use only, so answers that need no random value pay nothing.
"""

from __future__ import annotations

import random
import string
import uuid as uuid_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

_ALNUM = string.ascii_letters + string.digits
_FAKER: Faker | None = None


def _shared_faker() -> Faker:
    """One Faker per process, reseeded per request: building a Faker costs milliseconds."""
    global _FAKER
    if _FAKER is None:
        from faker import Faker  # imported on first use: it costs a tenth of a second at start-up

        _FAKER = Faker()
    return _FAKER


class Generator:
    """Deterministic values for one request; exposed to templates as functions."""

    __slots__ = ("key", "_rng", "_request_id")

    def __init__(self, seed: int, session: str, number: int, salt: str = "") -> None:
        self.key = f"{seed}/{session}/{number}/{salt}"
        self._rng: random.Random | None = None
        self._request_id: str | None = None

    @property
    def rng(self) -> random.Random:
        if self._rng is None:
            self._rng = random.Random(self.key)
        return self._rng

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, length: int = 32) -> str:
        return f"{self.rng.getrandbits(length * 4):0{length}x}"

    def request_id(self) -> str:
        """This request's id, the same wherever it is used: `jfb0dQ2e0XVTkQ6AOfEJFfTDjguw9x3d`."""
        if self._request_id is None:
            self._request_id = self.token(32)
        return self._request_id

    def token(self, length: int = 32) -> str:
        """Letters and digits."""
        return "".join(self.rng.choices(_ALNUM, k=length))

    def digits(self, length: int) -> str:
        return "".join(self.rng.choices(string.digits, k=length))

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def random(self) -> float:
        return self.rng.random()

    def choice(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    @property
    def fake(self) -> Faker:
        faker = _shared_faker()
        faker.seed_instance(self.rng.getrandbits(64))
        return faker

    def template_functions(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "hex": self.hex,
            "request_id": self.request_id,
            "token": self.token,
            "digits": self.digits,
            "randint": self.integer,
        }
