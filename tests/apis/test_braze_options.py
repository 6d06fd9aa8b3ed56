"""Braze options that passed `validate` and then did nothing, or something else: each is a load problem now."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mockserver.app import build_app
from mockserver.cli import main
from mockserver.scenario.read import ScenarioError
from mockserver.settings import Settings
from tests.apis.test_braze_support import AUTH, users

TRACK = {"attributes": users(1)}


@pytest.mark.parametrize(("option", "field", "says"), [
    # the window was clamped to 1 ms: the limit was never reached
    ("rate_limit.users-track: {limit: 5, window_s: 0}", "rate_limit.users-track.window_s", "more than 0"),
    ("rate_limit.users-track: {limit: 5, window_s: .inf}", "rate_limit.users-track.window_s", "finite"),
    # told once: the loader's own sign check said it first
    ("rate_limit.users-track: {limit: 5, window_s: -3}", "rate_limit.users-track.window_s", "-3 is no window"),
    # read as int(1.5): a limit of 1
    ("rate_limit.users-track: {limit: 1.5, window_s: 60}", "rate_limit.users-track.limit", "whole number"),
    # silently 3,600 s: the bundled window is 3 s, and the file must say which it means
    ("rate_limit.users-track: {limit: 5}", "rate_limit.users-track",
     "needs window_s: a file's value replaces the one before it whole, and a limit is `limit` requests per "
     "`window_s` seconds; the bundled one is {limit: 3000, window_s: 3}"),
    ("rate_limit.users-track: {limit: 5, window: 60}", "rate_limit.users-track.window",
     "unknown key (did you mean 'window_s'? a limit takes: limit, window_s)"),
    ("rate_limit.my-group: {window_s: 60}", "rate_limit.my-group", "needs limit"),
    # silently the default limit
    ("rate_limit_groups: {/users/track: no-such-group}", "rate_limit_groups./users/track",
     "unknown group 'no-such-group' (the groups are those of the rate_limit.GROUP options: campaigns-data-series, "
     "default, messaging, messaging-broadcast, sends-id-create, subscription-status-set, users-export-ids, "
     "users-identity, users-track)"),
    ("rate_limit_groups: {/messages/send: {group: messaging, broadcast: broadcasts}}",
     "rate_limit_groups./messages/send.broadcast", "unknown group 'broadcasts' (did you mean 'messaging-broadcast'?"),
    # silently UTC
    ("company_time_zone: Mars/Olympus", "company_time_zone",
     "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris, America/New_York or UTC)"),
    ("company_time_zone: europe/paris", "company_time_zone", "did you mean Europe/Paris"),
    ("company_time_zone: America", "company_time_zone", "unknown time zone 'America'"),  # a folder: IsADirectoryError
    # of several forms (own_shapes): Braze's check tells their shape, not the loader's kind
    ("api_keys: 5", "api_keys", "5 where api_keys takes {KEY: [permission, ...] or '*'}, or a list of keys"),
    ("api_keys: {k: 5}", "api_keys.k", "5 where a key takes a list of permissions, or '*' for all"),
    ("rate_limit_groups: [/users/track]", "rate_limit_groups", "where rate_limit_groups takes {PATH: group}"),
])
def test_an_option_braze_would_read_as_something_else_fails_validate(tmp_path, option, field, says):
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"api: braze\noptions:\n  {option}\n")
    result = CliRunner().invoke(main, ["validate", str(mine)])
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith(f"{mine}:3: options.{field}: ")]
    assert says in line, line


def test_serve_refuses_the_file_too(tmp_path):
    (tmp_path / "mine.yaml").write_text("api: braze\noptions:\n  company_time_zone: Mars/Olympus\n"
                                        "  rate_limit.users-track: {limit: 5, window_s: 0}\n")
    with pytest.raises(ScenarioError) as caught:
        build_app(Settings(scenarios=(str(tmp_path),)))
    assert sorted(p.field for p in caught.value.problems) == [
        "options.company_time_zone", "options.rate_limit.users-track.window_s"]


def test_a_group_of_ones_own_counts_where_the_file_sends_a_path(tmp_path, make_client):
    """A new `rate_limit.GROUP` is a group `rate_limit_groups` may name."""
    (tmp_path / "mine.yaml").write_text("api: braze\noptions:\n  rate_limit.mine: {limit: 1, window_s: 60}\n"
                                        "  rate_limit_groups: {/users/track: mine}\n  company_time_zone: Asia/Tokyo\n")
    mock = make_client(scenarios=(str(tmp_path),))
    mock.post("/__admin/clock", json={"freeze": True})
    try:
        headers = {**AUTH, "X-Mock-Session": "own-group"}
        answers = [mock.post("/braze/users/track", json=TRACK, headers=headers) for _ in range(2)]
        assert [a.status_code for a in answers] == [201, 429]
        assert answers[0].headers["x-ratelimit-limit"] == "1"
    finally:
        mock.post("/__admin/clock", json={"freeze": False})


def test_the_forms_braze_yaml_documents_load_and_act(tmp_path, make_client):
    """braze.yaml: `api_keys` is {KEY: [permissions]} "or a plain list of keys", and a path's group a name or
    {group, broadcast}. The list of keys, and a name over /messages/send's bundled mapping, were refused as "a list
    (text) where the option takes a mapping" (a reviewer's finding): the loader leaves their shape to Braze's check."""
    (tmp_path / "mine.yaml").write_text("api: braze\noptions:\n  api_keys: [listed-key]\n"
                                        "  rate_limit_groups: {/messages/send: messaging}\n")
    mock = make_client(scenarios=(str(tmp_path),))
    listed = mock.post("/braze/users/track", json=TRACK, headers={"Authorization": "Bearer listed-key"})
    other = mock.post("/braze/users/track", json=TRACK, headers={"Authorization": "Bearer other-key"})
    assert (listed.status_code, other.status_code) == (201, 401)
