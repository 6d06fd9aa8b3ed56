"""What a rule, a check or a handler decides: which documented errors, or which success."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mockserver.engine.render import ResponseTemplate

NO_PARAMS: Mapping[str, Any] = MappingProxyType({})
PROBLEM_JSON = "application/problem+json"
# The mock's own failure (a bug, or the shared state gone), API routes and admin alike: never the API's error.
INTERNAL_ERROR_HEADERS = (("Content-Type", PROBLEM_JSON), ("X-Mockserver-Internal-Error", "1"))


class ErrorRef(NamedTuple):
    """One occurrence of a documented error; `params` fill its placeholders (ID, pointer ...).
    A tuple: several are made per request, and a tuple is the cheapest immutable record."""

    id: str
    params: Mapping[str, Any] = NO_PARAMS


@dataclass
class Failure:
    """Answer with these documented errors (rendered by the API's error_response)."""

    errors: list[ErrorRef]
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass
class Success:
    """Answer with the route's `respond` template (or `template`), given these variables.

    With neither, `body` is sent as JSON with `status` (200 by default) and `headers`.
    """

    variables: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    template: ResponseTemplate | None = None
    body: Any = None


@dataclass
class Reply:
    """A complete answer built in Python (a pixel, a redirect, an HTML page)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


Outcome = Failure | Success | Reply
