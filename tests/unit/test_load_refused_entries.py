"""An entry the schema refuses is left out, but what it names and compiles is still checked where no schema problem
lies: an error's own `response`, a rule's `respond` (test_load covers an error's headers and a route's `respond`)."""

from __future__ import annotations

from tests.unit.test_load import GOOD, problems_of


def test_a_refused_errors_response_and_a_refused_routes_rule_answer_are_still_told(tmp_path):
    text = GOOD.replace("  boom: {status: 500, title: Boom}", """\
  boom: {status: "500", title: Boom, response: {status: 503, body: {a: "{{ b( }}"}}}""").replace(
        "    method: GET", "    method: 7").replace("    respond: {body: {message: hi}}", """\
    rules:
      - when: {header_matches: {a: x}}
        respond: {body: {r: "{{ r( }}"}}
    respond: {body: {message: hi}}""")
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[1] for p in found] == [
        "errors.boom.status", "errors.boom.response.body.a", "routes[0].method", "routes[0].rules[0].respond.body.r"
    ], found
    assert found[1].startswith(f"{tmp_path / 'toy.yaml'}:7: errors.boom.response.body.a: template does not compile")


def test_a_refused_routes_answer_may_read_what_its_handler_gives(tmp_path):
    """`processed` is braze.users_track's: in a route the schema refused for its method, the answer reading it is
    not a second problem (and one reading a name no one gives still is)."""
    text = ("api: braze\nroutes:\n  - id: users-track\n    method: PSOT\n    path: /users/track\n"
            "    handler: braze.users_track\n"
            '    respond: {status: 201, body: {n: "{{ processed }}", m: "{{ nobody }}"}}\n')
    found = problems_of(tmp_path, text, "braze.yaml")
    assert [p.split(": ", 2)[1] for p in found] == ["routes[0].method", "routes[0].respond.body.m"], found
