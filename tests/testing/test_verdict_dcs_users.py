"""Who a DCS call is about (dcs-race-conditions: "do not send simultaneous or rapid calls for the same user"): each
id the DCS takes for a user, blank ids and other cookies naming nobody."""

from __future__ import annotations

import pytest

from mockserver.verdict import judge_entries
from tests.testing.test_verdict_unit import entry


@pytest.mark.parametrize("name", ["d_mid", "d_uuid", "d_cid", "d_cid_ic", "d_dpuuid"])
def test_two_calls_in_flight_naming_the_same_user_by_any_id_are_simultaneous(name):
    one = entry(200, 0, api="dcs", query=f"{name}=42&d_orgid=o", latency_ms=500)
    two = entry(200, 0.1, api="dcs", query=f"d_orgid=o&{name}=42")
    found = judge_entries([one, two])["findings"]
    assert [(f["rule"], f["entries"]) for f in found] == [("no-simultaneous-calls", [one["seq"], two["seq"]])]
    assert found[0]["detail"] == f"2 calls for {name}=42 in flight at once: #{one['seq']}, #{two['seq']}"


def test_a_blank_id_a_blank_demdex_cookie_and_other_cookies_name_no_user():
    """Calls for users 1 and 2 in flight together, both with `d_mid=` blank and the same unrelated cookie: no user
    in common."""
    cookie = {"Cookie": "consent=yes; demdex="}
    one = entry(200, 0, api="dcs", query="d_mid=&d_uuid=1", headers=cookie, latency_ms=500)
    two = entry(200, 0.1, api="dcs", query="d_mid=&d_uuid=2", headers=cookie)
    verdict = judge_entries([one, two])
    assert verdict["clean"], verdict["findings"]
