"""Preference-Applied and Prefer: what the mock writes reads back as applied, and values read as sent."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from mockserver.engine.flags import parse_flags, parse_prefer, preference_applied

name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


@given(name, st.text(st.characters(blacklist_categories=("Cs",)), max_size=20))
@example("replay", 'seed=7;session="ch";n=1')
@example("mode", "a\\b")
@example("error", 'a,"b"')
def test_preference_applied_reads_back_as_the_value_given(flag, value):
    """RFC 7240: what Preference-Applied writes is a preference a client's parser reads back as the value applied,
    whatever it holds: a `"` or `\\` in a quoted value escaped, a comma or `;` quoted."""
    assert parse_prefer([preference_applied(f"{flag}={value}")]) == [(flag, value)]


def test_one_error_flag_of_several_ids_is_applied_as_those_ids_comma_separated(client):
    """`__error=a,%20b` applies both ids: Preference-Applied names them as a list, quoted (a comma splits it)."""
    assert parse_flags([("error", "a, b,")], [], None).given == ["error=a,b"]
    answer = client.get("/dcs/event?d_mid=1&__error=300,%20301")
    assert answer.headers["preference-applied"] == 'error="300,301"', answer.headers


def test_a_lone_quote_is_a_value_read_as_sent():
    """An unclosed quoted-string is read as sent (as `mode="outage`): a lone `"` is not an empty quoted value."""
    assert parse_prefer(['error="']) == [("error", '"')]
    assert parse_prefer(['mode=", seed=1']) == [("mode", '"'), ("seed", "1")]
