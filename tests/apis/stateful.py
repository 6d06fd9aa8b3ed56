"""What the stateful (model-based) tests share: a recording session over ASGI, the checks every answer
meets, and the replay of a whole example on a fresh app (GUIDE §2: same seed, same steps, same bytes).

Hypothesis' RuleBasedStateMachine drives one `Recorder` per example; `STATEFUL_EXAMPLES` and
`STATEFUL_STEPS` size the run (a few seconds by default; to explore, as this round did:
`STATEFUL_EXAMPLES=200 STATEFUL_STEPS=40 pytest tests/apis/test_*_stateful.py`, a few minutes a file).
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from starlette.testclient import TestClient

from mockserver.app import build_app
from mockserver.settings import Settings
from tests.conftest import asgi_client

SESSION = "stateful"
FROZEN_AT = "2026-01-01T00:00:00Z"
FROZEN_MS = 1767225600000
IGNORED_HEADERS = {"date", "server"}
# exploring: STATEFUL_NO_SHRINK=1 reports the first failure as found (shrinking a long run takes minutes)
SETTINGS = settings(max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "4")),
                    stateful_step_count=int(os.environ.get("STATEFUL_STEPS", "20")),
                    phases=[p for p in Phase if not (os.environ.get("STATEFUL_NO_SHRINK") and p == Phase.shrink)],
                    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def scratch_folder(prefix: str) -> Path:
    """A folder for an example's scenario files, removed when the test process ends (not left in /tmp)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _client(scenarios: tuple[str, ...]) -> TestClient:
    client = asgi_client(build_app(Settings(scenarios=scenarios, seed=7)))  # type: ignore[arg-type]
    client.__enter__()
    assert client.post("/__admin/clock", json={"freeze": FROZEN_AT}).status_code == 200
    return client


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in IGNORED_HEADERS]
    return response.status_code, headers, response.content


class Recorder:
    """One session of one fresh app; every call is kept to be replayed on another fresh app."""

    def __init__(self, api: str, scenarios: tuple[str, ...] = (), headers: dict[str, str] | None = None) -> None:
        self.api, self.scenarios = api, scenarios
        self.headers = {**(headers or {}), "X-Mock-Session": SESSION}  # sent with every call
        self.client = _client(scenarios)
        catalog = self.client.get(f"/__admin/catalog?api={api}").json()
        self.catalog = {entry["id"]: entry for entry in catalog}
        self.calls: list[tuple[str, str, dict[str, Any], tuple[int, list[tuple[str, str]], bytes]]] = []
        self.now_ms = FROZEN_MS

    @property
    def answers(self) -> list[tuple[int, list[tuple[str, str]], bytes]]:
        return [answer for *_, answer in self.calls]

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        kwargs = copy.deepcopy(kwargs)  # the model may change its dicts after the call: the replay sends these
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
        self.client.cookies.clear()  # a client sends what its model keeps, never a jar's leftovers
        self.calls.append((method, url, {"headers": headers, **kwargs}, _answer(response)))
        assert "x-mockserver-internal-error" not in response.headers, response.text
        assert "x-mockserver-misuse" not in response.headers, (method, url, response.text)
        return response

    def advance(self, seconds: int) -> None:
        self.now_ms += seconds * 1000
        response = self.client.post("/__admin/clock", json={"advance": f"{seconds}s"})
        assert response.status_code == 200
        self.calls.append(("POST", "/__admin/clock", {"json": {"advance": f"{seconds}s"}}, _answer(response)))

    def last_errors(self) -> list[str]:
        """The documented error ids the journal gives the session's last answer."""
        entries = self.client.get(f"/__admin/requests?session={SESSION}&limit=1").json()["requests"]
        return list(entries[-1]["errors"])

    def documented(self, response: Any, expected: str) -> None:
        """An error answer is the expected catalog entry: its id, its status."""
        errors = self.last_errors()
        assert errors == [expected], (errors, expected, response.status_code, response.text)
        assert self.catalog[expected]["status"] == response.status_code, (expected, response.status_code)

    def replay(self) -> None:
        """A fresh app given the same steps answers every one of them with the same bytes."""
        fresh = _client(self.scenarios)
        try:
            for number, (method, url, kwargs, answer) in enumerate(self.calls):
                again = fresh.request(method, url, follow_redirects=False, **kwargs)
                fresh.cookies.clear()
                assert _answer(again) == answer, (number, method, url, _answer(again), answer)
        finally:
            fresh.__exit__(None, None, None)

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def finish(self) -> None:
        """A machine's teardown: the replay of what it sent (if anything), then the app closed."""
        try:
            if self.calls:
                self.replay()
        finally:
            self.close()


def body(response: Any) -> Any:
    return json.loads(response.content) if response.content else None
