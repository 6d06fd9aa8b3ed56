"""What the reader tells of a file it cannot take whole: each problem at a line of the file (1 or more), an entry
the schema refuses whole left out alone, and top-level keys of no meaning only told (whatever their name)."""

from __future__ import annotations

import pytest

from tests.unit.test_load import GOOD, problems_of


@pytest.mark.parametrize("text", ["- api: toy\n", "toy\n", "", "# nothing but a comment\n"])
def test_a_file_that_is_not_a_mapping_is_one_problem_at_its_first_line(tmp_path, text):
    assert problems_of(tmp_path, text) == [
        f"{tmp_path / 'toy.yaml'}:1: (file): a scenario file is a mapping with at least `api:`"]


def test_a_file_nested_deeper_than_python_reads_is_told_at_a_line_of_the_file(tmp_path):
    """500 levels: under libyaml's own limit, past what the reader's recursion takes (`x:` is on line 2)."""
    [found] = problems_of(tmp_path, "api: toy\nx: " + "[" * 500 + "]" * 500 + "\n")
    assert found in (f"{tmp_path / 'toy.yaml'}:1: (file): invalid YAML: nested deeper than Python can read",
                     f"{tmp_path / 'toy.yaml'}:2: (file): invalid YAML: exceeded maximum nesting depth"), found


def test_an_error_the_schema_refuses_whole_is_left_out_alone(tmp_path):
    """`boom` without its title, `bust` no mapping: each told once, at its own line; the route naming them and the
    mode naming one are no problems more (their ids stay known), and the file's other mistake is still told."""
    text = GOOD.replace("  boom: {status: 500, title: Boom}", "  boom: {status: 500}\n  bust: 7\n  fine: {status: 503, "
                        "title: Fine}").replace("    respond: {body: {message: hi}}",
                                                "    can_fail_with: [boom, bust, fine, nope]\n"
                                                "    respond: {body: {message: hi}}") + (
        "modes:\n  down: {description: down, error: bust}\n")
    assert [p.split(": ", 2)[:2] for p in problems_of(tmp_path, text)] == [
        [f"{tmp_path / 'toy.yaml'}:7", "errors.boom"], [f"{tmp_path / 'toy.yaml'}:8", "errors.bust"],
        [f"{tmp_path / 'toy.yaml'}:14", "routes[0].can_fail_with[3]"]]


@pytest.mark.parametrize("key", ["_broken", "_where", "_shadowed", "_merge_problems", "_option_where"])
def test_a_top_level_key_of_no_meaning_is_told_whatever_its_name(tmp_path, key):
    """The loader keeps its own notes beside a file's keys: a user's key of the same name is an unknown key,
    never read as one of them (a traceback of validate)."""
    [found] = problems_of(tmp_path, GOOD.replace("prefix: /toy", f"prefix: /toy\n{key}: 1"))
    assert found.startswith(f"{tmp_path / 'toy.yaml'}:3: {key}: unknown key (allowed: $schema, api, "), found


def test_a_problem_with_a_block_value_is_told_at_its_key_not_at_its_first_line(tmp_path):
    """`boom:` (line 7) lacks its title; written as a block, the problem was told at `status:`, the line under it,
    which says nothing of a missing key. The same for a block scalar (`|-`) under its key (`method:`, line 12)."""
    text = GOOD.replace("  boom: {status: 500, title: Boom}", "  boom:\n    status: 500\n").replace(
        "    method: GET\n", "    method: |-\n      GOT\n")
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[:2] for p in found] == [[f"{tmp_path / 'toy.yaml'}:7", "errors.boom"],
                                                   [f"{tmp_path / 'toy.yaml'}:12", "routes[0].method"]], found


def test_an_item_of_a_list_that_overrides_a_merged_one_is_told_at_its_own_line(tmp_path):
    """`<<: *hello` merges the first route's `can_fail_with: [boom]` (line 13) in, and the second route's own list
    (line 19) replaces it: its unknown id is told at line 19, where it is written."""
    text = GOOD.replace("  - id: hello\n    method: GET\n    path: /hello\n",
                        "  - &hello\n    id: hello\n    method: GET\n    path: /hello\n    can_fail_with: [boom]\n") + (
        "  - <<: *hello\n    id: hello2\n    path: /hello2\n    can_fail_with:\n      - nope\n")
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[:2] for p in found] == [[f"{tmp_path / 'toy.yaml'}:19", "routes[1].can_fail_with[0]"]], \
        found
