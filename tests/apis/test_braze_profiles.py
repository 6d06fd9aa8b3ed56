"""What /users/track set and /users/delete removed, read back by /users/export/ids (braze_profiles.py).

post_user_track.md: track updates user profile attributes; post_user_delete.md: a deleted profile's
attributes and external ID are nulled; post_users_identifier.md: `invalid_user_ids` lists "identifiers
... that did not correspond to a known user"; user_attributes_object.md: `_update_existing_only: true`
is "Update Only" mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest

from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import app_client

client, configured = support.client, support.configured  # one app per module (fixtures)
SESSIONS = count()


@pytest.fixture
def session() -> dict[str, str]:
    return {"Authorization": "Bearer key-1", "X-Mock-Session": f"profiles-{next(SESSIONS)}"}


def post(client: Any, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = client.post(f"/braze{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def export(client: Any, headers: dict[str, str], *ids: str, **extra: Any) -> Any:
    return post(client, "/users/export/ids", {"external_ids": list(ids), **extra}, headers)


def test_tracked_attributes_are_exported(client, session):
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "plan": "gold", "first_name": "Ada"}]},
         session)
    [user] = export(client, session, "u1")["users"]
    assert user["external_id"] == "u1" and user["first_name"] == "Ada"
    assert user["custom_attributes"] == {"plan": "gold"}


def test_increment_and_null_change_what_was_tracked(client, session):
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "visits": 3, "plan": "gold"}]}, session)
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "visits": {"inc": 2}, "plan": None}]},
         session)
    assert export(client, session, "u1")["users"][0]["custom_attributes"] == {"visits": 5}


def test_fields_to_export_still_choose_the_fields(client, session):
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "plan": "gold", "first_name": "Ada"}]},
         session)
    [user] = export(client, session, "u1", fields_to_export=["custom_attributes"])["users"]
    assert user == {"external_id": "u1", "custom_attributes": {"plan": "gold"}}


def test_a_deleted_user_is_an_invalid_id_until_tracked_again(client, session):
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "plan": "gold"}]}, session)
    assert post(client, "/users/delete", {"external_ids": ["u1"]}, session)["deleted"] == 1
    assert export(client, session, "u1") == {"message": "success", "users": [], "invalid_user_ids": ["u1"]}
    post(client, "/users/track", {"events": [{"external_id": "u1", "name": "e", "time": "2026-01-01T00:00:00Z"}]},
         session)
    [user] = export(client, session, "u1")["users"]
    assert user["custom_attributes"] == {}  # a new profile: the old attributes were deleted


def test_update_only_mode_does_not_create_a_deleted_user(client, session):
    post(client, "/users/delete", {"external_ids": ["u1"]}, session)
    found = post(client, "/users/track",
                 {"attributes": [{"external_id": "u1", "_update_existing_only": True, "plan": "gold"}]}, session)
    assert found["attributes_processed"] == 1  # queued to be processed, as the page counts them
    assert export(client, session, "u1")["invalid_user_ids"] == ["u1"]


def test_each_api_key_is_its_own_workspace(client, session):
    post(client, "/users/track", {"attributes": [{"external_id": "u1", "plan": "gold"}]}, session)
    other = {**session, "Authorization": "Bearer key-2"}
    post(client, "/users/delete", {"external_ids": ["u1"]}, other)
    assert export(client, session, "u1")["users"][0]["custom_attributes"] == {"plan": "gold"}
    assert export(client, other, "u1")["invalid_user_ids"] == ["u1"]


@pytest.fixture(scope="module")
def ghosts(tmp_path_factory) -> Iterator:
    folder = tmp_path_factory.mktemp("ghosts")
    (folder / "ghosts.yaml").write_text("api: braze\noptions:\n  unknown_external_ids: [ghost]\n")
    yield from app_client(scenarios=(str(folder),))


def test_an_unknown_id_tracked_becomes_a_known_user(ghosts, session):
    assert export(ghosts, session, "ghost")["invalid_user_ids"] == ["ghost"]
    post(ghosts, "/users/track", {"attributes": [{"external_id": "ghost", "plan": "gold"}]}, session)
    [user] = export(ghosts, session, "ghost")["users"]
    assert user["external_id"] == "ghost" and user["custom_attributes"] == {"plan": "gold"}
    assert post(ghosts, "/users/delete", {"external_ids": ["ghost"]}, session)["deleted"] == 1
