"""Braze rate limits: the three headers on every answer, per-key and per-group windows, the 429."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import AUTH, app_client, fatal, users

# A schedule time a month ahead of the clock: Braze takes one "up to 90 days in the future".
SOON = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT10:00:00")

client = support.client  # one app per module (fixture)
LOW_LIMITS = """\
api: braze
options:
  rate_limit.users-track: {limit: 5, window_s: 60}
  rate_limit.messaging-broadcast: {limit: 2, window_s: 60}
"""
SESSIONS = count()
TRACK = {"attributes": users(1)}


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator:
    folder = tmp_path_factory.mktemp("limits")
    (folder / "limits.yaml").write_text(LOW_LIMITS)
    for client in app_client(scenarios=(str(folder),)):
        client.post("/__admin/clock", json={"freeze": True})  # a test's requests stay in one window
        yield client


@pytest.fixture
def session() -> dict[str, str]:
    """Each test its own session: windows, like all state, are per session."""
    return {**AUTH, "X-Mock-Session": f"limits-{next(SESSIONS)}"}


def rate(response) -> tuple[int, ...]:
    """(X-RateLimit-Limit, -Remaining, -Reset) as integers: a header that is no integer fails here."""
    return tuple(int(response.headers[f"x-ratelimit-{n}"]) for n in ("limit", "remaining", "reset"))


@pytest.mark.parametrize(("method", "path", "body", "limit"), [
    ("POST", "/users/track", TRACK, 3000),
    ("POST", "/messages/send", {"external_user_ids": ["a"], "messages": {"email": {}}}, 250_000),
    ("POST", "/messages/send", {"broadcast": True, "segment_id": "s", "messages": {"email": {}}}, 250),
    ("POST", "/campaigns/trigger/send", {"campaign_id": "c", "broadcast": True}, 250),
    ("POST", "/canvas/trigger/send", {"canvas_id": "c", "recipients": [{"external_user_id": "a"}]}, 250_000),
    ("POST", "/campaigns/trigger/schedule/create",
     {"campaign_id": "c", "broadcast": True, "schedule": {"time": SOON + "Z"}}, 250_000),
    ("POST", "/users/export/ids", {"external_ids": ["a"]}, 250),
    ("POST", "/sends/id/create", {"campaign_id": "c"}, 100),
    ("POST", "/users/delete", {"external_ids": ["a"]}, 20_000),
    ("POST", "/users/alias/new", {"user_aliases": [{"alias_name": "a", "alias_label": "l"}]}, 20_000),
    ("POST", "/users/merge", {"merge_updates": [{"identifier_to_merge": {"external_id": "a"},
                                                 "identifier_to_keep": {"external_id": "b"}}]}, 20_000),
    ("GET", "/campaigns/list", None, 250_000),
    ("GET", "/campaigns/data_series?campaign_id=c&length=1", None, 50_000),
    ("GET", "/nowhere", None, 250_000),
])
def test_documented_limits_in_the_headers(client, session, method, path, body, limit):
    response = client.request(method, f"/braze{path}", json=body, headers=session)
    assert rate(response)[:2] == (limit, limit - 1)


def test_error_answers_carry_the_headers_too(client, session):
    for response in (client.post("/braze/users/track", json=TRACK, headers={**session, "Authorization": "x"}),
                     client.post("/braze/users/track", content=b"{", headers=session),
                     client.post("/braze/users/track?__error=internal-server-error", json=TRACK, headers=session)):
        assert response.status_code >= 400 and rate(response)[0] == 3000


def test_reset_is_the_window_end_in_epoch_seconds(client, session):
    now = client.post("/__admin/clock", json={"freeze": True}).json()["now"]
    try:
        first = client.post("/braze/users/track", json=TRACK, headers=session)
        # /users/track: 3 s windows on the clock's grid
        assert first.headers["x-ratelimit-reset"] == str(math.ceil((math.floor(now / 3) + 1) * 3))
    finally:
        client.post("/__admin/clock", json={"freeze": False})


def test_with_five_per_window_the_sixth_request_is_429(limited, session):
    answers = [limited.post("/braze/users/track", json=TRACK, headers=session) for _ in range(7)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 2
    assert [rate(a)[1] for a in answers] == [4, 3, 2, 1, 0, 0, 0]
    assert {rate(a)[0] for a in answers} == {5} and len({rate(a)[2] for a in answers}) == 1
    fatal(answers[5], 429, "Rate Limited")
    assert answers[5].json()["errors"] == ["Over rate limit."]


def test_the_window_reopens_at_reset(limited, session):
    for _ in range(6):
        spent = limited.post("/braze/users/track", json=TRACK, headers=session)
    assert spent.status_code == 429
    limited.post("/__admin/clock", json={"advance": "61s"})
    again = limited.post("/braze/users/track", json=TRACK, headers=session)
    assert again.status_code == 201 and rate(again)[1] == 4 and rate(again)[2] >= rate(spent)[2] + 60


def test_keys_groups_and_sessions_have_their_own_windows(limited, session):
    for _ in range(6):
        limited.post("/braze/users/track", json=TRACK, headers=session)
    other_key = {**session, "Authorization": "Bearer key-2"}
    assert limited.post("/braze/users/track", json=TRACK, headers=other_key).status_code == 201
    other_session = {**session, "X-Mock-Session": session["X-Mock-Session"] + "-other"}
    assert limited.post("/braze/users/track", json=TRACK, headers=other_session).status_code == 201
    sent = limited.post("/braze/sends/id/create", json={"campaign_id": "c"}, headers=session)
    assert sent.status_code == 201 and rate(sent)[0] == 100


def test_broadcasts_have_their_own_limit(limited, session):
    broadcast = {"campaign_id": "c", "broadcast": True}
    answers = [limited.post("/braze/campaigns/trigger/send", json=broadcast, headers=session) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    targeted = {"campaign_id": "c", "recipients": [{"external_user_id": "a"}]}
    still = limited.post("/braze/campaigns/trigger/send", json=targeted, headers=session)
    assert still.status_code == 201 and rate(still)[0] == 250_000


def test_a_rate_limited_error_asked_by_flag_says_none_remain(client, session):
    response = client.post("/braze/users/track", json=TRACK, headers={**session, "Prefer": "error=rate-limited"})
    assert response.status_code == 429 and rate(response)[:2] == (3000, 0)


@pytest.mark.parametrize(("flag", "status"), [("__error=internal-server-error", 500), ("__code=503", 503),
                                              ("__error=max-input-length-exceeded", 400)])
def test_an_error_asked_by_flag_wins_over_a_spent_window(limited, session, flag, status):
    """The flag answers the error it names on any route; a spent window only shows in the headers."""
    for _ in range(6):
        limited.post("/braze/users/track", json=TRACK, headers=session)
    asked = limited.post(f"/braze/users/track?{flag}", json=TRACK, headers=session)
    assert asked.status_code == status
    assert asked.headers["preference-applied"] == flag.removeprefix("__").replace("__", "")
    assert rate(asked)[:2] == (5, 0)
    assert limited.post("/braze/users/track", json=TRACK, headers=session).status_code == 429


def test_a_body_over_4_mb_is_413_with_the_window_it_does_not_count(client, session):
    """user_data.md: "All API endpoints have a data payload limit of 4MB ... HTTP 413"."""
    big = b'{"attributes": [{"external_id": "a", "x": "' + b"y" * (4 * 1024 * 1024) + b'"}]}'
    refused = client.post("/braze/users/track", content=big, headers={**session, "Content-Type": "application/json"})
    assert refused.status_code == 413 and refused.headers["content-type"] == "application/json"
    assert refused.json() == {"message": "Request Entity Too Large",
                              "errors": ["All API endpoints have a data payload limit of 4MB."]}
    # api_limits.md: "Every single API request sent to Braze returns" the three headers: the 413 too,
    # telling the window as it stands, which it does not spend
    assert rate(refused)[:2] == (3000, 3000)
    # a body under the limit is read, and the refused one counted in no window: this is the first
    tracked = client.post("/braze/users/track", json=TRACK, headers=session)
    assert tracked.status_code == 201 and rate(tracked)[1] == 2999


@pytest.mark.parametrize(("size", "status"), [(4 * 1024 * 1024, 201), (4 * 1024 * 1024 + 1, 413)])
def test_4_mb_is_4_mib_of_body(client, session, size, status):
    """braze.yaml, payload_limit_bytes: 4MB read as 4,194,304 bytes; the body exactly that long passes."""
    head, tail = b'{"attributes": [{"external_id": "a", "x": "', b'"}]}'
    body = head + b"y" * (size - len(head) - len(tail)) + tail
    answer = client.post("/braze/users/track", content=body, headers={**session, "Content-Type": "application/json"})
    assert len(body) == size and answer.status_code == status


@pytest.mark.parametrize("authorization", [None, 'Bearer "key-1"', "Bearer 'key-1'", "Basic a2V5LTE=", "Bearer"])
def test_a_request_without_a_key_is_401_however_many_come_and_spends_no_window(limited, session, authorization):
    """errors.md's 401: no key, or one in quotes. Braze limits per API key: a request it cannot attribute to a key
    is refused as unauthorized first, and takes nothing from any window (it was 429 once a shared window of
    keyless requests was spent, and braze-client retried that 429 forever instead of raising Unauthorized)."""
    headers = {"X-Mock-Session": session["X-Mock-Session"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    answers = [limited.post("/braze/users/track", json=TRACK, headers=headers) for _ in range(7)]
    assert [a.status_code for a in answers] == [401] * 7
    fatal(answers[-1], 401, "Unauthorized")
    assert {rate(a)[:2] for a in answers} == {(5, 5)}  # the headers still tell the group's window, untouched
    keyed = limited.post("/braze/users/track", json=TRACK, headers=session)
    assert keyed.status_code == 201 and rate(keyed)[1] == 4


def test_an_unlisted_key_or_one_of_another_instance_is_401_however_many_come(make_client, tmp_path, session):
    """With `api_keys` listing keys, an unlisted one is 401 (not a window of its own to spend into 429); so is a
    listed key sent to another instance's host (errors.md's 401 row)."""
    (tmp_path / "keys.yaml").write_text(
        "api: braze\noptions:\n  api_keys: {key-1: ['*']}\n  key_instances: {key-1: fra-01}\n"
        "  rate_limit.users-track: {limit: 2, window_s: 60}\n")
    mock = make_client(scenarios=(str(tmp_path),))
    mock.post("/__admin/clock", json={"freeze": True})
    try:
        unlisted = {**session, "Authorization": "Bearer not-listed"}
        elsewhere = {**session, "Host": "rest.iad-01.braze.com"}
        codes = [mock.post("/braze/users/track", json=TRACK, headers=unlisted).status_code for _ in range(4)]
        codes += [mock.post("/users/track", json=TRACK, headers=elsewhere).status_code for _ in range(4)]
        assert codes == [401] * 8
        answers = [mock.post("/braze/users/track", json=TRACK, headers=session) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
    finally:
        mock.post("/__admin/clock", json={"freeze": False})
