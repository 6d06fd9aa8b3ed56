"""Properties of engine/match.py: the conditions of `when:` and route lookup, each a rule of the
scenario format (scenario/schema.json, docs/architecture.md "Scenario files").

Contexts are built as dispatch.py builds them: header names lower-case bytes (ASGI), the query as raw
bytes, the body as bytes; routes are matched against the decoded path without its trailing slash.
"""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mockserver.engine.context import RequestContext
from mockserver.engine.match import (
    Match,
    compile_condition,
    compile_path,
    find_route,
    route_index,
    settle,
)
from mockserver.scenario.model import Route

FAST = settings(max_examples=60, deadline=None)


def make_ctx(headers: list[tuple[bytes, bytes]] = (), query: bytes = b"", body: bytes = b"") -> RequestContext:  # type: ignore[assignment]
    return RequestContext(
        api=None, method="GET", path="/", raw_query=query, headers=list(headers), body=body,  # type: ignore[arg-type]
        flags=None, session="s", seed=0, number=1, base_url="http://x", host="x", client_ip="",  # type: ignore[arg-type]
        state=None, clock=None, generator=None, options={},  # type: ignore[arg-type]
    )


def verdict(spec: dict[str, Any], ctx: RequestContext, checks: dict[str, Any] | None = None) -> Any:
    condition = compile_condition(spec, "when", checks or {})
    return asyncio.run(settle(condition.holds(ctx))) if condition.needs_await else condition.holds(ctx)


# -- paths ---------------------------------------------------------------------------------------

METACHARS = ".^$*+?()[]|\\-"
literal = st.text(alphabet="abcXYZ09_~" + METACHARS, min_size=1, max_size=6)
segment_value = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=8)
path_value = st.lists(segment_value, min_size=1, max_size=4).map("/".join)


