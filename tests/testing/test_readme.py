"""README examples that run: "Testing your client" is test_readme_example.py byte for byte; the conftest too."""

from __future__ import annotations

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
