"""Shared by the stateful (model-based) tests: one app per example, every answer checked and recorded.

Each example talks to a fresh app in one session; `Recorder.replay_matches` sends the same steps to
another fresh app with the same seed and compares every answer byte for byte (GUIDE §2, the `Date`
and `Server` headers aside).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import Phase
from starlette.testclient import TestClient

from mockserver.app import build_app
from mockserver.settings import Settings

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "8"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "15"))
# exploring: STATEFUL_NO_SHRINK=1 reports the first failure as found (shrinking a long run takes minutes)
PHASES = [p for p in Phase if not (os.environ.get("STATEFUL_NO_SHRINK") and p == Phase.shrink)]
SESSION = "stateful"
_CATALOG: dict[str, dict[str, dict[str, Any]]] = {}


def fresh_client(**settings: Any) -> TestClient:
    client = TestClient(build_app(Settings(seed=7, **settings)), base_url="http://127.0.0.1:8080")
    client.__enter__()
    return client


def catalog(client: TestClient, api: str) -> dict[str, dict[str, Any]]:
    if api not in _CATALOG:
        _CATALOG[api] = {e["id"]: e for e in client.get(f"/__admin/catalog?api={api}").json()}
    return _CATALOG[api]


def comparable(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("date", "server")]
    return response.status_code, headers, response.content


class Recorder:
    """Sends requests in the example's session, records them and their answers."""

    def __init__(self, headers: dict[str, str], **settings: Any) -> None:
        self.settings = settings
        self.client = fresh_client(**settings)
        self.headers = {**headers, "X-Mock-Session": SESSION}
        self.steps: list[tuple[str, str, dict[str, Any]]] = []
        self.answers: list[tuple[int, list[tuple[str, str]], bytes]] = []

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs = copy.deepcopy({**kwargs, "headers": {**self.headers, **kwargs.get("headers", {})}})
        response = self.client.request(method, path, **kwargs)
        self.steps.append((method, path, kwargs))
        self.answers.append(comparable(response))
        assert "x-mockserver-internal-error" not in response.headers, (method, path, response.text)
        assert "x-mockserver-misuse" not in response.headers, (method, path, response.text)
        return response

    def replay_matches(self) -> None:
        other = fresh_client(**self.settings)
        try:
            for (method, path, kwargs), answer in zip(self.steps, self.answers, strict=True):
                again = comparable(other.request(method, path, **kwargs))
                assert again == answer, (method, path, answer, again)
        finally:
            other.__exit__(None, None, None)

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def body(response: Any) -> Any:
    return json.loads(response.content) if response.content else None
