"""Broken scenario files: every problem, with file, line and field; nothing half-loaded."""

from __future__ import annotations

import copy
import functools
import json
import operator
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.scenario import read
from mockserver.scenario.load import load_catalog
from mockserver.scenario.read import ScenarioError

GOOD = """\
api: toy
prefix: /toy
error_response:
  status: "{{ error.status }}"
  body: {message: "{{ error.title }}"}
errors:
  boom: {status: 500, title: Boom}
routes:
  - id: hello
    method: GET
    path: /hello
    respond: {body: {message: hi}}
"""


def with_rules(rules: str) -> str:
    """GOOD with these `rules:` on its route (lines 12 on), answering nothing of its own."""
    return GOOD.replace("    respond: {body: {message: hi}}", rules + "    respond: {}")


def problems_of(tmp_path: Path, text: str, name: str = "toy.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_catalog([path])
    return [str(p) for p in caught.value.problems]


def test_a_good_file_loads_beside_the_bundled_ones(tmp_path):
    (tmp_path / "toy.yaml").write_text(GOOD)
    catalog = load_catalog([tmp_path])
    assert "toy" in catalog.apis and "reactor" in catalog.apis


def test_bad_yaml_gives_the_line(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("  boom: {status: 500, title: Boom}", "  boom: {status: 500"))
    assert len(found) == 1 and "toy.yaml:8:" in found[0] and "invalid YAML" in found[0]


def test_a_tab_that_indents_is_named(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("  boom:", "\tboom:"))
    assert found == [f"{tmp_path / 'toy.yaml'}:7: (file): invalid YAML: a tab indents this line "
                     "(YAML indents with spaces only)"]


def test_a_trailing_comma_in_json_is_named(tmp_path):
    found = problems_of(tmp_path, '{"api": "toy",\n "errors": {"boom": {"status": 500, "title": "Boom"},\n}}',
                        "toy.json")
    assert found == [f"{tmp_path / 'toy.json'}:3: (file): invalid JSON: "
                     "a comma before '}' (JSON allows no trailing comma)"]


def test_a_respond_that_does_not_compile_is_one_problem(tmp_path):
    """Not a second one saying the route has no `respond`: it has one, with a broken template."""
    found = problems_of(tmp_path, GOOD.replace("{message: hi}", '{message: "{{ hi( }}"}'))
    assert len(found) == 1 and ":12: routes[0].respond.body.message: template does not compile" in found[0], found


def test_duplicate_keys_are_refused(tmp_path):
    found = problems_of(tmp_path, GOOD + "prefix: /again\n")
    assert "duplicate key 'prefix'" in found[0] and ":13:" in found[0]


def test_every_problem_at_once_with_line_and_field(tmp_path):
    text = GOOD.replace("  boom: {status: 500, title: Boom}", "  boom: {status: '500', title: Boom, colour: red}")
    text = text.replace("    method: GET", "    method: GET\n    pth: /x")
    found = problems_of(tmp_path, text)
    assert any(":7: errors.boom.colour: unknown key" in p for p in found), found
    assert any(":7: errors.boom.status: expected integer, got str" in p for p in found), found
    assert any(":11: routes[0].pth: unknown key" in p for p in found), found


def test_references_are_resolved_at_load(tmp_path):
    text = GOOD + """\
  - id: broken
    method: POST
    path: /broken
    handler: toy.nothing
    rules:
      - when: {check: toy.missing}
        error: no-such-error
      - when: {header_matches: {X: '(['}}
        error: boom
    respond: {body: {a: "{{ oops( }}"}}
"""
    found = problems_of(tmp_path, text)
    joined = "\n".join(found)
    assert ":18: routes[1].rules[0].when.check: no check named 'toy.missing'" in joined
    assert ":19: routes[1].rules[0].error: no error 'no-such-error' in the toy catalog" in joined
    assert "routes[1].rules[1].when.header_matches.X: invalid regular expression" in joined
    assert ":22: routes[1].respond.body.a: template does not compile" in joined  # the field itself, not its response
    assert "routes[1].handler: no handler named 'toy.nothing'" in joined


def test_an_inline_json_schema_the_meta_schema_refuses_is_a_problem_at_its_field(tmp_path):
    """`body_violates` and `body_conforms` take a JSON Schema (2020-12): one that is not (a misspelt type, a
    negative bound) is told at load, with its line and the meta-schema's words, nested or not."""
    rules = """\
    rules:
      - when: {body_violates: {type: objekt}}
        error: boom
      - when: {any: [{body_conforms: {maxItems: -1}}]}
        error: boom
"""
    file = tmp_path / "toy.yaml"
    found = problems_of(tmp_path, with_rules(rules))
    assert found == [
        f"{file}:13: routes[0].rules[0].when.body_violates.type: invalid JSON Schema: 'objekt' is not valid under any "
        "of the given schemas",
        f"{file}:15: routes[0].rules[1].when.any[0].body_conforms.maxItems: invalid JSON Schema: -1 is less than the "
        "minimum of 0",
    ]


@pytest.mark.parametrize(("when", "field", "message"), [
    ('{body_conforms: {type: string, pattern: "[a"}}', "body_conforms.pattern",
     "invalid regular expression '[a': unterminated character set at position 0"),
    ('{body_violates: {patternProperties: {"(x": {}}}}', "body_violates.patternProperties",
     "invalid regular expression '(x': missing ), unterminated subpattern at position 0"),
    ('{any: [{body_conforms: {properties: {a: {prefixItems: [{pattern: "a{4294967296}"}]}}}}]}',  # OverflowError
     "any[0].body_conforms.properties.a.prefixItems[0].pattern",
     "invalid regular expression 'a{4294967296}': the repetition number is too large"),
    ('{not: {body_conforms: {$defs: {d: {pattern: "' + "(" * 5000 + ")" * 5000 + '"}}}}}',  # RecursionError
     "not.body_conforms.$defs.d.pattern", "invalid regular expression '" + "(" * 5000),
    ('{header_matches: {X: "a{4294967296}"}}', "header_matches.X",  # was a traceback
     "invalid regular expression: the repetition number is too large"),
], ids=["pattern", "patternProperties", "too-large-a-repeat", "too-deep", "header_matches"])
def test_a_regex_that_does_not_compile_is_a_problem_at_its_field(tmp_path, when, field, message):
    """jsonschema searches with an inline schema's `pattern` (and `patternProperties` keys) on each request: one that
    does not compile passed validate, and every JSON body was then the mock's 500 (`unterminated character set`)."""
    [found] = problems_of(tmp_path, with_rules(f"    rules:\n      - when: {when}\n        error: boom\n"))
    assert found.startswith(f"{tmp_path / 'toy.yaml'}:13: routes[0].rules[0].when.{field}: {message}"), found


def _checks_after_a_first_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """toy.yaml loaded once with a cache of its own; the files whose schema is checked from then on."""
    from mockserver.scenario import load

    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "toy.yaml").write_text(GOOD)
    load_catalog([tmp_path / "toy.yaml"])
    checked: list[str] = []
    real = load.schema_problems
    monkeypatch.setattr(load, "schema_problems", lambda data, where: checked.append(where.file) or real(data, where))
    return checked


def test_a_file_found_valid_by_older_checks_is_checked_again(tmp_path, monkeypatch):
    """The cache of valid files is salted with the code that checks: a file a mockserver of the same version but
    without the regex check found valid was still trusted, its inline schemas never checked again."""
    checked = _checks_after_a_first_load(tmp_path, monkeypatch)
    older = tmp_path / "match.py"
    older.write_text("# the checks of another build\n")
    monkeypatch.setattr(read, "CHECKED_BY", (*read.CHECKED_BY[:-1], older))
    read.ValidityCache._salt.cache_clear()
    try:
        load_catalog([tmp_path / "toy.yaml"])
    finally:
        monkeypatch.undo()
        read.ValidityCache._salt.cache_clear()
    assert str(tmp_path / "toy.yaml") in checked and len(checked) > 1  # the bundled files too


def test_the_errors_a_check_gives_are_the_routes_own_after_the_files(tmp_path):
    """`errors_from_check`: `__code` prefers the ids the check declares after the ids the file names; an id the
    check gives that the file lacks is a problem at load, not a 500 later."""
    rules = ("    rules:\n      - when: {all: [{check: dcs.bad_encoding}, {not: {check: dcs.no_host}}]}\n"
             "        errors_from_check: true\n    can_fail_with: [boom]\n")
    [problem] = problems_of(tmp_path, with_rules(rules))
    assert problem.endswith(":13: routes[0].rules[0].when.check: no error '311' in the toy catalog"), problem
    declared = with_rules(rules).replace("  boom:", "  '311': {status: 400, title: Bad}\n  boom:")
    (tmp_path / "toy.yaml").write_text(declared)
    [route] = load_catalog([tmp_path]).apis["toy"].routes
    assert (route.errors, route.check_errors) == (("boom",), ("311",))  # not dcs.no_host's 100: under `not`,
    # a check answers no error; and chaos draws only `errors`


def test_an_unknown_check_is_told_with_every_check_there_is_sorted(tmp_path):
    """A misspelt check name: the problem lists the registered checks (sorted, comma-separated), so the right
    spelling is in the message."""
    rules = "    rules:\n      - when: {check: braze.count_ovr}\n        error: boom\n"
    [problem] = problems_of(tmp_path, with_rules(rules))
    said, known = problem.split(" (known: ")
    assert said.endswith(":13: routes[0].rules[0].when.check: no check named 'braze.count_ovr'"), problem
    names = known.removesuffix(")").split(", ")
    assert {"braze.count_over", "braze.json_over", "dcs.no_host"} <= set(names) and names == sorted(names), problem


