"""Shared by the Braze tests: a key, a configured workspace (keys, campaigns, Canvases), request helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import build_app
from mockserver.settings import Settings
from tests.conftest import asgi_client

AUTH = {"Authorization": "Bearer key-1"}

WORKSPACE = """\
api: braze
options:
  api_keys:
    full-key: ["*"]
    track-only: [users.track]
  inactive_keys: [old-key]
  campaigns:
    welcome:
      name: Welcome
      tags: [onboarding]
      variations: {ios-variant: apple_push, mail-variant: email}
    old-promo: {name: Old promo, archived: true}
    winback: {name: Winback}
  canvases:
    paused-canvas: {status: paused}
    archived-canvas: {status: archived}
    live-canvas: {status: active}
  unknown_external_ids: [ghost]
  company_time_zone: Asia/Tokyo
"""
FULL = {"Authorization": "Bearer full-key"}


def workspace(folder: Path, extra: str = "") -> str:
    """A scenario folder whose Braze workspace has the keys, campaigns and Canvases above (+ `extra`)."""
    (folder / "braze-workspace.yaml").write_text(WORKSPACE + extra)
    return str(folder)


def app_client(**settings: Any) -> Iterator[TestClient]:
    """One app for a whole test module: building one per test is most of the run time."""
    with asgi_client(build_app(Settings(**settings))) as client:
        yield client


def track(client: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/braze/users/track", json=body, headers=AUTH if headers is None else headers)


# What event_object.md and purchase_object.md require beside the user, by array.
REQUIRED = {"attributes": {}, "events": {"name": "played", "time": "2026-01-01T00:00:00Z"},
            "purchases": {"product_id": "p", "currency": "USD", "price": 1.5, "time": "2026-01-01T00:00:00Z"}}


def users(count: int, prefix: str = "u", array: str = "attributes") -> list[dict[str, Any]]:
    """`count` valid objects of one /users/track array, each naming its own user."""
    return [{"external_id": f"{prefix}{i}", **REQUIRED[array]} for i in range(count)]


def fatal(response: Any, status: int, message: str) -> None:
    """The documented fatal envelope: that status, {"message": message, "errors": [...]}, JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["message"] == message and isinstance(body["errors"], list) and body["errors"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """Overrides the per-test `client` of tests/conftest.py where imported."""
    yield from app_client()


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from app_client(scenarios=(workspace(tmp_path_factory.mktemp("braze")),))


def test_minor_errors_count_as_served_in_coverage(make_client):
    client = make_client()
    session = {"X-Mock-Session": "cover-minor", "Authorization": "Bearer k"}
    body = {"attributes": [{"external_id": "ok"}, {"first_name": "no id"}]}
    assert client.post("/braze/users/track", json=body, headers=session).status_code == 201
    served = client.get("/__admin/coverage?session=cover-minor").json()["apis"]["braze"]["served_ids"]
    assert served, "the minor error of the second item should count as served"
