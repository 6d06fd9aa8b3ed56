"""Braze's rate limit where a scenario file gives none: `rate_limit.GROUP: null` "says nothing" (braze_options.py),
so the group counts against `rate_limit.default`; and `rate_limit.default: null` leaves the documented default,
"most APIs": 250,000 requests per hour (braze.yaml, api_limits.md), windows on the hour's grid."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from tests.apis.test_braze_support import AUTH, app_client, users

NULL_DEFAULT = """\
api: braze
options:
  rate_limit.default: null
  rate_limit.users-track: null
"""
OWN_DEFAULT = """\
api: braze
options:
  rate_limit.default: {limit: 3, window_s: 60}
  rate_limit.users-track: null
"""
INSTANT = 1767225600 + 1234  # 2026-01-01T00:20:34Z: 20 minutes into an hour, 34 s into a minute
HOUR_END, MINUTE_END = 1767225600 + 3600, 1767225600 + 1260
TRACK = {"attributes": users(1)}
SESSIONS = count()


def _client(tmp_path_factory: pytest.TempPathFactory, text: str) -> Iterator:
    folder = tmp_path_factory.mktemp("fallback")
    (folder / "braze.yaml").write_text(text)
    for client in app_client(scenarios=(str(folder),)):
        client.post("/__admin/clock", json={"freeze": INSTANT})
        yield client


@pytest.fixture(scope="module")
def null_default(tmp_path_factory) -> Iterator:
    yield from _client(tmp_path_factory, NULL_DEFAULT)


@pytest.fixture(scope="module")
def own_default(tmp_path_factory) -> Iterator:
    yield from _client(tmp_path_factory, OWN_DEFAULT)


@pytest.fixture
def session() -> dict[str, str]:
    return {**AUTH, "X-Mock-Session": f"fallback-{next(SESSIONS)}"}


def rate(response) -> tuple[int, ...]:
    return tuple(int(response.headers[f"x-ratelimit-{n}"]) for n in ("limit", "remaining", "reset"))


@pytest.mark.parametrize("text", [NULL_DEFAULT, OWN_DEFAULT])
def test_a_null_limit_is_a_valid_option(tmp_path, text):
    (tmp_path / "braze.yaml").write_text(text)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/campaigns/list", None),        # a group of no option of its own: the default's
    ("POST", "/users/track", TRACK),         # its own option null: the default's
])
def test_a_null_default_is_250000_an_hour_on_the_hours_grid(null_default, session, method, path, body):
    answers = [null_default.request(method, f"/braze{path}", json=body, headers=session) for _ in range(2)]
    assert [a.status_code for a in answers] == [200 if method == "GET" else 201] * 2
    assert [rate(a) for a in answers] == [(250_000, 249_999, HOUR_END), (250_000, 249_998, HOUR_END)]


def test_a_group_with_its_own_limit_keeps_it_when_the_default_is_null(null_default, session):
    sent = null_default.post("/braze/users/export/ids", json={"external_ids": ["a"]}, headers=session)
    assert rate(sent) == (250, 249, MINUTE_END)  # users-export-ids: 250 a minute, as bundled


def test_a_null_group_counts_against_the_files_default(own_default, session):
    answers = [own_default.post("/braze/users/track", json=TRACK, headers=session) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert [rate(a) for a in answers] == [(3, 2, MINUTE_END), (3, 1, MINUTE_END), (3, 0, MINUTE_END),
                                          (3, 0, MINUTE_END)]