def test_schema_problems_do_not_hide_the_files_other_problems(tmp_path):
    """One file with each kind of problem: the wrong type, the unknown key, the unknown error id and the
    template that does not compile are all reported, and the rule naming the broken error is not blamed."""
    text = GOOD.replace("  boom: {status: 500, title: Boom}",
                        "  boom: {status: '500', title: Boom}\n  bang: {status: 502, title: Bang, colour: red}")
    text += """\
  - id: other
    method: POST
    path: /other
    rules:
      - when: {header_present: X-A}
        error: no-such-error
      - when: {header_present: X-B}
        error: boom
    respond: {body: {a: "{{ oops( }}"}}
"""
    joined = "\n".join(problems_of(tmp_path, text))
    assert ":7: errors.boom.status: expected integer, got str" in joined
    assert ":8: errors.bang.colour: unknown key" in joined
    assert ":19: routes[1].rules[0].error: no error 'no-such-error' in the toy catalog" in joined
    assert ":22: routes[1].respond.body.a: template does not compile" in joined
    assert "no error 'boom'" not in joined, joined


def test_a_later_file_wins_on_the_same_id(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text("api: toy\nerrors:\n  boom: {status: 503, title: Busy}\n")
    assert load_catalog([tmp_path]).apis["toy"].errors["boom"].status == 503


def test_an_entry_a_later_file_replaces_is_still_checked(tmp_path):
    """Two files, the same ids: the later one serves, but the earlier one's problems are told, not hidden."""
    broken = (GOOD.replace("{message: hi}", "{message: '{{ nope( }}'}")
              .replace("boom: {status: 500, title: Boom}", "boom: {status: 500, title: Boom, headers: {X: '{{ x( }}'}}")
              + "modes:\n  down: {description: d, error: no-such-error}\n")
    (tmp_path / "a.yaml").write_text(broken)
    (tmp_path / "b.yaml").write_text(GOOD + "modes:\n  down: {description: d, error: boom}\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    told = sorted(str(problem).split(": ")[0:2] for problem in caught.value.problems)
    assert told == [[f"{tmp_path / 'a.yaml'}:12", "routes[0].respond.body.message"],
                    [f"{tmp_path / 'a.yaml'}:14", "modes.down.error"],
                    [f"{tmp_path / 'a.yaml'}:7", "errors.boom.headers.X"]], told


def test_validate_command_exits_1_and_prints_each_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("status: 500", "status: 5000") + "extra: 1\n")
    run = subprocess.run([sys.executable, "-m", "mockserver", "validate", str(path)], capture_output=True, text=True)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert any(line.startswith(f"{path}:13: extra: unknown key") for line in lines), lines
    assert any(line.startswith(f"{path}:7: errors.boom.status:") for line in lines), lines


def test_validate_accepts_the_bundled_files():
    bundled = Path(__file__).resolve().parents[2] / "mockserver" / "scenarios"
    run = subprocess.run([sys.executable, "-m", "mockserver", "validate", str(bundled)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_json_scenarios_work_too(tmp_path):
    path = tmp_path / "toy.json"
    path.write_text('{"api": "toy", "prefix": "/toy",\n "error_response": {"status": 500},\n "errors": {"x": 1}}')
    found = problems_of(tmp_path, path.read_text(), "toy.json")
    assert any("toy.json:3: errors.x: expected a mapping" in p for p in found), found


def test_a_file_found_valid_is_not_checked_again_until_it_changes(tmp_path, monkeypatch):
    from mockserver.scenario import load, read

    checked = _checks_after_a_first_load(tmp_path, monkeypatch)
    load_catalog([tmp_path / "toy.yaml"])
    assert checked == []  # the bundled files and this one are all known valid now
    (tmp_path / "toy.yaml").write_text(GOOD.replace("title: Boom", "title: Bang"))
    load_catalog([tmp_path / "toy.yaml"])
    assert checked == [str(tmp_path / "toy.yaml")]
    monkeypatch.setenv("MOCKSERVER_NO_CACHE", "1")
    load_catalog([tmp_path / "toy.yaml"])
    bundled = read.scenario_files([load.BUNDLED])
    assert sorted(checked[1:]) == sorted([str(p) for p in bundled] + [str(tmp_path / "toy.yaml")])


def test_a_broken_file_is_never_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    broken = GOOD.replace("status: 500", "status: nope")
    for _ in range(2):
        assert problems_of(tmp_path, broken)


@pytest.mark.parametrize(("mistake", "message"), [("path: /hello", "routes[0].path: 'hello' does not match"),
                                                  ("respond:", "routes[0].repsond: unknown key")])
def test_a_file_whose_other_entries_load_is_not_remembered_valid_either(tmp_path, monkeypatch, mistake, message):
    """A schema problem in one route leaves the rest checkable; the file is still not known valid after."""
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    broken = GOOD.replace(mistake, {"path: /hello": "path: hello", "respond:": "repsond:"}[mistake])
    for _ in range(2):
        found = problems_of(tmp_path, broken)
        assert len(found) == 1 and message in found[0], found


def test_a_body_value_that_is_not_json_is_refused_with_its_field(tmp_path):
    """YAML reads an unquoted 2020-01-01 as a date: in a body, that is a load problem, not a 500 later."""
    text = GOOD.replace("routes:", "error_item: {when: 2020-01-01}\nroutes:", 1)
    found = "\n".join(problems_of(tmp_path, text))
    assert "error_item.when: date datetime.date(2020, 1, 1) is not a JSON value" in found


def test_an_error_missing_what_the_apis_template_reads_is_a_problem_not_a_traceback(tmp_path):
    """Braze's error_response reads error.detail: an added error without it is refused at load, by line."""
    found = problems_of(tmp_path, 'api: braze\nerrors:\n  my-teapot: {status: 418, title: "I am a teapot"}\n',
                        "teapot.yaml")
    assert any(p.startswith(f"{tmp_path / 'teapot.yaml'}:3: errors.my-teapot: ") and "detail is undefined" in p
               for p in found), found


def test_an_override_that_cannot_render_is_one_problem_not_one_per_reference(tmp_path):
    """Braze's routes and modes name rate-limited: a user's broken rate-limited is still that id to them."""
    found = problems_of(tmp_path, 'api: braze\nerrors:\n  rate-limited: {status: 429, title: "Mine"}\n', "mine.yaml")
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'mine.yaml'}:3: errors.rate-limited"), found


@pytest.mark.parametrize(("option", "meant"), [("payload_limit_byte", "payload_limit_bytes"),
                                               ("rate_limit.users-trak", "rate_limit.users-track")])
def test_an_option_a_letter_away_from_a_bundled_one_is_a_problem(tmp_path, option, meant):
    found = problems_of(tmp_path, f"api: braze\noptions:\n  {option}: 10\n  my_own_option: 1\n", "mine.yaml")
    assert found == [f"{tmp_path / 'mine.yaml'}:3: options.{option}: unknown option; did you mean {meant!r}? (a "
                     "bundled option; this one would be taken as a new option, and change nothing)"]


def test_new_options_of_ones_own_files_are_not_each_others_typos(tmp_path):
    """Only the bundled keys are what a new key may be a typo of: two files of a user's may bring their own."""
    (tmp_path / "a.yaml").write_text("api: braze\noptions: {tenant_a_key: alpha}\n")
    (tmp_path / "b.yaml").write_text("api: braze\noptions: {tenant_b_key: beta}\n")
    assert load_catalog([tmp_path]).apis["braze"].options["tenant_b_key"] == "beta"


def test_a_key_is_the_name_as_written_even_where_yaml_reads_a_boolean(tmp_path):
    """`off:`, `no:`, `1.0:` under options are ids (a datastream, a partner), not False or 1.0 made text."""
    (tmp_path / "toy.yaml").write_text(GOOD + "options:\n  datastreams: {off: {a: 1}, no: {}, 1.0: {}, 7: {}}\n")
    api = load_catalog([tmp_path]).apis["toy"]
    assert sorted(api.options["datastreams"]) == ["1.0", "7", "no", "off"]


def test_a_value_that_breaks_a_pattern_is_told_what_the_field_wants(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("path: /hello", "path: hello"))
    assert found == [f"{tmp_path / 'toy.yaml'}:11: routes[0].path: 'hello' does not match '^/': "
                     "Path under the API, with {param} or {param:path}."], found


def test_a_condition_on_a_header_name_no_request_can_carry_is_refused(tmp_path):
    """A name outside RFC 9110's token characters ('€' cannot even be encoded) would fail per request."""
    rules = ("    rules:\n      - when: {header_present: \"€\"}\n        error: boom\n"
             "      - when: {header_matches: {\"X Y\": a}}\n        error: boom\n")
    found = problems_of(tmp_path, GOOD.replace("    respond:", rules + "    respond:"))
    assert [p.split(": ", 2)[1] for p in found] == ["routes[0].rules[0].when.header_present",
                                                    "routes[0].rules[1].when.header_matches"], found
    assert all("RFC 9110 token" in p for p in found), found


def test_a_date_header_in_a_file_is_refused_with_its_line(tmp_path):
    """Date is written by the mock at its clock: one set in a file would go out as a second Date."""
    found = problems_of(tmp_path, GOOD.replace("  boom: {status: 500, title: Boom}",
                                               "  boom:\n    status: 500\n    title: Boom\n    headers: {date: x}"))
    assert found == [f"{tmp_path / 'toy.yaml'}:10: errors.boom.headers.date: not a header a file sets: "
                     "the mock writes Date at its own clock, which POST /__admin/clock moves"]


def test_a_path_naming_a_parameter_twice_is_a_problem_not_a_traceback(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("path: /hello", "path: /hello/{id}/{id}"))
    assert len(found) == 1 and ":11: routes[0].path: the path parameter 'id' is named twice" in found[0], found


def test_an_error_template_that_fails_when_rendered_at_load_is_a_problem_not_a_traceback(tmp_path):
    """An error's own parts are rendered at load: `{{ 1 / 0 }}` fails there, in front of its author."""
    found = problems_of(tmp_path, GOOD.replace('message: "{{ error.title }}"', 'message: "{{ 1 / 0 }}"'))
    assert len(found) == 1 and ":7: errors.boom: its answer cannot be rendered: ZeroDivisionError: " in found[0], found


@pytest.mark.parametrize("prefix", ["/__admin", "/__session", "/__mine"])
def test_a_prefix_of_the_mocks_own_paths_is_refused(tmp_path, prefix):
    found = problems_of(tmp_path, GOOD.replace("prefix: /toy", f"prefix: {prefix}"))
    assert len(found) == 1 and ":2: prefix: " in found[0] and "/__" in found[0].split(": ", 2)[2], found


def test_a_prefix_clash_gives_the_prefix_line_beside_the_other_problems(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("api: toy\nprefix: /toy", "api: toy\ntitle: Toy\nprefix: /braze"))
    (tmp_path / "b.yaml").write_text(GOOD.replace("api: toy", "api: other").replace("prefix: /toy", "prefix: /other")
                                     .replace("    respond:", "    rules:\n      - when: {body_empty: true}\n"
                                              "        error: nope\n    respond:"))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    found = [str(p) for p in caught.value.problems]
    assert f"{tmp_path / 'a.yaml'}:3: prefix: /braze is already used by braze" in found, found
    assert any("b.yaml:14: routes[0].rules[0].error: no error 'nope'" in p for p in found), found


def test_a_yaml_merge_key_is_overridden_by_the_keys_beside_it(tmp_path):
    """YAML's `<<:` (merge key): the mapping's own keys win over the merged ones, as every YAML reader does."""
    text = GOOD.replace("  boom: {status: 500, title: Boom}",
                        "  boom: &boom {status: 500, title: Boom}\n  bust:\n    <<: *boom\n    title: Bust")
    (tmp_path / "toy.yaml").write_text(text)
    assert load_catalog([tmp_path], bundled=False).apis["toy"].errors["bust"].title == "Bust"
    twice = text.replace("    title: Bust", "    title: Bust\n    title: Again")
    assert ":11: (file): invalid YAML: duplicate key 'title'" in problems_of(tmp_path, twice)[0]


def test_a_key_repeated_in_a_json_file_is_named_a_json_problem(tmp_path):
    """YAML reads a JSON file for its lines: the repeated key it finds is the JSON's, not "invalid YAML"."""
    [found] = problems_of(tmp_path, '{\n  "api": "toy",\n  "api": "again"\n}\n', "toy.json")
    assert found == f"{tmp_path / 'toy.json'}:3: (file): invalid JSON: duplicate key 'api'"


def test_a_json_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    """Windows editors save UTF-8 with a BOM; YAML files read so already, JSON ones too (as VS Code does)."""
    path = tmp_path / "toy.json"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("routes:", "colour: red\nroutes:").encode())
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(yaml.safe_load(path.read_bytes()), indent=1).encode())
    with pytest.raises(ScenarioError) as caught:
        load_catalog([path], bundled=False)
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (16, "colour") and problem.message.startswith("unknown key"), problem


