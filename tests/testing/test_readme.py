"""README examples that run: "Testing your client" is test_readme_example.py byte for byte; the conftest too."""

from __future__ import annotations

import shlex
from pathlib import Path

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent


def test_the_readme_example_is_the_test_file_that_runs():
    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Testing your client\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == (HERE / "test_readme_example.py").read_text(encoding="utf-8")


def test_the_readme_conftest_override_runs(pytester):
    """README ("Overridable fixtures"): its conftest.py, as printed, gives every test the replaced Settings."""
    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n**Overridable fixtures**", 1)[1]
    pytester.makeconftest(section.split("```python\n", 1)[1].split("```", 1)[0])
    pytester.makepyfile(test_settings=(
        "def test_the_journal_is_larger(mockserver, mockserver_settings):\n"
        "    assert mockserver_settings.journal_size == 100_000\n"
        "    assert mockserver.url('braze').endswith('/__session/' + mockserver.session + '/braze')\n"))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def tour_requests() -> list[tuple[str, dict[str, str], str]]:
    """Each `curl` of the README's two-minute tour: its path and query, its headers, its comment."""
    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("\n## A two-minute tour\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    found = []
    for line in block.splitlines():
        if line.startswith("curl "):
            command, _, comment = line.partition("#")
            words = shlex.split(command)
            headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
            found.append((words[-1].removeprefix("localhost:8080"), headers, comment.strip()))
    return found


def test_the_tour_answers_as_its_comments_say(make_client):
    """README ("A two-minute tour"): each curl, as printed, is answered (no misuse) with what its comment says."""
    client = make_client()
    statuses = []
    for target, headers, comment in tour_requests():
        answer = client.get(target, headers={**headers, "X-Mock-Session": "tour"})
        assert "x-mockserver-misuse" not in answer.headers, (target, answer.text)
        if comment.startswith("{"):
            assert answer.text.startswith(comment.split("...", 1)[0]), (target, answer.text)
        statuses.append(answer.status_code)
    assert statuses == [200, 401, 200, 500, 403, 200, 200]
