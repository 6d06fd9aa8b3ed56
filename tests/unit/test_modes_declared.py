"""GET /__admin/modes shows each mode as declared: what it answers, for how many requests, how long, how slowly and
how it fails, its durations in seconds (test_modes shows a quota per route)."""

from __future__ import annotations

from tests.unit.test_load import GOOD

MODES = GOOD.replace("  boom: {status: 500, title: Boom}", "  boom: {status: 500, title: Boom}\n"
                     "  busy: {status: 503, title: Busy}") + """\
modes:
  flaky: {description: two fail, error: boom, first: 2, retry_after: 1m, duration: 250ms, routes: [hello]}
  slow: {description: slow, delay: 800, fault: truncate}
  both: {description: both at once, error: [boom, busy], delay: "uniform:10-20", duration: 2h}
  limited: {description: three a minute, error: busy, quota: {limit: 3, window: 1m}}
"""


def test_the_declared_modes_show_every_value_they_declare(tmp_path, make_client):
    (tmp_path / "toy.yaml").write_text(MODES)
    declared = make_client(scenarios=(str(tmp_path),)).get("/__admin/modes").json()["declared"]["toy"]
    assert declared == {
        "flaky": {"description": "two fail", "error": "boom", "first": 2, "retry_after_s": 60.0, "duration_s": 0.25,
                  "routes": ["hello"]},
        "slow": {"description": "slow", "delay": "800", "fault": "truncate"},
        "both": {"description": "both at once", "error": ["boom", "busy"], "delay": "uniform:10-20",
                 "duration_s": 7200.0},
        "limited": {"description": "three a minute", "error": "busy",
                    "quota": {"limit": 3, "window_s": 60.0, "per": "api"}},  # one counter for the API: the default
    }
