"""Shared by the Braze tests: a key, a configured workspace (keys, campaigns, Canvases), request helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def configured_client(folder: Path, make_client: Any, extra: str = "") -> Any:
    """A client whose Braze workspace has the keys, campaigns and Canvases above (plus `extra` options)."""
    (folder / "braze-workspace.yaml").write_text(WORKSPACE + extra)
    return make_client(scenarios=(str(folder),))


def track(client: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/braze/users/track", json=body, headers=AUTH if headers is None else headers)


def users(count: int, prefix: str = "u") -> list[dict[str, str]]:
    return [{"external_id": f"{prefix}{i}"} for i in range(count)]


def fatal(response: Any, status: int, message: str) -> None:
    """The documented fatal envelope: that status, {"message": message, "errors": [...]}, JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["message"] == message and isinstance(body["errors"], list) and body["errors"]
