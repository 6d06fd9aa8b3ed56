"""Inline schemas' references to other documents and the errors of a check, wherever a file writes them.

`_outside_refs` must find a reference to another document however it is written ($dynamicRef) and wherever it
sits (inside a list: allOf, anyOf, prefixItems); `check_names` must find the check of `errors_from_check` in its
mapping form (`check: {name: ..., args: ...}`) and under `any`, as under `all`."""

from __future__ import annotations

import pytest

from mockserver.scenario.load import load_catalog
from tests.unit.test_load import problems_of, with_rules


@pytest.mark.parametrize("schema", [
    '{$dynamicRef: "http://127.0.0.1:1/x.json"}',
    '{allOf: [{type: object}, {$ref: "http://127.0.0.1:1/x.json"}]}',
    '{prefixItems: [{$ref: "http://127.0.0.1:1/x.json"}]}',
])
def test_a_reference_to_another_document_is_found_however_and_wherever_it_is_written(tmp_path, schema):
    rules = f"    rules:\n      - when: {{body_violates: {schema}}}\n        error: boom\n"
    [found] = problems_of(tmp_path, with_rules(rules))
    assert "body_violates: a $ref to another document is not fetched (http://127.0.0.1:1/x.json)" in found, found


@pytest.mark.parametrize("when", [
    "{check: {name: dcs.bad_encoding, args: {}}}",
    "{any: [{check: dcs.bad_encoding}, {header_present: X-A}]}",
])
def test_the_errors_of_a_check_are_found_in_its_mapping_form_and_under_any(tmp_path, when):
    rules = f"    rules:\n      - when: {when}\n        errors_from_check: true\n    can_fail_with: [boom]\n"
    [problem] = problems_of(tmp_path, with_rules(rules))
    assert problem.endswith(":13: routes[0].rules[0].when.check: no error '311' in the toy catalog"), problem
    declared = with_rules(rules).replace("  boom:", "  '311': {status: 400, title: Bad}\n  boom:")
    (tmp_path / "toy.yaml").write_text(declared)
    [route] = load_catalog([tmp_path]).apis["toy"].routes
    assert (route.errors, route.check_errors) == (("boom",), ("311",))