def test_an_unknown_top_level_key_hides_none_of_the_files_other_problems(tmp_path):
    text = GOOD.replace("prefix: /toy", "prefix: /toy\nprefx: /toy").replace("    respond:", (
        "    rules:\n      - when: {body_empty: true}\n        error: nope\n    respond:"))
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[1] for p in found] == ["prefx", "routes[0].rules[0].error"], found


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["yes", "off", "~", "null", "1e3", "0x1F", "2026-01-01",
                                                            "12:30", ".inf", "<<", "- a", "a: b", "{{ x }}", "'"]))
_documents = st.dictionaries(st.text(min_size=1, max_size=8), st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=6), inner,
                                                                          max_size=3), max_leaves=12), max_size=5)


@settings(max_examples=200, deadline=None)
@given(_documents, st.sampled_from([None, False, True]), st.sampled_from([".yaml", ".json"]))
def test_a_file_reads_as_yaml_safe_load_reads_it(document, flow, suffix):
    """The reader walks YAML's nodes itself (for the line of every key): it reads what PyYAML's safe_load reads, in
    every YAML style; a JSON file reads as json.loads reads it (YAML 1.1 takes `1e+16` for text, and libyaml refuses
    the surrogate pairs json.dumps writes for a character beyond U+FFFF); every key has its line."""
    text = json.dumps(document) if suffix == ".json" else yaml.safe_dump(document, default_flow_style=flow)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"doc{suffix}"
        path.write_text(text)
        value, lines = read.read_document(path)
    assert value == (json.loads(text) if suffix == ".json" else yaml.safe_load(text)) == document
    assert all(lines[(key,)] >= 1 for key in document)


def test_a_json_file_written_by_json_dumps_serves_its_emoji_and_its_exponent_numbers(tmp_path, make_client):
    """json.dumps writes 😀 as a surrogate pair (libyaml refused the file: "invalid YAML") and 10,000.0 as `10000.0`,
    1e16 as `1e+16` (YAML 1.1 read that as text: the schema refused a number)."""
    document = yaml.safe_load(GOOD.replace("message: hi", "message: hi 😀"))
    document["errors"]["boom"]["fields"] = {"limit": 1e16}
    document["errors"]["boom"]["headers"] = {"X-Limit": "{{ error.limit | int }}"}
    (tmp_path / "toy.json").write_text(json.dumps(document))
    client = make_client(scenarios=(str(tmp_path),))
    assert client.get("/toy/hello").json() == {"message": "hi 😀"}
    assert client.get("/toy/hello?__error=boom").headers["x-limit"] == "10000000000000000"


def test_a_json_file_may_name_its_schema_for_the_editor(tmp_path):
    """VS Code reads `$schema` in a JSON file (as the YAML extension reads the first-line comment)."""
    (tmp_path / "toy.json").write_text(json.dumps({"$schema": "/x/schema.json", **yaml.safe_load(GOOD)}))
    assert "toy" in load_catalog([tmp_path], bundled=False).apis


# -- the schema and the loader agree ---------------------------------------------------------------

FULL = GOOD.replace("prefix: /toy", """prefix: /toy
hosts: ["api.toy.test", "*.toy-eu.test"]
headers: {X-Request-Id: "{{ request_id() }}"}
not_found: boom
cors: {credentials: true, max_age: 60}""").replace("  boom: {status: 500, title: Boom}", """\
  boom: {status: 500, title: Boom, doc: toy.md#500, description: it broke, trigger: "?__error=boom"}
  slow-down:
    status: 429
    title: Slow Down
    fields: {detail: wait}
    headers: {Retry-After: "{{ mode.retry_after if mode is defined else 1 }}"}
    response: {status: 429, text: "{{ error.detail }}"}""").replace("    respond: {body: {message: hi}}", """\
    rules:
      - when: {header_absent: Authorization, query_count_over: {tag: 2}}
        error: boom
      - when: {any: [{header_matches: {Authorization: "^Basic "}}, {query_matches: {q: "[0-9]"}}]}
        error: [boom, slow-down]
      - when: {not: {query_present: [v]}, body_violates: {type: object, required: [name]}}
        respond: {status: 422, body: {got: "{{ request.json }}"}}
      - when: {all: [{body_unparseable: true}, {body_size_over: 10}]}
        error: slow-down
    can_fail_with: [slow-down]
    respond: {status: 200, headers: {X-Id: "{{ uuid() }}"}, body: {message: hi, who: "{{ fake.name() }}"}}
  - id: file
    method: [GET, HEAD]
    path: /files/{name}/{rest:path}
    respond: {text: "{{ request.path_params.rest }}"}
modes:
  flaky: {description: first two fail, error: boom, first: 2, routes: [hello]}
  limited: {description: a quota, error: slow-down, quota: {limit: 3, window: 60s, per: route}, retry_after: 5}
  slow: {description: late, delay: "uniform:1-5", duration: 1m}
  broken: {description: cut, fault: truncate, headers: {X-Mode: "{{ mode.name }}"}}""")

FULL_DATA = yaml.safe_load(FULL)
ODD_VALUES = [None, True, 0, -1, 7, 200, 600, 1.5, "", "x", "GET", "/x", "/x/{a}/{a}", "/__admin", "60s", "1x",
              "{{ 1 / 0 }}", "{{ x", "{{ nothing.here }}", "([", "reset", [], ["x"], {}, {"a": 1},
              {"type": "object"}, {"type": "nope"}, {"limit": 0, "window": 0}]


