from __future__ import annotations

import sys
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mockserver.engine.flags import (
    FLAG_NAMES,
    Misuse,
    decimal,
    parse_flags,
    parse_prefer,
    preference_applied,
    split_query,
)

raw_piece = st.binary(min_size=0, max_size=20).filter(lambda b: b"&" not in b and not b.startswith(b"__"))


@given(st.lists(raw_piece, max_size=8), st.lists(st.tuples(st.sampled_from(FLAG_NAMES), st.text("abc123", max_size=5)),
                                                 max_size=4), st.randoms())
def test_flags_come_off_and_every_other_byte_stays(pieces, flags, rnd):
    flag_pieces = [f"__{n}={v}".encode() for n, v in flags]
    mixed = pieces + flag_pieces
    rnd.shuffle(mixed)
    rest, found = split_query(b"&".join(mixed))
    expected_rest = [p for p in mixed if not p.startswith(b"__")]
    assert rest == b"&".join(expected_rest)
    assert sorted(found) == sorted(flags)


def test_bad_percent_encoding_is_not_touched():
    rest, found = split_query(b"d_sid=%esid!&__error=x&c_a=%ZZ")
    assert rest == b"d_sid=%esid!&c_a=%ZZ"
    assert found == [("error", "x")]


token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)


@given(st.lists(st.tuples(st.sampled_from(["error", "code", "delay", "return", "seed"]), token), min_size=1,
                max_size=5))
def test_prefer_round_trip(preferences):
    header = ", ".join(f"{n}={v}" for n, v in preferences)
    assert parse_prefer([header]) == preferences


def test_prefer_quoted_values_parameters_and_several_headers():
    assert parse_prefer(['error="not-found", return=minimal; foo=bar', "delay=200"]) == [
        ("error", "not-found"), ("return", "minimal"), ("delay", "200")]


@given(st.lists(st.tuples(st.sampled_from(["error", "code", "delay", "return", "seed"]), token), min_size=1,
                max_size=5), st.lists(st.sampled_from(["", " ", "  "]), min_size=6, max_size=6))
def test_prefer_skips_the_empty_elements_of_its_list(preferences, blanks):
    """RFC 9110 §5.6.1: a recipient accepts and ignores empty list elements: `, error=x` and `a,,b` (a header
    built with ", ".join() over a list holding an empty string) dropped every preference after the empty one."""
    elements = [f"{n}={v}" for n, v in preferences]
    header = ",".join(blanks[:1] + [part for element in elements for part in (element, blanks[1])] + blanks[2:])
    assert parse_prefer([header]) == preferences


@given(st.text(max_size=60))
def test_prefer_never_raises(header):
    parse_prefer([header])


def test_unknown_query_flag_is_misuse_but_unknown_preference_is_ignored():
    with pytest.raises(Misuse) as caught:
        parse_flags([("erorr", "x")], [], None)
    assert "__error" in caught.value.valid
    assert parse_flags([], [("respond-async", "")], None).given == []


@pytest.mark.parametrize("name,value", [("code", "abc"), ("code", "700"), ("seed", "x"), ("seed", "1_000"),
                                        ("seed", " 7"), ("seed", "+5"), ("seed", "\u0663"), ("seed", "-"),
                                        ("seed", "--5"), ("delay", "soon"),
                                        ("fault", "boom"), ("chaos", "2"), ("session", "a b"),
                                        ("chaos_faults", "2"), ("chaos_faults", "maybe")])
def test_bad_flag_values_are_misuse(name, value):
    """A seed is written as `--seed` takes it (GUIDE §2 `__seed=N`): int() took `1_000`, ` 7`, `+5` and Arabic-Indic
    digits, and Preference-Applied then named `seed=?`, a value not applied."""
    with pytest.raises(Misuse):
        parse_flags([(name, value)], [], None)


