"""The README's "Testing your client" example is test_readme_example.py, byte for byte."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_the_readme_example_is_the_test_file_that_runs():
    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Testing your client\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == (HERE / "test_readme_example.py").read_text(encoding="utf-8")
