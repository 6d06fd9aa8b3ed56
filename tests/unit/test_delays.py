"""Delay and duration parsing: property tests, and misuse for whatever is not one."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.dispatch import delay_of
from mockserver.engine.clock import parse_duration
from mockserver.engine.faults import SLOW_CHUNKS, serve_fault
from mockserver.engine.flags import Misuse, parse_flags
from mockserver.engine.generate import Generator

ms = st.integers(0, 9_999_999)


@given(ms, st.integers(), st.integers(1, 10**6))
def test_a_fixed_delay_is_itself(value, seed, number):
    flags = parse_flags([("delay", str(value))], [], None)
    assert delay_of(flags.delay, Generator(seed, "s", number, "delay")) == value


@given(ms, ms, st.integers(), st.integers(1, 10**6))
def test_a_uniform_delay_stays_in_its_range_and_replays(low, high, seed, number):
    spec = f"uniform:{low}-{high}"
    parse_flags([("delay", spec)], [], None)
    drawn = delay_of(spec, Generator(seed, "s", number, "delay"))
    assert min(low, high) <= drawn <= max(low, high)
    assert drawn == delay_of(spec, Generator(seed, "s", number, "delay"))


@given(st.integers(1, 100_000), st.floats(0, 3).map(lambda f: round(f, 3)), st.integers())
def test_a_lognormal_delay_is_positive_and_replays(median, sigma, seed):
    spec = f"lognormal:{median},{sigma}"
    parse_flags([("delay", spec)], [], None)
    drawn = delay_of(spec, Generator(seed, "s", 1, "delay"))
    assert drawn > 0 and math.isfinite(drawn)
    assert drawn == delay_of(spec, Generator(seed, "s", 1, "delay"))


def test_a_lognormal_delay_has_its_median():
    draws = sorted(delay_of("lognormal:80,0.4", Generator(1, "s", n, "delay")) for n in range(2001))
    assert 72 <= draws[1000] <= 88


@given(st.text(max_size=30))
def test_any_delay_text_is_accepted_or_misuse(text):
    try:
        flags = parse_flags([("delay", text)], [], None)
    except Misuse as misuse:
        assert "uniform:LOW-HIGH" in misuse.valid
    else:
        assert delay_of(flags.delay, Generator(0, "s", 1, "delay")) >= 0  # type: ignore[arg-type]


@given(st.floats(0, 10**6, allow_nan=False), st.sampled_from(["ms", "s", "m", "h", "d", ""]))
def test_durations_with_units(value, unit):
    text = f"{value:.3f}{unit}"
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}[unit]
    assert parse_duration(text) == pytest.approx(float(f"{value:.3f}") * factor)


@pytest.mark.parametrize("bad", ["soon", "1 week", "", "5x", True])
def test_not_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("size", [1, 19, 42, 310, 4000])
def test_slow_spreads_the_body_over_every_pause(size):
    """`slow` dribbles the body over the whole delay: no chunk is empty, so the last byte comes with the last pause
    (a 42-byte DCS gif was whole after 14 of its 20 pauses: 0.7 s of the 1 s asked)."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:  # a client that stays: nothing more comes
        await asyncio.Event().wait()
        return {}

    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    asyncio.run(serve_fault("slow", None, send, 200, [], body, 1.0, b"", receive))
    pieces = [m["body"] for m in sent[1:]]
    assert b"".join(pieces) == body and len(pieces) == min(size, SLOW_CHUNKS)
    assert all(pieces), [len(p) for p in pieces]
    assert not sent[-1]["more_body"]
