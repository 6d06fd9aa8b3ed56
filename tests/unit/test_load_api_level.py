"""An API's own top-level values read at load: `not_found` and `method_not_allowed` name errors of the catalog, and
`headers` given in several files are checked in the file that gave each, then served merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.scenario.load import load_catalog
from mockserver.scenario.read import ScenarioError
from tests.unit.test_load import GOOD


def _problems(*paths: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_catalog(paths)
    return [str(p) for p in caught.value.problems]


def test_not_found_and_method_not_allowed_naming_no_error_are_each_a_problem_at_their_line(tmp_path):
    """Either one unchecked loaded, and every request to an unknown path, or with a method the path does not take,
    was then the mock's 500 (an id the catalog does not hold)."""
    path = tmp_path / "toy.yaml"
    path.write_text(GOOD.replace("prefix: /toy\n", "prefix: /toy\nnot_found: nope\nmethod_not_allowed: nada\n"))
    assert _problems(path) == [f"{path}:3: not_found: no error 'nope' in the toy catalog",
                               f"{path}:4: method_not_allowed: no error 'nada' in the toy catalog"]


def test_not_found_and_method_not_allowed_answer_with_the_error_they_name(tmp_path, make_client):
    path = tmp_path / "toy.yaml"
    path.write_text(GOOD.replace("prefix: /toy\n", "prefix: /toy\nnot_found: gone\nmethod_not_allowed: wrong\n")
                    .replace("  boom: {status: 500, title: Boom}",
                             "  gone: {status: 404, title: Gone}\n  wrong: {status: 418, title: Wrong method}"))
    client = make_client(scenarios=(str(path),))
    nowhere, deleted = client.get("/toy/nowhere"), client.delete("/toy/hello")
    assert (nowhere.status_code, nowhere.json()) == (404, {"message": "Gone"})
    assert (deleted.status_code, deleted.json()) == (418, {"message": "Wrong method"})  # not not_found's
    assert client.get("/toy/hello").json() == {"message": "hi"}


def test_a_header_that_does_not_compile_over_the_bundled_ones_is_told_in_the_users_file(tmp_path):
    """Braze's bundled file gives three X-RateLimit-* headers; a user's broken one is told at the user's line, once,
    and not as a traceback of the merged headers."""
    path = tmp_path / "braze.yaml"
    path.write_text('api: braze\nheaders:\n  X-Mine: "{{ 1 + }}"\n')
    assert _problems(path) == [
        f"{path}:3: headers.X-Mine: template does not compile: unexpected 'end of print statement'"]


def test_headers_of_two_files_are_each_checked_in_their_own_file_and_served_together(tmp_path, make_client):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(GOOD.replace("prefix: /toy\n", 'prefix: /toy\nheaders: {X-A: "{{ 2 * 3 }}"}\n'))
    second.write_text('api: toy\nheaders:\n  X-B: "{{ nope }}"\n')
    found = _problems(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{second}:3: headers.X-B: no name 'nope'"), found
    second.write_text('api: toy\nheaders:\n  X-B: "{{ 1 + 1 }}"\n')
    client = make_client(scenarios=(str(tmp_path),))
    answer = client.get("/toy/hello")
    assert (answer.headers["x-a"], answer.headers["x-b"]) == ("6", "2")
