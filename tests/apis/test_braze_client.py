"""A real Braze client from PyPI against a real server process, used as its users use it.

The client is braze-client-p311: braze-client (dtatarkin/braze-client) rebuilt on tenacity 8, since
braze-client's own pin (tenacity < 6) no longer imports on Python 3.11. Its contract, read from its
source: any answer whose JSON `message` is not "success" raises `BrazeClientError(message, errors)`;
429 raises `BrazeRateLimitError(X-RateLimit-Reset)`, at once when the reset is 1.25 s away or more;
5XX is retried 3 times, then raises `BrazeInternalServerError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import httpx
import pytest
from braze.client import BrazeClient, BrazeClientError, BrazeInternalServerError, BrazeRateLimitError
from tenacity import wait_none

from tests.apis.test_braze_support import users
from tests.conftest import ServerProcess, serving_files

# A schedule time a month ahead of the clock: Braze takes one "up to 90 days in the future".
SOON = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT10:00:00")

pytestmark = pytest.mark.slow
WORKSPACE = """\
api: braze
options:
  api_keys: {track-key: [users.track], admin-key: ["*"]}
  rate_limit.users-track: {limit: 2, window_s: 60}
"""
SESSIONS = count()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    yield from serving_files(tmp_path_factory.mktemp("braze-client"), {"workspace.yaml": WORKSPACE})


@pytest.fixture
def session() -> str:
    return f"client-{next(SESSIONS)}"


def braze(server: ServerProcess, session: str, key: str = "track-key") -> BrazeClient:
    """The client as a user points it at the mock: base URL /braze, one mock session per test."""
    client = BrazeClient(api_key=key, api_url=f"{server.url}/braze")
    client.session.headers["X-Mock-Session"] = session
    return client


def journal(server: ServerProcess, session: str) -> list[dict]:
    return httpx.get(f"{server.url}/__admin/requests", params={"session": session}).json()["requests"]


def test_success_is_returned(server, session):
    answer = braze(server, session).user_track(attributes=[{"external_id": "a", "first_name": "Ada"}])
    assert answer["success"] is True and answer["status_code"] == 201
    assert answer["message"] == "success" and answer["attributes_processed"] == 1


def test_a_minor_error_is_returned_not_raised(server, session):
    answer = braze(server, session).user_track(attributes=[{"external_id": "a"}, {"external_id": "blacklisted"}])
    assert answer["status_code"] == 201 and answer["success"] is False and answer["attributes_processed"] == 1
    assert answer["errors"] == [{"type": "provided external_id is blacklisted and disallowed",
                                 "input_array": "attributes", "index": 1}]


def test_400_raises_the_fatal_message_and_its_errors(server, session):
    with pytest.raises(BrazeClientError) as raised:
        braze(server, session).user_track(attributes=users(76))
    message, errors = raised.value.args
    assert message == "Max Input Length Exceeded" and errors


@pytest.mark.parametrize("key", ['"track-key"', "'track-key'", "unknown-key"])
def test_401_raises_unauthorized(server, session, key):
    with pytest.raises(BrazeClientError) as raised:
        braze(server, session, key).user_track(attributes=users(1))
    assert raised.value.args == ("Unauthorized", ["Invalid API key."])


def test_a_key_without_the_permission_raises_access_denied(server, session):
    with pytest.raises(BrazeClientError) as raised:
        braze(server, session).campaign_trigger_send("welcome", recipients=[{"external_user_id": "a"}])
    assert raised.value.args[0] == "Access Denied"
    assert braze(server, session, "admin-key").campaign_trigger_send("welcome", recipients=[
        {"external_user_id": "a"}])["success"] is True


def test_429_raises_rate_limit_error_with_the_reset_header(server, session):
    client = braze(server, session)
    if time.time() % 60 > 55:  # the windows are the clock's minutes: three requests across :00 meet two windows
        time.sleep(60 - time.time() % 60 + 0.1)
    for _ in range(2):
        assert client.user_track(attributes=users(1))["success"] is True
    with pytest.raises(BrazeRateLimitError) as raised:
        client.user_track(attributes=users(1))
    statuses = sorted(entry["status"] for entry in journal(server, session))
    assert statuses == [201, 201, 429]  # the reset is a minute away: the client gives up at once
    assert raised.value.reset_epoch_s == float(int(raised.value.reset_epoch_s))  # epoch seconds, an integer
    assert time.time() < raised.value.reset_epoch_s <= time.time() + 61  # the end of this 60 s window


def test_5xx_is_retried_then_raised(server, session, monkeypatch):
    monkeypatch.setattr(BrazeClient._post_request_with_retries.retry, "wait", wait_none())  # no real back-off
    client = braze(server, session, "admin-key")  # /users/export/ids: /users/track allows 2 a minute here
    client.session.headers["Prefer"] = "error=service-unavailable"
    with pytest.raises(BrazeInternalServerError):
        client.user_export(external_ids=["a"])
    assert [entry["status"] for entry in journal(server, session)] == [503, 503, 503]


def test_a_triggered_campaign_is_scheduled_or_refused_by_the_schedule_rows(server, session):
    """braze-client schedules through /campaigns/trigger/schedule/create, where errors.md's send_at row applies."""
    client = braze(server, session, "admin-key")
    answer = client.campaign_trigger_schedule_create("welcome", {"time": SOON + "Z"}, broadcast=True)
    assert answer["success"] is True and answer["schedule_id"] and answer["dispatch_id"]
    with pytest.raises(BrazeClientError) as raised:
        client.campaign_trigger_schedule_create("welcome", {"time": "next week"}, broadcast=True)
    assert raised.value.args == ("Bad Request", ["Cannot parse `send_at` datetime."])