def _places(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


PLACES = [p for p in _places(FULL_DATA) if p]


@st.composite
def mutated_files(draw):
    """The full file with one to three of its values replaced, keys removed or unknown keys added."""
    data = copy.deepcopy(FULL_DATA)
    for _ in range(draw(st.integers(1, 3))):
        *parents, last = draw(st.sampled_from(PLACES))
        try:
            holder = functools.reduce(operator.getitem, parents, data)
            how = draw(st.sampled_from(["replace", "remove", "add"]))
            if how == "replace":
                holder[last] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
            elif how == "remove" and isinstance(holder, dict):
                del holder[last]
            elif how == "add" and isinstance(holder, dict):
                holder["colour"] = "red"
        except (KeyError, IndexError, TypeError):  # an earlier change removed or replaced the way there
            pass
    return data


def test_the_full_file_is_valid_for_both():
    assert read.schema_validator().is_valid(FULL_DATA)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "toy.yaml").write_text(FULL)
        assert "toy" in load_catalog([Path(folder)], bundled=False).apis


@settings(max_examples=150, deadline=None)
@given(mutated_files(), st.sampled_from(["toy.yaml", "toy.json"]))
def test_the_loader_refuses_what_the_schema_refuses_and_never_fails_otherwise(data, name):
    """What the schema refuses the loader refuses, with `file:line: field: message` for each problem;
    what the loader accepts the schema accepts; whatever the file, no other exception (a traceback)."""
    schema_valid = read.schema_validator().is_valid(data)
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {"MOCKSERVER_NO_CACHE": "1"}):
        path = Path(folder) / name
        path.write_text(json.dumps(data, indent=1) if name.endswith(".json") else yaml.safe_dump(data))
        try:
            load_catalog([path], bundled=False)
        except ScenarioError as refused:
            assert refused.problems
            assert all(p.file == str(path) and p.line >= 1 and p.message for p in refused.problems)
        else:
            assert schema_valid, list(read.schema_validator().iter_errors(data))


TEXT_PLACES = [p for p in PLACES if isinstance(functools.reduce(operator.getitem, p, FULL_DATA), str)]
ODD_TEXTS = ["/x/{a}/{a}", "/__admin", "{{ 1 / 0 }}", "{{ x", "([", "1x"]


def test_every_text_of_the_file_made_odd_is_a_problem_or_fine_never_a_traceback():
    """Every string the loader reads as a template, path, pattern, duration or reference, in turn made
    a value that breaks one of them: the schema and the loader agree, and nothing else is raised."""
    for place in TEXT_PLACES:
        for odd in ODD_TEXTS:
            data = copy.deepcopy(FULL_DATA)
            *parents, last = place
            functools.reduce(operator.getitem, parents, data)[last] = odd
            schema_valid = read.schema_validator().is_valid(data)
            with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {"MOCKSERVER_NO_CACHE": "1"}):
                path = Path(folder) / "toy.yaml"
                path.write_text(yaml.safe_dump(data))
                try:
                    load_catalog([path], bundled=False)
                except ScenarioError as refused:
                    assert all(p.line >= 1 for p in refused.problems), (place, odd)
                else:
                    assert schema_valid, (place, odd)


def test_a_value_of_neither_accepted_type_is_told_the_types_it_may_have(tmp_path):
    """`method: 7`, `error: 5`: a string or a list of them, said so (it was "7 is not valid here")."""
    text = GOOD.replace("    method: GET", "    method: 7").replace("    respond:", (
        "    rules:\n      - when: {header_present: 5}\n        error: 5\n    respond:"))
    found = [p.split(": ", 1)[1] for p in problems_of(tmp_path, text)]
    assert found == ["routes[0].method: expected string or a list, got int",  # in the file's order
                     "routes[0].rules[0].when.header_present: expected string or a list, got int",
                     "routes[0].rules[0].error: expected string or a list, got int"], found


@pytest.mark.parametrize(("quote", "later"), [('"', "hi"), ("'", "hi"), ('"', '"hi"'), ("'", "'hi'")])
def test_an_unclosed_quote_is_blamed_on_its_own_line(tmp_path, quote, later):
    """YAML reads on past the line a quote opens (up to the next quote, or the end): the line to fix is that one."""
    text = GOOD.replace("title: Boom}", f"title: {quote}Boom}}").replace("message: hi", f"message: {later}")
    found = problems_of(tmp_path, text)
    assert len(found) == 1 and ":7: (file): invalid YAML: a quote opened on this line " in found[0], found


def test_a_host_another_api_already_serves_is_a_clash_with_its_line(tmp_path):
    """The first API with the host answered it: the other one was never reached by that Host header."""
    text = GOOD.replace("prefix: /toy", 'prefix: /toy\nhosts: ["api.toy.test", "REST.*.braze.com"]')
    assert problems_of(tmp_path, text) == [
        f"{tmp_path / 'toy.yaml'}:3: hosts[1]: REST.*.braze.com is already served by braze"]


# -- names a template reads, a check's arguments, hosts that overlap (r12) --------------------------

def test_a_template_reading_a_name_no_context_has_is_refused_with_the_closest_names(tmp_path):
    """`{{ erorr.title }}` rendered as empty text on every request: now each such name is a problem at its
    line, with difflib's closest names; an attribute (`error.titel`) is the value's business, not the file's."""
    text = GOOD.replace('body: {message: "{{ error.title }}"}',
                        'body: {message: "{{ erorr.title }}", t: "{{ error.titel }}", p: "x {{ reqest.path }}"}') \
        .replace("{message: hi}", '{id: "{{ fak.uuid() }}"}')
    file = tmp_path / "toy.yaml"
    assert problems_of(tmp_path, text) == [
        f"{file}:5: error_response.body.message: no name 'erorr' in this template's context "
        "(did you mean 'error' or 'errors'?)",
        f"{file}:5: error_response.body.p: no name 'reqest' in this template's context "
        "(did you mean 'request' or 'request_id'?)",
        f"{file}:12: routes[0].respond.body.id: no name 'fak' in this template's context (did you mean 'fake'?)"]


def test_names_a_template_binds_or_guards_are_not_unknown(tmp_path):
    """`{% set %}` and loops bind names (jinja2.meta); `is defined` and `default` say the author knows it may lack."""
    body = ('{message: "{% set n = 2 %}{{ n }}{% for e in errors %}{{ e.id }}{{ loop.index }}{% endfor %}'
            '{% if extra is defined %}{{ extra }}{% endif %}{{ other | default(1) }}"}')
    (tmp_path / "toy.yaml").write_text(GOOD.replace('{message: "{{ error.title }}"}', body))
    assert "toy" in load_catalog([tmp_path]).apis


def test_an_error_s_names_are_only_in_an_error_s_answer(tmp_path):
    """A route's answer or the API's headers have no `error`: the hint says where it is."""
    text = GOOD.replace("prefix: /toy", 'prefix: /toy\nheaders: {X-Id: "{{ error.id }}"}')
    found = problems_of(tmp_path, text)
    assert found == [f"{tmp_path / 'toy.yaml'}:3: headers.X-Id: no name 'error' in this template's context "
                     "(only an error's answer has it: error_response, an error's `response` or `headers`, error_item)"]


def test_names_an_api_module_gives_are_for_that_api_only(tmp_path):
    """braze's hook gives `rate_limit` and its users_track handler `processed`: a user's override of the bundled
    route may read them; a new API (no hook, no handler of braze's) may not."""
    (tmp_path / "braze.yaml").write_text(
        "api: braze\nroutes:\n  - id: users-track\n    method: POST\n    path: /users/track\n"
        "    handler: braze.users_track\n"
        '    respond: {status: 201, body: {n: "{{ processed }}", left: "{{ rate_limit.remaining }}"}}\n')
    assert "braze" in load_catalog([tmp_path]).apis
    found = problems_of(tmp_path, GOOD.replace("{message: hi}", '{left: "{{ rate_limit.remaining }}"}'))
    assert found == [f"{tmp_path / 'toy.yaml'}:12: routes[0].respond.body.left: no name 'rate_limit' in this "
                     "template's context (known: base_url, digits, fake, hex, mode, now, now_ms, number, options, "
                     "randint, request, request_id, seed, session, token, uuid)"]


def test_a_handler_s_names_are_for_the_answer_of_its_own_route_only(tmp_path):
    """`processed` is what braze.users_track's Success gives the route's `respond`: a route without that handler,
    or a rule's `respond` (answered before the handler runs), would render it as empty text on every request."""
    text = ("api: braze\nroutes:\n  - id: other\n    method: POST\n    path: /other\n"
            '    respond: {status: 201, body: {n: "{{ processed }}"}}\n'
            "  - id: users-track\n    method: POST\n    path: /users/track\n    handler: braze.users_track\n"
            '    rules:\n      - when: {header_absent: X-Any}\n        respond: {body: {n: "{{ processed }}"}}\n'
            '    respond: {status: 201, body: {n: "{{ processed }}"}}\n')
    file = tmp_path / "braze.yaml"
    assert [p.split(" (")[0] for p in problems_of(tmp_path, text, "braze.yaml")] == [
        f"{file}:6: routes[0].respond.body.n: no name 'processed' in this template's context",
        f"{file}:13: routes[1].rules[0].respond.body.n: no name 'processed' in this template's context"]


def test_the_declared_names_are_what_template_context_gives():
    """TEMPLATE_NAMES (what the loader lets a template read) follows template_context, plus modes.py's `mode`."""
    from types import SimpleNamespace

    from mockserver.engine.context import TEMPLATE_NAMES, RequestContext, template_context

    generator = SimpleNamespace(uuid=1, hex=1, request_id=1, token=1, digits=1, integer=1)
    ctx = RequestContext(api=None, method="GET", path="/", raw_query=b"", headers=[], body=b"",  # type: ignore[arg-type]
                         flags=None, session="s", seed=0, number=1, base_url="", host="", client_ip="",  # type: ignore[arg-type]
                         state=None, clock=SimpleNamespace(now=1, now_ms=1), generator=generator,  # type: ignore[arg-type]
                         options={})
    assert set(template_context(ctx)) | {"mode"} == TEMPLATE_NAMES


identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in {"true", "false", "none", "omit", "range", "dict", "lipsum", "cycler", "joiner", "namespace",
                        "in", "and", "or", "not", "if", "else", "is", "for", "set", "endfor", "endif", "loop"})


@settings(max_examples=60, deadline=None)
@given(identifiers, st.sampled_from(["{{ N }}", "x {{ N.a }} y", "{{ N | upper }}", "{% if N %}1{% endif %}",
                                     "{{ [1, N] | join }}"]))
def test_a_name_is_unknown_unless_the_context_has_it_or_the_template_binds_it(name, form):
    from mockserver.engine.render import unknown_names

    known = frozenset({"request", "error"})
    found = unknown_names(form.replace("N", name), "f", known)
    assert [e.message.split("'")[1] for e in found] == ([] if name in known else [name])
    assert unknown_names("{% set " + name + " = 1 %}" + form.replace("N", name), "f", known) == []


def test_a_check_s_arguments_are_checked_at_load(tmp_path):
    """Each check declares what it reads where it is registered: a name it does not take, a value of the wrong
    kind, a missing one, are problems with their line (they were a KeyError on the first request)."""
    rules = """\
    rules:
      - when: {check: {name: braze.count_over, args: {fields: [a], limt: 5}}}
        error: boom
      - when: {not: {any: [{check: {name: braze.json_over, args: {path: [a], bytes: "12"}}}]}}
        error: boom
      - when: {check: braze.bad_datetime_query}
        error: boom
      - when: {check: {name: braze.unknown_campaign, args: {in: qeury, field: true}}}
        error: boom
      - when: {check: {name: dcs.no_host, args: {x: 1}}}
        error: boom
      - when: {check: {name: braze.no_recipients, args: {ids: [a]}}}
        error: boom
"""
    file = tmp_path / "toy.yaml"
    found = problems_of(tmp_path, with_rules(rules))
    assert found == [
        f"{file}:13: routes[0].rules[0].when.check.args.limt: braze.count_over takes no argument 'limt' "
        "(did you mean 'limit'? it takes: fields, limit)",
        f"{file}:13: routes[0].rules[0].when.check: braze.count_over needs the argument 'limit'",
        f"{file}:15: routes[0].rules[1].when.not.any[0].check.args.bytes: braze.json_over wants an integer here, "
        "not '12'",
        f"{file}:17: routes[0].rules[2].when.check: braze.bad_datetime_query needs the argument 'name'",
        f"{file}:19: routes[0].rules[3].when.check.args.in: braze.unknown_campaign wants one of body, query here, "
        "not 'qeury'",
        f"{file}:19: routes[0].rules[3].when.check.args.field: braze.unknown_campaign wants a string here, not True",
        f"{file}:21: routes[0].rules[4].when.check.args.x: dcs.no_host takes no argument 'x' (it takes: none)",
    ], found


def test_two_apis_hosts_that_tie_on_one_host_are_refused_naming_both_lines(tmp_path):
    """The most specific pattern wins a Host (an exact name, then more literal characters): `*.adobe.io` beside
    Reactor's `reactor.adobe.io`, `*.x.demdex.net` beside DCS's `*.demdex.net` load. `api*.toy.test` and
    `*.eu.toy.test` have 12 literal characters each and both match api.eu.toy.test: refused, both lines named."""
    (tmp_path / "other.yaml").write_text(GOOD.replace("api: toy", "api: other").replace("/toy", "/other")
                                         .replace("prefix: /other", 'prefix: /other\nhosts: ["api*.toy.test"]'))
    (tmp_path / "toy.yaml").write_text(
        GOOD.replace("prefix: /toy", 'prefix: /toy\nhosts: ["*.adobe.io", "*.x.demdex.net", "*.eu.toy.test"]'))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'toy.yaml'}:3: hosts[2]: *.eu.toy.test and other's api*.toy.test ({tmp_path / 'other.yaml'}:3) "
        "can match one Host, and neither is more specific (an exact name, then more literal characters, wins): "
        "make one of them more specific"]


hostish = st.text(alphabet="ab.*?", max_size=7)


@settings(max_examples=300, deadline=None)
@given(hostish, hostish, st.text(alphabet="ab.", max_size=8))
def test_globs_overlap_whenever_one_host_matches_both(first, second, host):
    import fnmatch

    from mockserver.scenario.load import globs_overlap

    assert globs_overlap(first, second) == globs_overlap(second, first)
    if fnmatch.fnmatchcase(host, first) and fnmatch.fnmatchcase(host, second):
        assert globs_overlap(first, second)
    if "*" not in first + second and "?" not in first + second:
        assert globs_overlap(first, second) == (first == second)


@settings(max_examples=200, deadline=None)
@given(hostish, st.lists(st.text(alphabet="ab.", max_size=3), min_size=8, max_size=8))
def test_a_pattern_overlaps_every_host_it_matches(pattern, fills):
    """A host made from the pattern (each wildcard filled) overlaps it: no false 'cannot meet'."""
    from mockserver.scenario.load import globs_overlap

    host, fill = "", iter(fills)
    for c in pattern:
        host += next(fill) if c == "*" else ((next(fill) + "a")[0] if c == "?" else c)
    assert globs_overlap(pattern, host)


def test_an_unknown_handler_beside_a_template_is_one_problem(tmp_path):
    """The list of known handlers once shadowed the names a route's templates may read (a crash at load)."""
    found = problems_of(tmp_path, GOOD.replace("    respond:", "    handler: nope\n    respond:").replace(
        "{message: hi}", '{id: "{{ uuid() }}"}'))
    assert len(found) == 1 and ":12: routes[0].handler: no handler named 'nope' (known: braze." in found[0], found


# -- every mistake at once: one does not hide its siblings' ------------------------------------------

def broken(n: int) -> str:
    """A template that does not compile, a pattern that does not either, a name nothing has (each planted
    one its own: two planted ids alike would make a reference that holds)."""
    return f"{{{{ x{n}( }}}}"


def _field(place: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in place).lstrip(".")


def _problems_with(places) -> list:
    data = copy.deepcopy(FULL_DATA)
    for n, (*parents, last) in enumerate(places):
        functools.reduce(operator.getitem, parents, data)[last] = broken(n)
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {"MOCKSERVER_NO_CACHE": "1"}):
        path = Path(folder) / "toy.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        try:
            load_catalog([path], bundled=False)
        except ScenarioError as refused:
            return refused.problems
    return []


def _reported_alone(place: tuple):
    """The line of the problem naming `place` when it is the file's only mistake, else None."""
    lines = [p.line for p in _problems_with([place]) if p.field == _field(place)]
    return lines[0] if lines else None


@functools.cache
def alone() -> dict[tuple, int]:
    """Each text told at its own field when broken alone, and its line (computed when first asked: not
    at collection, in every xdist worker). Not `api`: a file whose API has no name is one problem."""
    return {place: line for place in TEXT_PLACES if place != ("api",) and (line := _reported_alone(place)) is not None}


def test_most_texts_of_the_full_file_broken_alone_are_told_at_their_own_field():
    assert len(alone()) >= 20, sorted(map(_field, alone()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.deferred(lambda: st.sampled_from(sorted(alone(), key=_field))), min_size=2, max_size=6, unique=True))
def test_k_mistakes_planted_at_once_give_k_problems_each_at_its_own_line(places):
    """What is told of a mistake alone is told of it beside others: a broken body member does not
    hide its sibling's, nor a bad pattern the rule's other conditions, nor one error another."""
    found = {(p.field, p.line) for p in _problems_with(places)}
    assert {(_field(place), alone()[place]) for place in places} <= found, found


def test_two_templates_of_one_body_that_do_not_compile_are_two_problems(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("{message: hi}", '{a: "{{ x | foo }}", b: "{{ 1 is bar }}"}'))
    assert [p.split(": ", 2)[1] for p in found] == ["routes[0].respond.body.a", "routes[0].respond.body.b"], found


def test_every_bad_pattern_and_check_of_a_rule_is_told(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("    respond:", """\
    rules:
      - when: {header_matches: {a: "(", b: "["}, check: toy.nope, any: [{query_matches: {q: "("}}]}
        error: boom
    respond:"""))
    fields = [p.split(": ", 2)[1] for p in found]
    assert fields == ["routes[0].rules[0].when.header_matches.a", "routes[0].rules[0].when.header_matches.b",
                      "routes[0].rules[0].when.check", "routes[0].rules[0].when.any[0].query_matches.q"], found


def test_an_error_s_own_answer_is_told_at_its_own_field_and_the_api_s_once(tmp_path):
    """An error's own `response` was told as `errors.ID.body...` (no `response`), and a broken
    `error_response` once more for each error with its own headers."""
    text = GOOD.replace('{message: "{{ error.title }}"}', '{message: "{{ error.title( }}"}').replace(
        "  boom: {status: 500, title: Boom}", """\
  boom: {status: 500, title: Boom, headers: {X-A: "{{ nope }}"}}
  bust: {status: 500, title: Bust, response: {body: {a: "{{ a( }}", b: "{{ b( }}"}}}""")
    fields = [p.split(": ", 2)[1] for p in problems_of(tmp_path, text)]
    assert fields == ["error_response.body.message", "errors.boom.headers.X-A", "errors.bust.response.body.a",
                      "errors.bust.response.body.b"], fields