@st.composite
def template_and_values(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """A template of literal and `{pN}` segments, maybe ending in `{rest:path}`; a path built from it."""
    template, path, values = "", "", {}
    for i in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            text = draw(literal)
            template, path = f"{template}/{text}", f"{path}/{text}"
        else:
            values[f"p{i}"] = draw(segment_value)
            template, path = f"{template}/{{p{i}}}", f"{path}/{values[f'p{i}']}"
    if draw(st.booleans()):
        values["rest"] = draw(path_value)
        template, path = f"{template}/{{rest:path}}", f"{path}/{values['rest']}"
    return template or "/", path or "/", values


@FAST
@given(template_and_values())
def test_a_template_matches_the_paths_built_from_it_and_gives_the_values_back(case):
    """Any segment value (unicode, spaces, control characters: ASGI gives the path decoded) is matched by
    `{x}`, and any run of segments by `{x:path}`; the values come back as they were."""
    template, path, values = case
    found = compile_path(template).fullmatch(path)
    assert found is not None, (template, path)
    assert found.groupdict() == values


@FAST
@given(st.lists(st.one_of(literal, st.just("{x}")), min_size=1, max_size=3), st.integers(0, 2), segment_value,
       segment_value)
def test_a_parameter_never_spans_a_slash_nor_matches_an_empty_segment(parts, where, left, right):
    parts = [p if p != "{x}" else "lit" for p in parts]
    parts.insert(min(where, len(parts)), "{x}")
    template = "/" + "/".join(parts)
    pattern = compile_path(template)
    built = "/" + "/".join(p if p != "{x}" else f"{left}/{right}" for p in parts)
    assert pattern.fullmatch(built) is None
    assert pattern.fullmatch("/" + "/".join(p if p != "{x}" else "" for p in parts)) is None


@FAST
@given(path_value, path_value)
def test_a_path_parameter_spans_slashes_and_takes_whatever_a_segment_parameter_takes(value, tail):
    spanning = compile_path("/files/{rest:path}/meta/{last}")
    found = spanning.fullmatch(f"/files/{value}/meta/{tail.split('/')[0]}")
    assert found is not None and found.group("rest") == value
    single = value.split("/")[0]
    assert compile_path("/f/{x}").fullmatch(f"/f/{single}") is not None
    assert compile_path("/f/{x:path}").fullmatch(f"/f/{single}") is not None


@FAST
@given(literal, literal)
def test_a_literal_with_regex_metacharacters_matches_only_itself(one, other):
    pattern = compile_path(f"/v1/{one}")
    assert pattern.fullmatch(f"/v1/{one}") is not None
    assert (pattern.fullmatch(f"/v1/{other}") is not None) == (one == other)


# -- route lookup --------------------------------------------------------------------------------

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD"]
route_path = st.sampled_from(["/", "/a", "/a/{id}", "/a/b", "/{x}", "/{x}/b", "/a/{rest:path}", "/b.c", "/{any:path}",
                             "/Xb"])
request_path = st.sampled_from(["/", "/a", "/a/b", "/a/b/c", "/b", "/b.c", "/bxc", "/z/b", "/a/z", "/z", "/Xb"])


def make_route(i: int, path: str, methods: frozenset[str]) -> Route:
    return Route(id=f"r{i}", methods=methods, path=path, pattern=compile_path(path), rules=(), handler=None,
                 respond=None, starts_async=False, errors=(), source="test")


def make_api(routes: list[Route]) -> Any:
    return SimpleNamespace(routes=tuple(routes), route_index=route_index(routes), route_cache={})


@st.composite
def route_tables(draw: st.DrawFn) -> list[Route]:
    specs = draw(st.lists(st.tuples(route_path, st.sets(st.sampled_from(METHODS), min_size=1)), min_size=1,
                          max_size=5))
    return [make_route(i, p, frozenset(m)) for i, (p, m) in enumerate(specs)]


@FAST
@given(route_tables(), st.sampled_from(METHODS), request_path)
@example([make_route(0, "/a/b", frozenset({"GET"}))], "GET", "/a/b")  # a literal path of two segments, alone
@example([make_route(0, "/Xb", frozenset({"GET"}))], "GET", "/Xb")
def test_the_first_route_in_file_order_with_the_path_and_method_answers(routes, method, path):
    """Rules of the format: routes are tried in order; HEAD is served by a GET route; a path known with
    other methods only is PARTIAL with every method of the routes on that path (HEAD with GET); else NONE. The index by
    first segment gives the same answer as trying every route."""
    on_path = [r for r in routes if r.pattern.fullmatch(path)]
    serving = [r for r in on_path if method in r.methods or (method == "HEAD" and "GET" in r.methods)]
    found = find_route(make_api(routes), method, path)
    if serving:
        assert found.match is Match.FULL and found.route is serving[0]
        assert found.params == serving[0].pattern.fullmatch(path).groupdict()  # type: ignore[union-attr]
    elif on_path:
        assert found.match is Match.PARTIAL and found.route is None
        methods = {m for r in on_path for m in r.methods}
        assert found.allowed == tuple(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
    else:
        assert found.match is Match.NONE and found.allowed == ()


@FAST
@given(route_tables(), st.sampled_from(METHODS), request_path)
def test_a_remembered_lookup_is_the_same_lookup(routes, method, path):
    api = make_api(routes)
    assert find_route(api, method, path) == find_route(api, method, path) == find_route(make_api(routes), method,
                                                                                         path)


# -- headers and query ---------------------------------------------------------------------------

TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~"
header_name = st.text(alphabet=TOKEN, min_size=1, max_size=6)
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=8)
random_case = st.randoms(use_true_random=False)


def recase(name: str, rnd: Any) -> str:
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in name)


def wire(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]


@FAST
@given(st.lists(st.tuples(header_name, header_value), max_size=4), st.lists(header_name, min_size=1, max_size=3),
       random_case, st.booleans())
def test_header_names_match_whatever_their_case(sent, names, rnd, parsed):
    """HTTP field names are case-insensitive (RFC 9110 §5.1): `header_present` holds when every named
    header is there, `header_absent` when any is missing: its negation."""
    ctx = make_ctx(wire(sent))
    if parsed:
        ctx.headers  # noqa: B018 -- the other way `header()` reads them
    asked = [recase(n, rnd) for n in names]
    there = {n.lower() for n, _ in sent}
    expected = all(n.lower() in there for n in names)
    assert verdict({"header_present": asked}, ctx) is expected
    assert verdict({"header_absent": asked}, ctx) is (not expected)


@FAST
@given(st.lists(st.tuples(header_name, header_value), max_size=4), header_name, st.sampled_from(["", "a", "^x", "b$",
       "[0-9]+", "é"]), random_case)
def test_header_matches_is_a_search_of_the_first_value_and_not_matches_its_negation(sent, name, pattern, rnd):
    ctx = make_ctx(wire(sent))
    values = [v for n, v in sent if n.lower() == name.lower()]
    expected = bool(values) and re.search(pattern, values[0]) is not None
    asked = recase(name, rnd)
    assert verdict({"header_matches": {asked: pattern}}, ctx) is expected
    assert verdict({"header_not_matches": {asked: pattern}}, ctx) is (not expected)