@pytest.mark.parametrize("query", ["__code=%C2%B2", "__code=" + "4" * 5000, "__code=%EF%BC%94%EF%BC%92%EF%BC%99"])
def test_a_code_int_refuses_to_read_is_misuse_not_a_traceback(client, query):
    """`²` passes str.isdigit() and 5,000 digits pass it too; int() refuses both (a 500 of ours). Fullwidth
    `４２９` passes int() too, and was a 429: no client writes a number so."""
    response = client.get(f"/reactor/companies?{query}", headers={"Authorization": "Bearer t"})
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    prefer = {"Prefer": "code=\u00b2".encode("latin-1"), "Authorization": "Bearer t"}
    asked = client.get("/reactor/companies", headers=prefer)
    assert asked.status_code == 400 and asked.headers["x-mockserver-misuse"] == "1", asked.text


def test_both_forms_combine_and_errors_repeat():
    flags = parse_flags([("error", "a")], [("error", "b"), ("seed", "7")], "s1")
    assert flags.errors == ["a", "b"] and flags.seed == 7 and flags.session == "s1"
    assert flags.given == ["error=a", "error=b", "seed=7"]


def test_an_error_asked_twice_is_one_error(client):
    """README: a flag given twice counts once; `error` adds up distinct ids only."""
    flags = parse_flags([("error", "a"), ("error", "a,b")], [("error", "b"), ("error", "c")], None)
    assert flags.errors == ["a", "b", "c"] and flags.given == ["error=a", "error=b", "error=c"]
    twice = client.get("/reactor/companies?__error=internal-error&__error=internal-error",
                       headers={"Authorization": "Bearer t"})
    assert len(twice.json()["errors"]) == 1


@pytest.mark.parametrize("value,on", [("1", True), ("", True), ("TRUE", True), ("yes", True), ("0", False),
                                      ("false", False), ("no", False)])
def test_chaos_faults_takes_a_boolean(value, on):
    assert parse_flags([("chaos_faults", value)], [], None).chaos_faults is on


def test_a_repeated_flag_counts_once():
    flags = parse_flags([("seed", "1"), ("seed", "2")], [("code", "429"), ("code", "500")], None)
    assert (flags.seed, flags.code, flags.given) == (1, 429, ["seed=1", "code=429"])
    flags = parse_flags([("code", "429"), ("delay", "5")], [("code", "500")], None)
    assert (flags.code, flags.given) == (500, ["delay=5", "code=500"])


@pytest.mark.parametrize("prefer", ["a" + " " * 20_000 + "x", "respond-async" + "\t" * 20_000 + "!"])
def test_a_prefer_header_of_spaces_is_read_in_linear_time(client, prefer):
    """Backtracking through its whitespace took 4 s of the event loop for 20 KB (every request waited)."""
    started = time.process_time()
    answered = client.get("/dcs/event?d_mid=1", headers={"Prefer": prefer})
    assert answered.status_code in (200, 400) and time.process_time() - started < 1.0


DOCUMENTED = [  # GUIDE §2, per-request flags: (name, a valid value, the field it sets, the value read)
    ("error", "not-found", "errors", ["not-found"]), ("code", "429", "code", 429), ("delay", "200", "delay", "200"),
    *[("fault", kind, "fault", kind) for kind in ("reset", "empty", "malformed", "truncate", "slow")],
    ("chaos", "0.5", "chaos", 0.5), ("chaos_faults", "1", "chaos_faults", True), ("mode", "outage", "mode", "outage"),
    ("seed", "7", "seed", 7), ("session", "s1", "session", "s1"), ("replay", "r1", "replay", "r1"),
]
UNSET = {"errors": [], "code": None, "delay": None, "fault": None, "chaos": None, "chaos_faults": False,
         "mode": None, "seed": None, "session": None, "replay": None}