def test_a_route_after_one_the_schema_refuses_is_told_at_its_own_field_and_line(tmp_path):
    """The refused route was taken out of the list, and the next one told as routes[0], at its line."""
    text = GOOD.replace("    method: GET", "    method: 7") + """\
  - id: second
    method: GET
    path: /second
    respond: {body: {a: "{{ a( }}"}}
"""
    found = problems_of(tmp_path, text)
    assert found[-1].startswith(f"{tmp_path / 'toy.yaml'}:16: routes[1].respond.body.a: template does not"), found


def test_a_top_level_value_the_schema_refuses_hides_nothing_else(tmp_path):
    """`prefix: 7` stopped the check there: the route's broken template came only once it was mended."""
    text = GOOD.replace("prefix: /toy", "prefix: 7").replace("{message: hi}", '{a: "{{ a( }}"}')
    fields = [p.split(": ", 2)[1] for p in problems_of(tmp_path, text)]
    assert fields == ["prefix", "routes[0].respond.body.a"], fields


def test_an_entry_the_schema_refuses_still_has_its_other_mistakes_told(tmp_path):
    """`method: 7` left the route out whole: its broken template, unknown error id and bad pattern came
    only once the method was mended. So for an error's and a mode's."""
    text = GOOD.replace("    method: GET", "    method: 7").replace("    respond: {body: {message: hi}}", """\
    rules:
      - when: {header_matches: {a: "("}}
        error: nope
    can_fail_with: [nada]
    respond: {body: {a: "{{ a( }}"}}""").replace("  boom: {status: 500, title: Boom}", """\
  boom: {status: "500", title: Boom, headers: {X-A: "{{ b( }}"}}""") + """\
modes:
  odd: {description: x, fault: sideways, headers: {X-M: "{{ c( }}"}, error: nix, routes: [gone]}
"""
    fields = [p.split(": ", 2)[1] for p in problems_of(tmp_path, text)]
    assert fields == ["errors.boom.status", "errors.boom.headers.X-A", "routes[0].method",  # in the file's order
                      "routes[0].rules[0].when.header_matches.a", "routes[0].rules[0].error",
                      "routes[0].can_fail_with[0]", "routes[0].respond.body.a",
                      "modes.odd.fault", "modes.odd.headers.X-M", "modes.odd.error", "modes.odd.routes[0]"], fields


def test_every_item_of_a_list_the_schema_refuses_is_told(tmp_path):
    found = problems_of(tmp_path, GOOD.replace("    method: GET", "    method: [GTE, PTU]"))
    assert [p.split(": ", 2)[1] for p in found] == ["routes[0].method[0]", "routes[0].method[1]"], found


# -- what a third audit (session 16) reached: tracebacks, hangs and answers no server can send -----------------
@pytest.mark.parametrize(("respond", "field", "message"), [
    ('{status: "abc"}', "routes[0].respond.status", "'abc' is not an HTTP status (100 to 599)"),
    ("{status: 1000}", "routes[0].respond.status", "1000 is not an HTTP status (100 to 599)"),
    ('{headers: {"Bad Name:": x}}', "routes[0].respond.headers.Bad Name:", "is not a header name"),
    ('{headers: {Content-Length: "5"}}', "routes[0].respond.headers.Content-Length", "is the server's to write"),
    ('{headers: {X-A: "a\\r\\nSet-Cookie: x=1"}}', "routes[0].respond.headers.X-A", "no CR, LF or NUL"),
])
def test_a_response_no_server_can_send_is_refused_at_load(tmp_path, respond, field, message):
    """`status: "abc"` was a ValueError traceback from validate (a plain 500 from /__admin/reload); a status of
    1000, a header name with a space or a value with CR LF loaded, and each request then got an empty reply."""
    [found] = problems_of(tmp_path, GOOD.replace("respond: {body: {message: hi}}", "respond: " + respond))
    assert f"toy.yaml:12: {field}: " in found and message in found, found


@pytest.mark.parametrize("duration", [".nan", ".inf"])
def test_a_mode_duration_that_is_not_finite_is_a_problem(tmp_path, duration):
    text = GOOD + f"modes:\n  odd:\n    description: x\n    error: boom\n    retry_after: {duration}\n"
    [found] = problems_of(tmp_path, text)
    assert "toy.yaml:17: modes.odd.retry_after: not a finite duration" in found, found


@pytest.mark.parametrize("duration", ["1.0e+300", "9999999999999999999s"])
def test_a_mode_duration_past_the_year_9999_is_a_problem(tmp_path, duration):
    """It would be the Retry-After of the mode's answers: 301 digits, past any client's integer."""
    text = GOOD + f"modes:\n  odd:\n    description: x\n    error: boom\n    duration: {duration}\n"
    found = problems_of(tmp_path, text)
    assert any("toy.yaml:17: modes.odd.duration: " in p and "year 9999" in p for p in found), found


def test_a_schema_referring_to_a_url_is_refused(tmp_path):
    """jsonschema fetched it on each request, blocking the server (23 s with a remote that held the connection)."""
    rules = ('    rules:\n      - when: {body_violates: {$ref: "http://127.0.0.1:1/x.json"}}\n        error: boom\n')
    [found] = problems_of(tmp_path, with_rules(rules))
    assert "body_violates: a $ref to another document is not fetched (http://127.0.0.1:1/x.json)" in found
    local = ('    rules:\n      - when: {body_violates: {$defs: {a: {type: object}}, $ref: "#/$defs/a"}}\n'
             '        error: boom\n')
    (tmp_path / "toy.yaml").write_text(with_rules(local))
    load_catalog([tmp_path / "toy.yaml"])


@pytest.mark.parametrize(("text", "messages"), [
    # PyYAML 6.0.4 stops at its own depth limit, with a line; older ones run into Python's recursion limit
    ("api: toy\nx: " + "[" * 2000 + "]" * 2000 + "\n",
     ("invalid YAML: nested deeper than Python can read", "invalid YAML: exceeded maximum nesting depth")),
    ("api: toy\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"  # a "billion laughs": 9^9 once expanded
     + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
     ("more than 1,000,000 values once its aliases are expanded",)),
])
def test_a_file_too_deep_or_too_large_once_expanded_is_one_problem(tmp_path, text, messages):
    """RecursionError and MemoryError tracebacks before (a "billion laughs" took 2 GB in 20 s)."""
    found = problems_of(tmp_path, text)
    assert len(found) == 1 and any(message in found[0] for message in messages), found


def test_a_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path):
    """A FIFO waited for a writer for ever; /dev/zero read until memory ran out."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError) as caught:
        load_catalog([fifo])
    assert [str(p) for p in caught.value.problems] == [f"{fifo}:1: (file): cannot read: not a regular file"]


def test_a_constant_folded_at_compile_time_no_longer_hangs_validate_and_fails_when_rendered(tmp_path):
    """Jinja folds `9 ** 99999999` and `'a' * 10**10` when a template compiles: validate hung, or took all the
    memory. `*` and `**` are the sandbox's now, which refuses what would make over ten million digits or items;
    a template reading nothing of the request is rendered once at load, so a file giving one is refused there."""
    from mockserver.engine.render import compile_tree, unknown_names

    for source in ("{{ 9 ** 99999999 }}", "{{ 'a' * 10**10 }}", "{{ [1] * 10**9 }}"):
        tree = compile_tree(source)
        with pytest.raises(Exception, match="too large"):
            tree.render({})
        [told] = unknown_names(source, "body", frozenset({"request"}))
        assert told.message.startswith("template fails on every render: SecurityError: ") and "too large" in \
            told.message
    assert compile_tree("{{ 2 ** 10 }}").render({}) == 1024 and compile_tree("{{ 'ab' * 3 }}").render({}) == "ababab"


def test_a_value_that_is_not_finite_is_not_json_in_a_body_or_an_errors_fields(tmp_path):
    """`f: .nan` in an error's fields printed a bare NaN in its body (not JSON); so did `.inf` in a respond body."""
    text = GOOD.replace("  boom: {status: 500, title: Boom}", "  boom: {status: 500, title: Boom, fields: {f: .nan}}")
    text = text.replace("respond: {body: {message: hi}}", "respond: {body: {message: .inf}}")
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 1)[1] for p in found] == ["errors.boom.fields.f: nan is not a JSON number: quote it to "
                                                    "send a string", "routes[0].respond.body.message: inf is not "
                                                    "a JSON number: quote it to send a string"], found


def test_an_option_of_another_kind_than_the_bundled_one_is_a_problem(tmp_path):
    """`throttle_rate: fast` loaded, and every clientless request was then the mock's 500 (a float of "fast")."""
    (tmp_path / "mine.yaml").write_text("api: clientless\noptions:\n  throttle_rate: fast\n  throttle_burst: 20\n")
    (tmp_path / "braze.yaml").write_text("api: braze\noptions:\n  rate_limit.default: {limit: x, window_s: 60}\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert sorted(p.message for p in caught.value.problems) == [  # inside an option, Braze's own check says it
        "'x' is not a whole number of requests (0 or more, without a decimal point; 0: every request is refused)",
        "text where the option takes a number (as 1)"]
    assert {p.field for p in caught.value.problems} == {"options.throttle_rate", "options.rate_limit.default.limit"}