query_name = st.text(alphabet="abcBé+ &=%", min_size=1, max_size=3)
query_value = st.text(alphabet="xyé+ &=%", max_size=3)


@st.composite
def raw_queries(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str | None]]]:
    """Pieces `name=value` or bare `name`, percent-encoded (or `+` for a space) as clients do; empty pieces."""
    pieces = draw(st.lists(st.tuples(query_name, st.none() | query_value), max_size=6))
    raw = []
    for name, value in pieces:
        plus = draw(st.booleans())
        enc = (lambda s: quote(s, safe="").replace("%20", "+")) if plus else (lambda s: quote(s, safe=""))
        raw.append(enc(name) if value is None else f"{enc(name)}={enc(value)}")
        if draw(st.booleans()):
            raw.append("")
    return "&".join(raw).encode("ascii"), pieces


@FAST
@given(raw_queries(), query_name, st.integers(0, 3))
def test_query_count_over_counts_each_repetition_as_sent(case, name, limit):
    raw, pieces = case
    ctx = make_ctx(query=raw)
    count = sum(1 for n, _ in pieces if n == name)
    assert verdict({"query_count_over": {name: limit}}, ctx) is (count > limit)
    assert verdict({"query_present": name}, ctx) is (count > 0), "a bare `name` or `name=` is present"
    assert verdict({"query_absent": name}, ctx) is (count == 0)
    first = next((v or "" for n, v in pieces if n == name), None)
    assert verdict({"query_matches": {name: "^y"}}, ctx) is (first is not None and first.startswith("y"))


@pytest.mark.parametrize("asked", ["D_MID", "D_mid"])
def test_query_names_are_case_sensitive_unlike_header_names(asked):
    """RFC 3986 6.2.2.1: only the scheme and the host are case-insensitive; DCS's `d_mid` is not `D_MID`."""
    ctx = make_ctx(query=b"d_mid=1")
    assert verdict({"query_present": asked}, ctx) is False and verdict({"query_absent": asked}, ctx) is True
    assert verdict({"query_matches": {asked: "1"}}, ctx) is False
    assert verdict({"query_not_matches": {asked: "1"}}, ctx) is True
    assert verdict({"query_present": "d_mid", "query_matches": {"d_mid": "^1$"}}, ctx) is True


# -- bodies --------------------------------------------------------------------------------------

JSON_WHITESPACE = b" \t\n\r"  # RFC 8259 §2: the only insignificant whitespace of JSON
SCHEMA = {"type": "object", "required": ["id"]}


def is_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"), parse_constant=lambda name: 1 / 0)
    except (ValueError, ZeroDivisionError):
        return False
    return True


bodies = st.one_of(
    st.binary(max_size=12),
    st.lists(st.sampled_from([b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"{", b"}", b"1", b'"', b"null",
                              b'{"id": 1}', b"[]", b"NaN", b"\xef\xbb\xbf"]), max_size=5).map(b"".join),
    st.builds(lambda v: json.dumps(v).encode(), st.dictionaries(st.sampled_from(["id", "x"]), st.integers())),
)


@settings(max_examples=150, deadline=None)
@given(bodies)
def test_a_body_is_exactly_one_of_empty_unparseable_or_json(body):
    """Empty: nothing but JSON's whitespace (an empty body is not unparseable); unparseable: not JSON as
    RFC 8259 has it; else JSON, which conforms to a schema or violates it, never both."""
    ctx = make_ctx(body=body)
    empty = verdict({"body_empty": True}, ctx)
    unparseable = verdict({"body_unparseable": True}, ctx)
    assert empty is (body.strip(JSON_WHITESPACE) == b"")
    assert unparseable is (not empty and not is_json(body))
    assert verdict({"body_empty": False}, ctx) is (not empty)
    assert verdict({"body_unparseable": False}, ctx) is (not unparseable)
    conforms = verdict({"body_conforms": SCHEMA}, ctx)
    violates = verdict({"body_violates": SCHEMA}, ctx)
    if empty or unparseable:
        assert not conforms and not violates
    else:
        assert conforms is (not violates)
        parsed = json.loads(body)
        assert conforms is (isinstance(parsed, dict) and "id" in parsed)


@FAST
@given(st.integers(0, 300))
def test_body_size_over_is_strict_at_the_limit(limit):
    assert verdict({"body_size_over": limit}, make_ctx(body=b"x" * limit)) is False
    assert verdict({"body_size_over": limit}, make_ctx(body=b"x" * (limit + 1))) is True


