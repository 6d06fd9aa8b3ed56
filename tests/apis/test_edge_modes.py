"""Edge's bundled modes (scenarios/edge.yaml, modes) as their descriptions state them: flaky's first 2 per route,
outage's Retry-After of 30 when it has no end, rate-limited's 10 a minute with Retry-After on the refused only."""

from __future__ import annotations

EVENT = {"event": {"xdm": {"eventType": "web.webpagedetails.pageViews"}}}


def post(client, route: str = "interact", **params: str):
    return client.post(f"/edge/ee/v2/{route}", params={"datastreamId": "ds-1", **params}, json=EVENT)


def test_flaky_fails_the_first_two_requests_of_each_route_with_retry_after(client):
    answers = [post(client, __mode="flaky") for _ in range(3)] + [post(client, "collect", __mode="flaky")]
    assert [a.status_code for a in answers] == [503, 503, 200, 503]
    assert [a.headers.get("retry-after") for a in answers] == ["1", "1", None, "1"]


def test_outage_with_no_end_tells_a_retry_after_of_30(client):
    answer = post(client, __mode="outage")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
    assert answer.json()["type"].endswith("EXEG-0000-503")


def test_rate_limited_passes_ten_a_minute_and_only_the_refused_carry_retry_after(client):
    client.post("/__admin/clock", json={"freeze": True})
    answers = [post(client, __mode="rate-limited") for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert [a.headers.get("retry-after") for a in answers] == [None] * 10 + ["60"]
    client.post("/__admin/clock", json={"advance": "60s"})
    assert post(client, __mode="rate-limited").status_code == 200
