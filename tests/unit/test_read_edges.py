"""Reading a scenario file at its edges: JSON's surrogate escapes (the reader rewrites them for libyaml, which reads
the file for its lines only), and the size past which a file is not read."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.scenario import read
from mockserver.scenario.read import MAX_FILE_BYTES, ScenarioError

_halves = st.sampled_from([0xD800, 0xDBFF, 0xDC00, 0xDFFF]) | st.integers(0xD800, 0xDFFF)  # its edges, and any


@settings(max_examples=300, deadline=None)
@given(_halves, st.none() | _halves, st.integers(0, 2), st.booleans())
def test_a_json_file_with_any_surrogate_escapes_reads_as_json_loads_reads_it(first, second, backslashes, upper):
    """json.loads takes a pair (`\\ud83d\\ude00`), a lone half, two low halves or two high ones; the reader reads the
    same values, with each key's line, whatever the escapes (an escaped backslash before one is no escape)."""
    escape = "".join(f"\\u{unit:04x}" for unit in (first, second) if unit is not None)
    escape = escape.upper().replace("\\U", "\\u") if upper else escape
    text = '{"api": "toy",\n "title": "a' + "\\\\" * backslashes + escape + 'b",\n "x": 1}'
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.json"
        path.write_text(text)
        value, lines = read.read_document(path)
    assert value == json.loads(text)
    assert (lines[("api",)], lines[("title",)], lines[("x",)]) == (1, 2, 3)


def _sized(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "big.yaml"
    with path.open("wb") as file:
        file.truncate(size)  # sparse: its size without writing it
    return path


def test_a_file_past_the_size_limit_is_refused_unread_and_one_at_the_limit_is_read(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        read.read_document(_sized(tmp_path, MAX_FILE_BYTES + 1))
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'big.yaml'}:1: (file): cannot read: larger "
                                                       "than 16 MiB"]
    os.remove(tmp_path / "big.yaml")
    with pytest.raises(ScenarioError) as caught:  # read: NUL bytes are no YAML
        read.read_document(_sized(tmp_path, MAX_FILE_BYTES))
    [problem] = caught.value.problems
    assert problem.message.startswith("invalid YAML"), problem