# -- all / any / not, with sync and async checks -------------------------------------------------

def sync_true(ctx: Any, args: Any) -> bool:
    return True


def sync_false(ctx: Any, args: Any) -> bool:
    return False


async def async_true(ctx: Any, args: Any) -> bool:
    return True


async def async_false(ctx: Any, args: Any) -> bool:
    return False


CHECKS = {"sync_true": sync_true, "sync_false": sync_false, "async_true": async_true, "async_false": async_false}
leaf = st.sampled_from([
    ({"check": "sync_true"}, True), ({"check": "sync_false"}, False),
    ({"check": "async_true"}, True), ({"check": {"name": "async_false", "args": {}}}, False),
    ({"header_present": "X-A"}, True), ({"header_absent": "X-A"}, False),
    ({"body_empty": True}, True), ({"query_present": "q"}, False),
])
trees = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: ({"all": [s for s, _ in xs]}, all(v for _, v in xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: ({"any": [s for s, _ in xs]}, any(v for _, v in xs))),
        inner.map(lambda x: ({"not": x[0]}, not x[1])),
    ),
    max_leaves=8,
)


@FAST
@given(trees)
def test_all_any_not_follow_their_names_whatever_the_checks_inside(tree):
    spec, expected = tree
    result = verdict(spec, make_ctx([(b"x-a", b"1")]), CHECKS)
    assert bool(result) is expected


@FAST
@given(st.lists(leaf, min_size=2, max_size=4))
def test_several_keys_are_all_of_them(leaves):
    spec: dict[str, Any] = {}
    for s, _ in leaves:
        spec.update(s)
    expected = all(dict(leaves_by_key(leaves))[k] for k in spec)
    assert bool(verdict(spec, make_ctx([(b"x-a", b"1")]), CHECKS)) is expected


def leaves_by_key(leaves: list[tuple[dict[str, Any], bool]]) -> list[tuple[str, bool]]:
    return [(next(iter(s)), v) for s, v in leaves]  # a later leaf with the same key wins, as in the mapping


def test_a_check_that_finds_errors_gives_them_through_all_and_any():
    from mockserver.engine.outcome import ErrorRef

    def found(ctx: Any, args: Any) -> list[ErrorRef]:
        return [ErrorRef(args["id"])]

    checks = {"found": found, "sync_true": sync_true, "async_true": async_true}
    spec = {"all": [{"check": {"name": "found", "args": {"id": "a"}}}, {"check": "async_true"},
                    {"check": {"name": "found", "args": {"id": "b"}}}]}
    assert [e.id for e in verdict(spec, make_ctx(), checks)] == ["a", "b"]
    spec = {"any": [{"check": "sync_true"}, {"check": {"name": "found", "args": {"id": "c"}}}]}
    assert verdict(spec, make_ctx(), checks) is True
    assert verdict({"not": {"check": {"name": "found", "args": {"id": "c"}}}}, make_ctx(), checks) is False


def test_errors_found_by_sync_checks_come_through_all_any_and_several_keys_in_order():
    """The common case (no async check, so no coroutine): the errors each check found are gathered in
    order; `any` gives the first part that holds, errors and all."""
    from mockserver.engine.outcome import ErrorRef

    def found(ctx: Any, args: Any) -> list[ErrorRef]:
        return [ErrorRef(i) for i in args["ids"]]

    checks = {"found": found, "sync_true": sync_true, "sync_false": sync_false}
    a = {"check": {"name": "found", "args": {"ids": ["a"]}}}
    bc = {"check": {"name": "found", "args": {"ids": ["b", "c"]}}}
    assert [e.id for e in verdict({"all": [a, {"check": "sync_true"}, bc]}, make_ctx(), checks)] == ["a", "b", "c"]
    assert [e.id for e in verdict({"any": [{"check": "sync_false"}, bc, a]}, make_ctx(), checks)] == ["b", "c"]
    assert [e.id for e in verdict({**bc, "header_absent": "x-b"}, make_ctx(), checks)] == ["b", "c"]
    assert verdict({"all": [a, {"check": "sync_false"}]}, make_ctx(), checks) is False
    assert verdict({"all": [{"check": "sync_true"}, {"header_absent": "x-b"}]}, make_ctx(), checks) is True


# -- through the app -----------------------------------------------------------------------------

