"""One base for what does not compile in a scenario file: every problem of a value, not the first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self


class FieldError(ValueError):
    """`where` is the field path in the scenario file; `errors` is every one found in the value (this
    one first), so one mistake does not hide its siblings'."""

    def __init__(self, where: str, message: str, errors: Sequence[Self] | None = None) -> None:
        self.where: str = where
        self.message: str = message
        self.errors: list[Self] = list(errors) if errors else [self]
        super().__init__("; ".join(f"{e.where}: {e.message}" for e in self.errors))

    @classmethod
    def of(cls, errors: Sequence[Self]) -> Self:
        """One error standing for all of `errors` (each possibly standing for several)."""
        flat = [e for exc in errors for e in exc.errors]
        return cls(flat[0].where, flat[0].message, flat)

    @classmethod
    def gather(cls, errors: list[Self], func: Callable[..., Any], *args: Any) -> Any:
        """`func(*args)`, or None with its errors added to `errors` (to be raised with the others')."""
        try:
            return func(*args)
        except cls as exc:
            errors.extend(exc.errors)
            return None

    @classmethod
    def raise_all(cls, errors: Sequence[Self]) -> None:
        """Every error gathered, raised as one; nothing when there is none."""
        if errors:
            raise cls.of(errors)