@pytest.mark.parametrize("form", ["query", "prefer"])
@pytest.mark.parametrize(("name", "value", "field", "read"), DOCUMENTED)
def test_every_documented_flag_is_taken_in_both_forms_and_sets_only_its_own_field(form, name, value, field, read):
    flags = parse_flags([(name, value)], [], None) if form == "query" else parse_flags([], [(name, value)], None)
    assert {f: getattr(flags, f) for f in UNSET} == {**UNSET, field: read}
    assert flags.given == [f"{name}={value}"]
    assert flags.asks_error is (name in ("error", "code"))  # asked errors win over the API's own refusals


def test_the_session_header_alone_is_read():
    flags = parse_flags([], [], "s1")
    assert flags.session == "s1" and flags.given == [] and not flags.asks_error


@pytest.mark.parametrize(("query", "detail", "valid"), [
    ("__erorr=x", "unknown flag '__erorr'; did you mean '__error'?", "__error"),
    ("__ERROR=x", "unknown flag '__ERROR'; did you mean '__error'?", "__error"),  # flags are lower case
    ("__session=a%20b", "session name 'a b' is not valid", "1-128 letters, digits or . _ : @ -, not dots alone"),
    ("__fault=boom", "unknown fault 'boom'", "truncate"),
    ("__session=..", "session name '..' is not valid", "1-128 letters, digits or . _ : @ -, not dots alone"),
    ("__session=.", "session name '.' is not valid", "1-128 letters, digits or . _ : @ -, not dots alone"),
])
def test_a_bad_flag_is_answered_as_misuse_naming_it_and_the_valid_values(client, query, detail, valid):
    response = client.get(f"/dcs/event?d_mid=1&{query}")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    assert response.json()["detail"].startswith(detail) and valid in response.json()["valid"], response.text


quoted_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@given(quoted_text)
@example("")
@example('say "hi" \\ back')
def test_a_quoted_preference_value_is_unquoted_and_unescaped(text):
    """RFC 7230 3.2.6 quoted-string: `"` and `\\` inside are escaped with `\\`; an empty one is the empty value."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert parse_prefer([f"mode={quoted}, respond-async"]) == [("mode", text), ("respond-async", "")]


def test_a_preference_without_a_value_or_with_an_unclosed_quote_is_read_as_sent():
    assert parse_prefer(["respond-async, chaos_faults"]) == [("respond-async", ""), ("chaos_faults", "")]
    assert parse_prefer(['mode="outage']) == [("mode", '"outage')]


def test_decimal_reads_as_many_digits_as_int_does_and_no_more():
    limit = sys.get_int_max_str_digits()
    assert decimal("9" * limit) == int("9" * limit) and decimal("9" * (limit + 1)) is None
    assert decimal("²") is None and decimal("-1") is None and decimal("0429") == 429
    assert decimal("\uff14\uff12\uff19") is None and decimal("\u0664\u0662\u0669") is None  # fullwidth, Arabic-Indic


def test_one_error_flag_of_comma_separated_ids_asks_each_of_them(client):
    """`__error=300, 301,` asks both DCS errors: DCS reports them in one `X-Error: 300,301` (dcs-errors.md
    "X-Error"), and the journal names both; blanks around and between the ids are not ids."""
    answer = client.get("/dcs/event?d_mid=1&__error=300,%20301,")
    assert answer.status_code == 200 and answer.headers["x-error"] == "300,301", answer.headers
    assert client.get("/__admin/requests?limit=1").json()["requests"][0]["errors"] == ["300", "301"]


@pytest.mark.parametrize("query", ["__error=", "__error=,%20"])
def test_an_error_flag_without_an_id_is_misuse_listing_the_apis_ids(client, query):
    response = client.get(f"/dcs/event?d_mid=1&{query}")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    problem = response.json()
    assert problem["detail"].startswith("flag 'error' needs an error id of dcs"), problem
    assert {"300", "rate-limited"} <= set(problem["valid"]), problem


@pytest.mark.parametrize("code", ["100", "599"])
def test_a_code_flag_takes_every_status_from_100_to_599(client, code):
    """Both ends are HTTP statuses (RFC 9110 15): DCS documents none of them, so the answer says that,
    not that the flag's value is no status."""
    response = client.get(f"/dcs/event?d_mid=1&__code={code}")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    assert response.json()["detail"].startswith(f"dcs documents no error with status {code}"), response.text
    assert "429" in response.json()["valid"]


