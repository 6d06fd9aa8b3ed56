"""What the schema refuses, told as a person can act on it: for a value that may take several forms (one name or a
list of them, a number or a text), the mistake inside the form it has, at the field it lies in; and the pairs a
file may not give together named as such."""

from __future__ import annotations

import pytest

from tests.unit.test_load import GOOD, problems_of

MODE = GOOD + "modes:\n  m: {description: x, %s}\n"  # the mode's line: 14
RULE = GOOD.replace("    respond: {body: {message: hi}}", "    rules:\n      - when: %s\n        error: boom\n"
                    "    respond: {}")  # the rule's line: 13


@pytest.mark.parametrize(("text", "told"), [
    (MODE % "delay: -5", "14: modes.m.delay: -5 is less than the minimum of 0"),
    (MODE % "error: []", "14: modes.m.error: [] should be non-empty"),
    (MODE % "error: [boom, 1]", "14: modes.m.error[1]: expected string, got int"),
    (GOOD.replace("method: GET", "method: [GET, 7]"), "10: routes[0].method[1]: expected string, got int"),
    (GOOD.replace("method: GET", "method: []"), "10: routes[0].method: [] should be non-empty"),
    (RULE % "{check: {args: {}}}", "13: routes[0].rules[0].when.check: 'name' is required"),
    (RULE % "{check: {name: 1}}", "13: routes[0].rules[0].when.check.name: expected string, got int"),
    (RULE % "{header_present: [X-A, 1]}", "13: routes[0].rules[0].when.header_present[1]: expected string, got int"),
    (GOOD.replace("respond: {body: {message: hi}}", "respond: {body: {message: hi}, text: hi}"),
     "12: routes[0].respond: give body or text, not both"),
    (MODE % "error: boom, first: 1, quota: {limit: 1, window: 1s}", "14: modes.m: give first or quota, not both"),
])
def test_a_value_of_the_wrong_form_is_told_inside_the_form_it_has(tmp_path, text, told):
    """Told by the wrong branch, `delay: -5` reads "expected string, got int" (the string branch's word for a
    number below the integer branch's minimum) and `method: [GET, 7]` "expected string, got list"."""
    assert problems_of(tmp_path, text) == [f"{tmp_path / 'toy.yaml'}:{told}"]
