"""Braze's alias, identify and merge endpoints: their answers, shapes, 50-item limits, and the window
they share with /users/delete (api_limits.md: 20,000 requests per minute for the five)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest

from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import AUTH, FULL, app_client, fatal

client, configured = support.client, support.configured  # one app per module (fixtures)
SESSIONS = count()


def alias(i: int = 0) -> dict[str, str]:
    return {"alias_name": f"name-{i}", "alias_label": "label"}


def merge(i: int = 0) -> dict[str, dict[str, str]]:
    return {"identifier_to_merge": {"external_id": f"old-{i}"}, "identifier_to_keep": {"external_id": f"new-{i}"}}


# One valid request per endpoint, as its page's example request writes it.
EXAMPLES = {
    "/users/alias/new": {"user_aliases": [{"external_id": "u1", **alias()}]},
    "/users/alias/update": {"alias_updates": [{"alias_label": "l", "old_alias_name": "a", "new_alias_name": "b"}]},
    "/users/identify": {"aliases_to_identify": [{"external_id": "u1", "user_alias": alias()}]},
    "/users/merge": {"merge_updates": [merge()]},
    "/users/delete": {"external_ids": ["u1"]},
}
PERMISSIONS = {"/users/alias/new": "users.alias.new", "/users/alias/update": "users.alias.update",
               "/users/identify": "users.identify", "/users/merge": "users.merge"}
LOW_LIMIT = "api: braze\noptions:\n  rate_limit.users-identity: {limit: 5, window_s: 60}\n"


def post(client, path, body, headers=None):
    return client.post(f"/braze{path}", json=body, headers=AUTH if headers is None else headers)


@pytest.fixture
def session() -> dict[str, str]:
    """Each test its own session, so its own rate windows."""
    return {**AUTH, "X-Mock-Session": f"users-{next(SESSIONS)}"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator:
    folder = tmp_path_factory.mktemp("identity-limit")
    (folder / "limit.yaml").write_text(LOW_LIMIT)
    yield from app_client(scenarios=(str(folder),))


# -- the documented success answers ---------------------------------------------------------------
@pytest.mark.parametrize(("path", "status", "body"), [
    ("/users/alias/new", 201, {"aliases_processed": 1, "message": "success"}),
    ("/users/alias/update", 201, {"message": "success"}),
    ("/users/identify", 201, {"aliases_processed": 1, "message": "success"}),
    ("/users/merge", 202, {"message": "success"}),  # "This endpoint is asynchronous"
])
def test_each_endpoint_answers_as_its_page_shows(client, path, status, body):
    response = post(client, path, EXAMPLES[path])
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    assert response.json() == body


def test_aliases_processed_counts_the_items(client):
    created = post(client, "/users/alias/new", {"user_aliases": [alias(i) for i in range(3)]})
    assert created.json() == {"aliases_processed": 3, "message": "success"}
    body = {"aliases_to_identify": [{"external_id": "a", "user_alias": alias()}],
            "emails_to_identify": [{"external_id": "b", "email": "b@example.com", "prioritization": ["unidentified"]}],
            "phone_numbers_to_identify": [{"external_id": "c", "phone": "+15555555555",
                                           "prioritization": ["unidentified"]}]}
    assert post(client, "/users/identify", body).json() == {"aliases_processed": 3, "message": "success"}


def test_items_are_not_refused_by_their_members(client):
    """Braze answered 201 to an alias nested as `user_alias` and to a numeric external_id (recorded)."""
    assert post(client, "/users/alias/new", {"user_aliases": [{"user_alias": alias()}]}).status_code == 201
    body = {"aliases_to_identify": [{"external_id": 400, "user_alias": alias()}]}
    assert post(client, "/users/identify", body).status_code == 201


def test_merge_takes_every_identifier_kind(client):
    body = {"merge_updates": [
        {"identifier_to_merge": {"email": "a@example.com", "prioritization": ["unidentified", "most_recently_updated"]},
         "identifier_to_keep": {"external_id": "john"}},
        {"identifier_to_merge": {"user_alias": alias(1)}, "identifier_to_keep": {"phone": "+15555555555",
                                                                                 "prioritization": ["identified"]}},
    ]}
    assert post(client, "/users/merge", body).status_code == 202


# -- bad requests ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body"), [
    ("/users/alias/new", {}),
    ("/users/alias/new", {"user_aliases": alias()}),
    ("/users/alias/new", {"user_aliases": ["name-0"]}),
    ("/users/alias/update", {"alias_updates": None}),
    ("/users/alias/update", {"user_aliases": [alias()]}),
    ("/users/identify", {"merge_behavior": "merge"}),  # none of the three lists
    ("/users/identify", {"emails_to_identify": "a@example.com"}),
    ("/users/identify", {"aliases_to_identify": [[]]}),
    ("/users/merge", {"merge_updates": merge()}),  # "'merge_updates' must be an array of objects"
    ("/users/merge", {"merge_updates": [{"identifier_to_merge": {"external_id": "a"}}]}),
    ("/users/merge", {"merge_updates": [{**merge(), "note": "x"}]}),  # "must only have ..."
    ("/users/merge", {"merge_updates": [{**merge(), "identifier_to_keep": {"external_id": 7}}]}),
    ("/users/merge", {"merge_updates": [{**merge(), "identifier_to_merge": {"braze_id": "b"}}]}),
    ("/users/merge", {"merge_updates": [{**merge(), "identifier_to_merge": {"user_alias": "name-0"}}]}),
])
def test_a_body_off_the_documented_shape_is_bad_request(client, path, body):
    fatal(post(client, path, body), 400, "Bad Request")


@pytest.mark.parametrize("path", sorted(PERMISSIONS))
def test_a_body_that_is_no_json_object_is_bad_request(client, path):
    for raw in (b"[]", b"{", b'"user_aliases"'):
        response = client.post(f"/braze{path}", content=raw, headers={**AUTH, "Content-Type": "application/json"})
        fatal(response, 400, "Bad Request")
    fatal(client.post(f"/braze{path}", headers=AUTH), 400, "Bad Request")  # no body at all


# -- 50 per request -----------------------------------------------------------------------------------
ALIASES_MESSAGE = "The max number of external_ids and aliases per request was exceeded"
IDS_MESSAGE = "The max number of ids per request was exceeded"


@pytest.mark.parametrize(("path", "item", "message"), [
    ("/users/alias/new", lambda i: {"user_aliases": [alias(j) for j in range(i)]}, ALIASES_MESSAGE),
    ("/users/alias/update", lambda i: {"alias_updates": [{"alias_label": "l", "old_alias_name": f"o{j}",
                                                           "new_alias_name": f"n{j}"} for j in range(i)]},
     ALIASES_MESSAGE),
    ("/users/identify", lambda i: {"aliases_to_identify": [{"external_id": f"u{j}", "user_alias": alias(j)}
                                                           for j in range(i)]}, ALIASES_MESSAGE),
    ("/users/merge", lambda i: {"merge_updates": [merge(j) for j in range(i)]}, IDS_MESSAGE),
])
def test_50_items_pass_the_51st_is_over_the_limit(client, path, item, message):
    assert post(client, path, item(50)).status_code in (201, 202)
    fatal(post(client, path, item(51)), 400, message)


def test_identify_counts_its_three_lists_together(client):
    body = {"aliases_to_identify": [{"external_id": f"u{i}", "user_alias": alias(i)} for i in range(30)],
            "emails_to_identify": [{"external_id": f"e{i}", "email": f"{i}@example.com"} for i in range(21)]}
    fatal(post(client, "/users/identify", body), 400, ALIASES_MESSAGE)
    body["emails_to_identify"].pop()
    assert post(client, "/users/identify", body).json() == {"aliases_processed": 50, "message": "success"}


# -- keys and permissions ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(PERMISSIONS))
def test_each_endpoint_needs_its_own_permission(configured, path):
    fatal(post(configured, path, EXAMPLES[path], headers={"Authorization": "Bearer track-only"}), 403, "Access Denied")
    assert post(configured, path, EXAMPLES[path], headers=FULL).status_code in (201, 202)
    fatal(post(configured, path, EXAMPLES[path], headers={"Authorization": "Bearer old-key"}), 403, "Forbidden")


@pytest.fixture(scope="module")
def granted(tmp_path_factory) -> Iterator:
    """A key per permission, named after it (`users.merge-key` may call /users/merge only)."""
    folder = tmp_path_factory.mktemp("grants")
    grants = "".join(f"    {p}-key: [{p}]\n" for p in PERMISSIONS.values())
    (folder / "grants.yaml").write_text(f"api: braze\noptions:\n  api_keys:\n{grants}")
    yield from app_client(scenarios=(str(folder),))


@pytest.mark.parametrize(("path", "permission"), sorted(PERMISSIONS.items()))
def test_a_key_granted_only_that_permission_is_enough(granted, path, permission):
    assert post(granted, path, EXAMPLES[path], headers={"Authorization": f"Bearer {permission}-key"}).status_code \
        in (201, 202)
    for other in set(PERMISSIONS.values()) - {permission}:
        fatal(post(granted, path, EXAMPLES[path], headers={"Authorization": f"Bearer {other}-key"}), 403,
              "Access Denied")


@pytest.mark.parametrize("path", sorted(PERMISSIONS))
def test_without_a_key_it_is_unauthorized(client, path):
    fatal(post(client, path, EXAMPLES[path], headers={}), 401, "Unauthorized")
    fatal(post(client, path, EXAMPLES[path], headers={"Authorization": 'Bearer "key-1"'}), 401, "Unauthorized")


@pytest.mark.parametrize("path", sorted(PERMISSIONS))
@pytest.mark.parametrize(("flag", "status"), [("__error=bad-gateway", 502), ("__code=503", 503),
                                              ("__code=504", 504), ("__code=500", 500)])
def test_the_transient_errors_by_flag(client, path, flag, status):
    response = client.post(f"/braze{path}?{flag}", json=EXAMPLES[path], headers=AUTH)
    assert response.status_code == status and response.json()["errors"]


# -- one window for the five ------------------------------------------------------------------------
def test_the_five_share_one_window_of_20000_a_minute(client, session):
    remaining = []
    for path in [*EXAMPLES, "/users/delete", "/users/merge"]:
        response = post(client, path, EXAMPLES[path], headers=session)
        assert response.headers["x-ratelimit-limit"] == "20000"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == list(range(19_999, 19_992, -1))
    other = post(client, "/users/track", {"attributes": [{"external_id": "a"}]}, headers=session)
    assert other.headers["x-ratelimit-limit"] == "3000"  # /users/track keeps its own
    assert int(post(client, "/users/identify", EXAMPLES["/users/identify"], headers=session)
               .headers["x-ratelimit-remaining"]) == 19_992


def test_a_window_spent_on_some_is_spent_on_all(limited, session):
    paths = list(EXAMPLES)  # five requests, one per endpoint: the window of 5 is spent
    assert [post(limited, p, EXAMPLES[p], headers=session).status_code for p in paths] == [201, 201, 201, 202, 201]
    for path in paths:
        fatal(post(limited, path, EXAMPLES[path], headers=session), 429, "Rate Limited")
    limited.post("/__admin/clock", json={"advance": "61s"})
    assert post(limited, "/users/merge", EXAMPLES["/users/merge"], headers=session).status_code == 202