@pytest.mark.parametrize(("query", "detail", "valid"), [
    ("__code=99", "flag 'code' takes an HTTP status, not '99'", ["100-599"]),
    ("__code=600", "flag 'code' takes an HTTP status, not '600'", ["100-599"]),
    ("__seed=x", "flag 'seed' takes an integer, not 'x'", ["an integer"]),
    ("__delay=soon", "flag 'delay' takes milliseconds, not 'soon'",
     ["MS", "uniform:LOW-HIGH", "lognormal:MEDIAN,SIGMA"]),
    ("__chaos=2", "flag 'chaos' takes a probability, not '2'", ["a number from 0 to 1"]),
    ("__chaos=often", "flag 'chaos' takes a probability, not 'often'", ["a number from 0 to 1"]),
    ("__chaos_faults=maybe", "flag 'chaos_faults' takes 1 or 0, not 'maybe'", ["1", "0", "true", "false", "yes", "no"]),
])
def test_a_bad_flag_value_is_misuse_saying_what_the_flag_takes(client, query, detail, valid):
    """GUIDE 2: misuse is 400 problem+json marked `X-Mockserver-Misuse: 1`, its detail listing the valid values."""
    response = client.get(f"/dcs/event?d_mid=1&{query}")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    problem = response.json()
    assert problem["detail"].startswith(detail) and problem["valid"] == valid, problem
    assert all(value in problem["detail"] for value in valid), problem


@pytest.mark.parametrize(("delay", "applied"), [("0", "0"), ("1234567", "1234567"), ("uniform:0-5", "uniform:0-5"),
                                               ("lognormal:3,0.5", '"lognormal:3,0.5"'),
                                               ("lognormal:2.5,1", '"lognormal:2.5,1"')])
def test_every_documented_delay_form_is_taken(delay, applied):
    """WireMock's three delay models, as README names them (`200`, `uniform:50-150`, `lognormal:80,0.4`);
    Preference-Applied quotes a value with a comma, which would otherwise end the preference (RFC 7240)."""
    flags = parse_flags([("delay", delay)], [], None)
    assert flags.delay == delay and flags.given == [f"delay={delay}"]  # the journal's, as sent
    assert preference_applied(flags.given[0]) == f"delay={applied}"


def test_a_lognormal_delay_cut_at_its_comma_in_prefer_says_to_quote_it(client):
    """RFC 7240 splits `Prefer: delay=lognormal:80,0.4` at the comma: the misuse listed the very form sent."""
    response = client.get("/dcs/event?d_mid=1", headers={"Prefer": "delay=lognormal:80,0.4"})
    assert response.status_code == 400 and 'quote it, delay="lognormal:80,0.4"' in response.json()["detail"]
    quoted = client.get("/dcs/event?d_mid=1", headers={"Prefer": 'delay="lognormal:1,0.4"'})
    assert quoted.headers["preference-applied"] == 'delay="lognormal:1,0.4"'


@pytest.mark.parametrize("chance", ["0", "1", "0.0", "1.0"])
def test_chaos_takes_both_ends_of_a_probability(client, chance):
    """GUIDE 2: `__chaos=P`, a probability: 0 (never) and 1 (always) are probabilities too."""
    response = client.get(f"/dcs/event?d_mid=1&__chaos={chance}")
    assert "x-mockserver-misuse" not in response.headers, response.text
    applied = response.headers.get("preference-applied")
    assert applied == (None if float(chance) == 0 else f"chaos={chance}")  # 0: a strict no-op (issue 9)


@pytest.mark.parametrize("value,seed", [("0", 0), ("42", 42), ("-7", -7), ("007", 7)])
def test_a_seed_is_an_integer_as_the_command_line_takes_it(value, seed):
    assert parse_flags([("seed", value)], [], None).seed == seed
