"""The clock's admin edges: a NaN is no duration (JSON as Python reads it takes `NaN`), an unfrozen clock runs
again, and `now_ms` is `now` in milliseconds."""

from __future__ import annotations

import math
import time

import pytest

from mockserver.engine.clock import Clock, parse_duration


@pytest.mark.parametrize("bad", [math.nan, "nan", math.inf])
def test_nan_and_infinity_are_not_durations(bad):
    with pytest.raises(ValueError, match="not a"):
        parse_duration(bad)


def test_advancing_the_clock_by_nan_is_misuse_and_the_clock_still_reads_a_time(client):
    before = client.post("/__admin/clock", json={"freeze": True}).json()["now"]
    try:
        refused = client.post("/__admin/clock", content=b'{"advance": NaN}',
                              headers={"Content-Type": "application/json"})
        assert refused.status_code == 400
        assert client.get("/__admin/clock").json()["now"] == before
    finally:
        client.post("/__admin/clock", json={"reset": True})


def test_an_unfrozen_clock_runs_again_from_where_it_stood():
    clock = Clock()
    clock.freeze(at=1767225600.0)
    clock.unfreeze()
    first = clock.now()
    time.sleep(0.02)
    assert 1767225600.0 <= first < clock.now() < 1767225600.0 + 5
    assert clock.describe()["frozen"] is False and abs(clock.now_ms() - clock.now() * 1000) < 50
