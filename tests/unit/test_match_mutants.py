"""engine/match.py: behaviour a mutation audit found no test held (conditions over several names, their
reference meaning as the scenario format documents it, the verdicts' shape)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engine.match import ConditionError, Match, compile_condition, find_route, first_segment, route_index
from tests.unit.test_match import (
    header_name,
    header_value,
    make_api,
    make_ctx,
    make_route,
    query_name,
    random_case,
    raw_queries,
    recase,
    verdict,
    wire,
)

FAST = settings(max_examples=80, deadline=None)
PATTERNS = st.sampled_from(["", "x", "^y", "é$", "[&=]", "^$", "y+"])


def sent_query(raw: bytes) -> dict[str, list[str]]:
    """The query as application/x-www-form-urlencoded has it, written plainly: `&`-separated pieces, empty ones
    skipped, the name up to the first `=` (a bare `name` has the empty value), `+` a space, then %-decoding."""
    found: dict[str, list[str]] = {}
    for piece in raw.decode("ascii").split("&"):
        if piece:
            name, _, value = piece.partition("=")
            found.setdefault(unquote_plus(name), []).append(unquote_plus(value))
    return found


@FAST
@given(raw_queries(), st.lists(query_name, min_size=1, max_size=3, unique=True), st.data())
def test_query_conditions_over_several_names_follow_their_documented_meaning(case, names, data):
    """docs/architecture.md "Conditions": several names in one `query_present` must all be there, `query_absent`
    holds when any is missing, `query_count_over` when any name is repeated more than its limit, `query_matches`
    when every name's (first) value matches, `query_not_matches` when any is absent or differs. A rule naming two
    parameters must not answer (or stay silent) on the state of one of them only."""
    raw, _ = case
    ctx = make_ctx(query=raw)
    sent = sent_query(raw)
    limits = {n: data.draw(st.integers(0, 2)) for n in names}
    patterns = {n: data.draw(PATTERNS) for n in names}
    present = all(n in sent for n in names)
    assert verdict({"query_present": names}, ctx) is present
    assert verdict({"query_absent": names}, ctx) is (not present)
    assert verdict({"query_count_over": limits}, ctx) is any(len(sent.get(n, [])) > limits[n] for n in names)
    matching = all(n in sent and re.search(patterns[n], sent[n][0]) is not None for n in names)
    assert verdict({"query_matches": patterns}, ctx) is matching
    assert verdict({"query_not_matches": patterns}, ctx) is (not matching)


@FAST
@given(st.lists(st.tuples(header_name, header_value), max_size=5), st.lists(header_name, min_size=2, max_size=3),
       st.data(), random_case)
def test_header_matches_over_several_names_needs_every_one(sent, names, data, rnd):
    """`header_matches: {A: a, B: b}` holds when A's first value matches a and B's matches b (a rule for "the
    right Content-Type and an Authorization of the right form"); `header_not_matches` when any is absent or
    differs. Names are case-insensitive, as HTTP's are."""
    ctx = make_ctx(wire(sent))
    firsts: dict[str, str] = {}
    for name, value in sent:
        firsts.setdefault(name.lower(), value)
    patterns = {recase(n, rnd): data.draw(st.sampled_from(["", "a", "^x", "b$", "[0-9]+", "é"])) for n in names}
    expected = all(n.lower() in firsts and re.search(p, firsts[n.lower()]) is not None for n, p in patterns.items())
    assert verdict({"header_matches": patterns}, ctx) is expected
    assert verdict({"header_not_matches": patterns}, ctx) is (not expected)


def test_a_condition_without_an_async_check_gives_its_verdict_without_a_coroutine():
    """match.py's `Condition`: "the common rules cost no coroutine". Each rule of a route is tried per request, and
    dispatch awaits only a condition that says it needs it: a header or body condition, or `all`/`any`/`not` of
    them, answers a plain bool."""
    spec: dict[str, Any] = {"all": [{"header_present": "x-a"}, {"not": {"body_empty": False}},
                                    {"any": [{"query_absent": "q"}, {"body_size_over": 3}]}]}
    condition = compile_condition(spec, "when", {})
    assert condition.needs_await is False
    assert condition.holds(make_ctx([(b"x-a", b"1")])) is True


def test_an_inline_schema_is_compiled_once_for_every_request():
    """`body_violates`/`body_conforms` build their validator on first use (jsonschema's import is slow) and keep it:
    a rule checked on every request of a busy route must not build a validator per request."""
    condition = compile_condition({"body_violates": {"type": "object", "required": ["id"]}}, "when", {})
    assert condition.holds(make_ctx(body=b'{"x": 1}')) is True
    built = condition.validator  # type: ignore[attr-defined]
    assert condition.holds(make_ctx(body=b'{"id": 1}')) is False
    assert condition.validator is built  # type: ignore[attr-defined]


# -- route lookup: the index and the cache (docs/architecture.md "Routes are indexed by their first path segment,
# and each (method, path) found is remembered per API (`Api.route_cache`, 4,096 entries, emptied when full)")

def test_the_index_holds_for_each_first_segment_only_the_routes_that_can_match_it():
    """A request's lookup tries the routes of its first segment and those starting with a parameter, in file order;
    a route starting with a parameter is the only kind under None (any other first segment)."""
    routes = [make_route(0, "/a/{id}", frozenset({"GET"})), make_route(1, "/{x}/b", frozenset({"GET"})),
              make_route(2, "/b", frozenset({"GET"})), make_route(3, "/a", frozenset({"POST"}))]
    assert [first_segment(r.path) for r in routes] == ["a", None, "b", "a"]
    assert first_segment("/") == "" and first_segment("/{rest:path}") is None and first_segment("a{b}/c") is None
    index = route_index(routes)
    assert {key: [r.id for r in found] for key, found in index.items()} == {
        "a": ["r0", "r1", "r3"], "b": ["r1", "r2"], None: ["r1"]}


def test_a_route_lookup_is_remembered_and_a_path_over_512_characters_is_not():
    """Clients repeat their paths: the answer of a (method, path) is kept and given again as it is. A path longer
    than 512 characters is looked up each time, so a client sending long, ever-new paths cannot fill memory."""
    api = make_api([make_route(0, "/a/{id}", frozenset({"GET"}))])
    found = find_route(api, "GET", "/a/1")
    assert found.match is Match.FULL and api.route_cache == {("GET", "/a/1"): found}
    assert find_route(api, "GET", "/a/1") is found
    at_limit, over = "/a/" + "x" * 509, "/a/" + "x" * 510
    assert find_route(api, "GET", at_limit).match is Match.FULL and ("GET", at_limit) in api.route_cache
    assert find_route(api, "GET", over).match is Match.FULL and ("GET", over) not in api.route_cache


def test_the_route_cache_holds_4096_lookups_and_is_emptied_when_full():
    api = make_api([make_route(0, "/a/{id}", frozenset({"GET"}))])
    for n in range(4096):
        find_route(api, "GET", f"/a/{n}")
    assert len(api.route_cache) == 4096
    find_route(api, "GET", "/a/new")
    assert api.route_cache.keys() == {("GET", "/a/new")}


def test_a_route_match_shared_by_every_request_cannot_be_changed():
    """One `RouteMatch` answers every request with that method and path (the cache): a handler or hook that set
    a field of it would change the route of later requests. It is frozen."""
    found = find_route(make_api([make_route(0, "/a/{id}", frozenset({"GET"}))]), "GET", "/a/1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.route = None  # type: ignore[misc]


# -- compiling a `when:` -----------------------------------------------------------------------------------------

def test_an_inline_schema_with_a_regex_that_compiles_loads_and_searches_with_it():
    """A `pattern` (format: regex in the meta-schema) is refused at load only when it does not compile: one that does
    is taken, and a body is checked against it (jsonschema searches: `^` anchors, as a scenario author writes)."""
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}},
              "patternProperties": {"^x-": {"type": "integer"}}}
    condition = compile_condition({"body_violates": schema}, "when", {})
    assert condition.holds(make_ctx(body=b'{"id": "123", "x-a": 1}')) is False
    assert condition.holds(make_ctx(body=b'{"id": "12a"}')) is True
    assert condition.holds(make_ctx(body=b'{"x-a": "one"}')) is True


@pytest.mark.parametrize("key", ["header_presnt", "nott", "body"])
def test_a_key_that_is_no_condition_is_refused_by_a_direct_caller_too(key):
    """The schema refuses an unknown key of `when:` first; compile_condition guards its other callers (tests, an API
    module) the same way rather than making a condition that means something else."""
    with pytest.raises(ConditionError) as refused:
        compile_condition({key: {"header_present": "x"}}, "when", {})
    assert str(refused.value) == f"when.{key}: unknown condition"