def test_a_negative_number_where_the_bundled_option_is_not_is_a_problem(tmp_path):
    """`throttle_rate: -1` loaded: a bucket that fills as time passes. Zero stays allowed (a limit of 0 is a way to
    be refused at once), and so does a negative number where the bundled one is negative."""
    (tmp_path / "mine.yaml").write_text("api: clientless\noptions:\n  throttle_rate: -1\n  throttle_burst: 0\n"
                                        "  regcode_length: -0.5\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert sorted((p.field, p.message) for p in caught.value.problems) == [
        ("options.regcode_length", "-0.5 is negative where the option takes a number of 0 or more (as 7)"),
        ("options.throttle_rate", "-1 is negative where the option takes a number of 0 or more (as 1)")]


def test_null_a_number_not_finite_and_list_or_entry_members_of_another_kind_are_problems(tmp_path):
    """Each loaded and then answered 500 on every request that read it (`max_get_bytes: null`: int(None);
    `authn_ttl_s: .inf`: int(inf); `denied_resources: null`: iterated), or turned a check off
    (`require_api_key: null` read as false, `throttle_burst: .nan` comparing false). Null stays allowed where the
    bundled value is text; a list's scalars are held to their shape only (`[POST, 1]`: modules read them with str())."""
    (tmp_path / "dcs.yaml").write_text("api: dcs\noptions:\n  max_get_bytes: null\n  org_id_pattern: null\n"
                                       "  default_partner: mine\n  partners: {mine: {id: 1, data_sources: [1, 2]},"
                                       " other: {referers: ['a.com', 1]}}\n")
    (tmp_path / "pass.yaml").write_text("api: clientless\noptions:\n  authn_ttl_s: .inf\n  throttle_burst: .nan\n"
                                        "  authorization_required_methods: [POST, 1]\n  denied_resources: null\n"
                                        "  users: [{username: a, metadata: x}]\n")
    (tmp_path / "tags.yaml").write_text("api: reactor\noptions:\n  require_api_key: null\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert sorted((Path(p.file).name, p.field, p.message) for p in caught.value.problems) == [
        ("dcs.yaml", "options.max_get_bytes", "null where the option takes a number (as 8192); leave it out to keep "
         "that value"),
        ("dcs.yaml", "options.partners.other.referers[1]",  # DCS's own check: the loader's is not told again
         "1 where a referer is a host name or pattern (text, as '*.example.com')"),
        ("pass.yaml", "options.authn_ttl_s", "inf is not a finite number"),
        ("pass.yaml", "options.denied_resources", "null where the option takes a list (as ['denied-resource']); [] "
         "for none; leave it out to keep that value"),
        ("pass.yaml", "options.throttle_burst", "nan is not a finite number"),
        ("pass.yaml", "options.users[0].metadata", "text where the option takes a mapping (as {'zip': ['12345'], "
         "'householdID': '3456', 'channelID': ['channel-1', 'channel-2']})"),
        ("tags.yaml", "options.require_api_key", "null where the option takes true or false (as True); leave it out "
         "to keep that value")]


@pytest.mark.parametrize("api, option", [
    ("dcs", "gcl: {'12': {deletedDate: 2020-08-15T00:00:00Z}}"),  # YAML reads these two as a datetime and a date
    ("dcs", "gcl: {'12': {deletedDate: 2020-08-15}}"),
    ("dcs", "denylist: {data_sources: ['999999']}"), ("braze", "blacklisted_external_ids: [12345]"),
    ("clientless", "denied_resources: [12345]"), ("clientless", "unapproved_software_ids: [12345]"),
    ("clientless", "users: [{username: a, password: b, metadata: {zip: '12345', householdID: 3456, mine: [1]}}]"),
    ("edge", "consent_standards: {Adobe: {versions: [1.0, 2.0]}}"),
    ("reactor", "public_extension_packages: [{name: x, display_name: X, version: 1.0, platform: web}]"),
])
def test_scalars_a_module_reads_with_str_load_in_lists_and_entries(tmp_path, api, option):
    """Each loaded and answered as meant before the loader held lists and named entries to the bundled kinds, which
    refused them for a while (a reviewer's finding): a list's scalars and an entry's keys are held to their shape."""
    (tmp_path / "mine.yaml").write_text(f"api: {api}\noptions:\n  {option}\n")
    assert api in load_catalog([tmp_path]).apis


def test_a_route_the_one_before_always_answers_is_a_problem(tmp_path):
    """Two routes of one method and path (parameters named apart): the second never answers; a method
    named twice in one route is told too."""
    text = GOOD + ("  - id: again\n    method: [POST, GET]\n    path: /hello\n    respond: {body: {}}\n"
                   "  - id: twice\n    method: [PUT, PUT]\n    path: /put\n    respond: {body: {}}\n")
    found = problems_of(tmp_path, text)
    assert len(found) == 2, found
    assert found[0].endswith("routes[1].path: GET /hello is answered by route 'hello' "
                             f"({tmp_path / 'toy.yaml'}:9), which comes first: this route never sees it")
    assert found[1].endswith("routes[2].method[1]: PUT is named twice")


@pytest.mark.parametrize(("first", "then", "shadowed"), [
    ("[GET] /hello", "[HEAD] /hello", "HEAD"),  # a GET route answers HEAD
    ("[GET] /files/{rest:path}", "[GET, POST] /files/{name}", "GET"),  # any segment, slashes too
    ("[GET] /items/{id}", "[GET] /items/special", "GET"),
    ("[PUT] /a/{x}/{y}", "[PUT] /a/b/{z}", "PUT"),
    ("[GET] /items/special", "[GET] /items/{id}", None),  # the parameter takes other paths
    ("[GET] /files/{name}", "[GET] /files/{rest:path}", None),  # one with a slash
    ("[GET] /files/{dir}/{name}", "[GET] /files/{rest:path}", None),  # one without, or with two
    ("[GET] /files/{a:path}", "[GET] /files/{b:path}", "GET"),
    ("[GET] /items/{id}.json", "[GET] /items/{id}", None),
    ("[GET] /items/{id}", "[HEAD, POST] /items/{id}/x", None),
])
def test_a_route_an_earlier_one_answers_on_every_path_is_a_problem(tmp_path, first, then, shadowed):
    """Not only the same path: a parameter (or a `{rest:path}`) before takes every value of a later literal or
    parameter, and a GET takes HEAD; a path the earlier one misses is not told."""
    routes = [(name, *spec.rsplit(" ", 1)) for name, spec in (("one", first), ("two", then))]
    listed = "".join(f"  - id: {name}\n    method: {methods}\n    path: {path}\n    respond: {{body: {{}}}}\n"
                     for name, methods, path in routes)
    text = GOOD.split("  - id: hello\n")[0] + listed
    (tmp_path / "toy.yaml").write_text(text)
    if shadowed is None:
        load_catalog([tmp_path], bundled=False)
        return
    [found] = problems_of(tmp_path, text)
    assert found.endswith(f"routes[1].path: {shadowed} {routes[1][2]} is answered by route 'one' "
                          f"({tmp_path / 'toy.yaml'}:9), which comes first: this route never sees it"), found


def test_a_route_of_ones_own_may_go_before_a_bundled_one(tmp_path):
    """A user's new route comes first and answers the bundled route's path: meant, not a problem."""
    (tmp_path / "mine.yaml").write_text("api: braze\nroutes:\n  - id: my-list\n    method: GET\n"
                                        "    path: /campaigns/list\n    respond: {body: {mine: true}}\n")
    assert "my-list" in {r.id for r in load_catalog([tmp_path]).apis["braze"].routes}


def test_path_values_limit_a_parameter_and_name_one_of_the_path(tmp_path):
    """`path_values: {kind: [...]}` on a path without {kind} would limit nothing: told, with the path."""
    limited = "    path: /{kind}/{id}\n    path_values: {kind: [hello, hi], kynd: [x]}\n"
    text = GOOD.replace("    path: /hello\n", limited)
    [found] = problems_of(tmp_path, text)
    assert found.endswith("routes[0].path_values.kynd: no parameter {kynd} in the path /{kind}/{id}"), found
    (tmp_path / "toy.yaml").write_text(text.replace(", kynd: [x]", ""))
    [route] = load_catalog([tmp_path], bundled=False).apis["toy"].routes
    assert route.match_path("/hi/1") == {"kind": "hi", "id": "1"} and route.match_path("/hey/1") is None
    assert route.match_path("/hi.x/1") is None  # a listed value is text, not a pattern


@pytest.mark.parametrize(("first", "then", "shadowed"), [
    ("/files/{name}", "/files/{rest:path}\n    path_values: {rest: [a, b]}", True),  # no value has a slash
    ("/files/{name}", "/files/{rest:path}\n    path_values: {rest: [a, b/c]}", False),
    ("/{kind}/x\n    path_values: {kind: [a, b]}", "/{k}/x\n    path_values: {k: [b]}", True),
    ("/{kind}/x\n    path_values: {kind: [a, b]}", "/{k}/x\n    path_values: {k: [b, c]}", False),
])
def test_the_shadow_check_reads_the_later_routes_path_values(tmp_path, first, then, shadowed):
    """A later route limited to listed values is shadowed when the earlier one takes each of them."""
    listed = "".join(f"  - id: {name}\n    method: GET\n    path: {path}\n    respond: {{body: {{}}}}\n"
                     for name, path in (("one", first), ("two", then)))
    text = GOOD.split("  - id: hello\n")[0] + listed
    (tmp_path / "toy.yaml").write_text(text)
    if not shadowed:
        load_catalog([tmp_path], bundled=False)
        return
    [found] = problems_of(tmp_path, text)
    assert "routes[1].path: GET " in found and "is answered by route 'one'" in found, found