TOY = """\
api: toy
prefix: /toy
error_response:
  status: "{{ error.status }}"
  body: {message: "{{ error.title }}", allowed: "{{ error.allowed | default(omit) }}"}
not_found: nope
method_not_allowed: wrong-method
errors:
  nope: {status: 404, title: Not Found}
  empty: {status: 400, title: Empty}
  bad-json: {status: 400, title: Bad JSON}
  wrong-method: {status: 405, title: Method Not Allowed}
routes:
  - id: one
    method: GET
    path: /items/{id}
    respond: {body: {id: "{{ request.path_params.id }}"}}
  - id: files
    method: [PUT, DELETE]
    path: /files/{rest:path}
    respond: {body: {rest: "{{ request.path_params.rest }}"}}
  - id: post
    method: POST
    path: /things
    rules:
      - {when: {body_empty: true}, error: empty}
      - {when: {body_unparseable: true}, error: bad-json}
    respond: {status: 201, body: {}}
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory):  # type: ignore[no-untyped-def]
    from mockserver.app import build_app
    from mockserver.settings import Settings
    from tests.conftest import asgi_client

    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy.yaml").write_text(TOY)
    with asgi_client(build_app(Settings(scenarios=(str(folder),)))) as client:
        yield client


@settings(max_examples=25, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=6),
       path_value)
@example("%00", "%2F/a")  # sent as %2500: decoded once it is %00 (the TestClient alone gave \x00)
def test_percent_encoded_segments_come_back_decoded(toy, value, rest):
    """The client removes dot segments (RFC 3986 §5.2.4) before sending: those are left out."""
    assume(value not in (".", "..") and not {".", ".."} & set(rest.split("/")))
    answer = toy.get("/toy/items/" + quote(value, safe=""))
    assert answer.status_code == 200 and answer.json() == {"id": value}, answer.text
    answer = toy.put("/toy/files/" + "/".join(quote(s, safe="") for s in rest.split("/")))
    assert answer.status_code == 200 and answer.json() == {"rest": rest}, answer.text


def test_a_known_path_with_another_method_is_the_method_error_with_the_allowed_methods(toy):
    answer = toy.post("/toy/files/a/b")
    assert answer.status_code == 405 and answer.json()["allowed"] == ["DELETE", "PUT"]
    assert toy.head("/toy/items/1").status_code == 200, "HEAD is served by a GET route"
    assert toy.get("/toy/elsewhere").status_code == 404


def test_a_path_parameter_takes_an_encoded_newline_as_a_segment_parameter_does(toy):
    assert toy.get("/toy/items/a%0Ab").json() == {"id": "a\nb"}
    answer = toy.put("/toy/files/a%0Ab/c")
    assert answer.status_code == 200 and answer.json() == {"rest": "a\nb/c"}, answer.text


@pytest.mark.parametrize(("body", "title"), [(b"", "Empty"), (b" \r\n\t", "Empty"), (b"\x0b", "Bad JSON"),
                                             (b"\x0c{}", "Bad JSON"), (b" {} ", None)])
def test_an_empty_body_is_json_whitespace_only_and_anything_else_not_json_is_unparseable(toy, body, title):
    answer = toy.post("/toy/things", content=body)
    assert answer.status_code == (400 if title else 201) and answer.json().get("message") == title


@pytest.mark.parametrize("first", ["sync_true", "sync_false", "async_true", "async_false"])
@pytest.mark.parametrize("second", ["sync_true", "sync_false", "async_true", "async_false"])
def test_all_any_not_over_every_pair_of_sync_and_async_checks(first, second):
    """Every pair, not only those the generated trees happen to draw: an `any` of two async checks
    that both fail is False, as an `all` with one is."""
    value = {"sync_true": True, "sync_false": False, "async_true": True, "async_false": False}
    parts = [{"check": first}, {"check": second}]
    assert verdict({"all": parts}, make_ctx(), CHECKS) is (value[first] and value[second])
    assert verdict({"any": parts}, make_ctx(), CHECKS) is (value[first] or value[second])
    assert verdict({"not": {"any": parts}}, make_ctx(), CHECKS) is not (value[first] or value[second])
    assert verdict({"not": {"check": first}}, make_ctx(), CHECKS) is not value[first]


def test_a_get_route_answers_head_but_no_other_method(toy):
    """RFC 9110 9.3.2: HEAD is GET without the body; POST or DELETE on a GET-only path is the method
    error, whose Allow names GET and HEAD (as Starlette's)."""
    for method in ("POST", "DELETE", "PUT"):
        answer = toy.request(method, "/toy/items/1")
        assert answer.status_code == 405 and answer.json()["allowed"] == ["GET", "HEAD"], (method, answer.text)