def test_a_path_value_ending_with_a_slash_at_the_paths_end_is_a_problem(tmp_path):
    """The request's path is matched without its last slash: `a/` would never match `/files/{rest:path}`."""
    text = GOOD.replace("    path: /hello\n", "    path: /files/{rest:path}\n    path_values: {rest: [a/b, c/]}\n")
    [found] = problems_of(tmp_path, text)
    assert found.endswith("routes[0].path_values.rest[1]: 'c/' ends with a slash, which a request's path never "
                          "does here (the mock takes it off)"), found
    (tmp_path / "toy.yaml").write_text(GOOD.replace("    path: /hello\n",
                                                    "    path: /files/{rest:path}/x\n    path_values: {rest: [c/]}\n"))
    load_catalog([tmp_path], bundled=False)  # in the middle of the path, it is the slash before /x


def test_the_shadow_check_takes_several_earlier_routes_together_and_says_nothing_past_its_cap(tmp_path):
    """`/x/a` and `/x/b` before `/x/{k}` of [a, b] answer every path it takes, though neither alone does; a route
    with more listed values than the check tries (256) is not judged on a part of them."""
    def routes(*specs: tuple[str, str]) -> str:
        return GOOD.split("  - id: hello\n")[0] + "".join(
            f"  - id: {name}\n    method: GET\n    path: {path}\n    respond: {{body: {{}}}}\n" for name, path in specs)

    text = routes(("a", "/x/a"), ("b", "/x/b"), ("k", "/x/{k}\n    path_values: {k: [a, b]}"))
    [found] = problems_of(tmp_path, text)
    assert found.endswith(f"routes[2].path: GET /x/{{k}} is answered by routes 'a' ({tmp_path / 'toy.yaml'}:9), "
                          f"'b' ({tmp_path / 'toy.yaml'}:13), which come first: this route never sees it"), found
    (tmp_path / "toy.yaml").write_text(routes(("a", "/x/a"), ("k", "/x/{k}\n    path_values: {k: [a, b]}")))
    load_catalog([tmp_path], bundled=False)  # b still reaches it
    (tmp_path / "toy.yaml").write_text(routes(("a", "/x/a"), ("rest", "/x/{rest:path}")))
    load_catalog([tmp_path], bundled=False)  # any number of segments: not judged by parts
    first = ", ".join(f"v{i}" for i in range(256))
    (tmp_path / "toy.yaml").write_text(routes(("first", f"/x/{{k}}\n    path_values: {{k: [{first}]}}"),
                                              ("later", f"/x/{{k}}\n    path_values: {{k: [{first}, v256]}}")))
    load_catalog([tmp_path], bundled=False)  # v256 reaches `later`


def test_a_route_path_ending_with_a_slash_is_a_problem(tmp_path):
    """The request's last slash is taken off before matching: `/files/` would answer nothing."""
    [found] = problems_of(tmp_path, GOOD.replace("    path: /hello\n", "    path: /hello/\n"))
    assert found.endswith("routes[0].path: /hello/ ends with a slash, which a request's path never does here "
                          "(the mock takes it off)"), found


@pytest.mark.parametrize("missing", ["prefix: /toy\n", "error_response:\n  status: \"{{ error.status }}\"\n"
                                     "  body: {message: \"{{ error.title }}\"}\n"])
def test_a_missing_top_level_key_hides_no_other_problem(tmp_path, missing):
    """Issue 3: all problems at once. Without `prefix` or `error_response` the loader stopped there, and an unknown
    error id and a template that does not compile came only once that was mended."""
    text = with_rules("    rules:\n      - when: {header_present: x}\n        error: nope\n").replace(missing, "")
    text = text.replace("    respond: {}", '    respond: {body: {m: "{{ oops( }}"}}')
    found = problems_of(tmp_path, text)
    key = "prefix" if missing.startswith("prefix") else "error_response"
    assert any(f"has no `{key}` in any of its files" in p for p in found), found
    assert any("error: no error 'nope' in the toy catalog" in p for p in found), found
    assert any("template does not compile" in p for p in found), found


@pytest.mark.parametrize(("template", "fine"), [
    ("{{ fake.pystr(max_chars=100000000) | length }}", "{{ fake.pystr(max_chars=7) | length <= 7 }}"),
    ("{{ fake.binary(100000000) | length }}", "{{ fake.binary(16) | length }}"),
    ("{{ fake.paragraphs(nb=10**7) | length }}", "{{ fake.paragraphs(nb=3) | length }}"),
    ("{{ hex(10**8) | length }}", "{{ hex(100) | length }}"),
    ("{{ fake.json(num_rows=10**6) | length }}", "{{ fake.unique.pystr(max_chars=7) | length <= 7 }}"),
    ("{{ fake.unique.pystr(max_chars=10**7) | length }}",
     "{{ fake.optional.pystr(max_chars=7, prob=1.0) | length <= 7 }}"),
    ("{{ fake.text(max_nb_chars=10000000.0) | length }}", "{{ fake.text(max_nb_chars=100) | length <= 100 }}"),
    ("{{ fake.texts(nb_texts=1000, max_nb_chars=99999) | length }}",  # each within the bound, not together
     "{{ fake.texts(nb_texts=10, max_nb_chars=10000) | length }}"),
    ("{{ fake.pystr(min_chars=200000, max_chars=200000) | length }}",  # a min is bounded by its max, not a factor
     "{{ fake.pystr(min_chars=500, max_chars=1000) | length >= 500 }}"),
])
def test_a_template_asking_for_a_huge_fake_value_fails_at_once(make_client, tmp_path, template, fine):
    """`fake.pystr(max_chars=100000000)` held the event loop, every other request with it, for half a minute: sizes
    are bounded as `*`, `**` and range() are. The answer is the mock's 500, which names the bound."""
    body = f'{{body: {{huge: "{template}", fine: "{fine}"}}}}'
    (tmp_path / "toy.yaml").write_text(GOOD.replace("respond: {body: {message: hi}}", "respond: " + body))
    (tmp_path / "ok.yaml").write_text(GOOD.replace("api: toy\nprefix: /toy", "api: ok\nprefix: /ok")
                                      .replace("respond: {body: {message: hi}}", f'respond: {{body: {{v: "{fine}"}}}}'))
    client = make_client(scenarios=(str(tmp_path),))
    refused = client.get("/toy/hello")
    assert refused.status_code == 500 and refused.headers["x-mockserver-internal-error"] == "1", refused.text
    assert "at most" in refused.json()["detail"]
    assert client.get("/ok/hello").json()["v"] in (True, 16, 3, 100, 10)


def test_a_template_reading_an_attribute_starting_with_underscore_is_a_problem(tmp_path):
    """The sandbox reads none (`''.__class__.__mro__`, `cycler.__init__.__globals__`): such a template passed
    validate and rendered as nothing on every request. One problem per template, the first attribute written."""
    respond = 'respond: {body: {a: "{{ \'\'.__class__.__mro__[1] }}", b: "{{ cycler.__init__.__globals__.os }}", ' \
              'c: "{{ request.path }}"}}'
    found = problems_of(tmp_path, GOOD.replace("respond: {body: {message: hi}}", respond))
    assert [p.split(": ", 1)[1] for p in found] == [
        "routes[0].respond.body.a: '.__class__': the sandbox reads no attribute starting with _ (it would render "
        "as nothing on every request)",
        "routes[0].respond.body.b: '.__init__': the sandbox reads no attribute starting with _ (it would render "
        "as nothing on every request)"], found


def test_the_attr_filter_reading_an_attribute_starting_with_underscore_is_a_problem_a_key_is_not(tmp_path):
    """`attr` reads an attribute only (the sandbox gives nothing for `_...`); `x['_id']` reads a mapping's key first,
    which a JSON body may have."""
    respond = 'respond: {body: {a: "{{ request | attr(\'__class__\') }}", b: "{{ request.json[\'_id\'] }}"}}'
    found = problems_of(tmp_path, GOOD.replace("respond: {body: {message: hi}}", respond))
    assert [p.split(": ", 1)[1] for p in found] == [
        "routes[0].respond.body.a: '.__class__': the sandbox reads no attribute starting with _ (it would render "
        "as nothing on every request)"], found


def test_an_option_the_module_reads_as_an_integer_takes_only_an_integer(tmp_path):
    """Reactor's `polls_before_done` (apis.before's integer_options): 1.5 and 3.0 passed, then were ignored. A
    number option no module declares an integer keeps taking a fraction (clientless's `throttle_rate: 0.5`)."""
    (tmp_path / "mine.yaml").write_text("api: reactor\noptions:\n  polls_before_done: 1.5\n")
    (tmp_path / "also.yaml").write_text("api: reactor\noptions:\n  polls_before_done: 3.0\n")
    (tmp_path / "rate.yaml").write_text("api: clientless\noptions:\n  throttle_rate: 0.5\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert sorted((Path(p.file).name, p.line, p.field, p.message) for p in caught.value.problems) == [
        ("also.yaml", 3, "options.polls_before_done",
         "3.0 where the option takes an integer (a number without a decimal point)"),
        ("mine.yaml", 3, "options.polls_before_done",
         "1.5 where the option takes an integer (a number without a decimal point)")]
    (tmp_path / "also.yaml").write_text("api: reactor\noptions:\n  polls_before_done: 3\n")
    (tmp_path / "mine.yaml").unlink()
    assert load_catalog([tmp_path]).apis["reactor"].options["polls_before_done"] == 3
