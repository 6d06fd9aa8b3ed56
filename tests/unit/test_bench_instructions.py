"""bench/instructions.py keeps working: it is the deterministic half of the speed figures (no budget is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

ROW = re.compile(r"^as asked\s+(\d+)\s+(\d+) B\s+(\d+)\s+(\d+)\s+([\d.]+)x\s+(\d+)\s+(\d+)$", re.M)


def run(path: str) -> tuple[int, ...]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "--requests", "20", "--path", path],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stderr == "", out.stderr  # no "Task was destroyed": the lifespan is shut down as a server does
    found = ROW.search(out.stdout)
    assert found, out.stdout
    status, size, bare, mock, _, bare_calls, mock_calls = found.groups()
    return int(status), int(size), int(bare), int(mock), int(bare_calls), int(mock_calls)


def test_counts_both_apps_on_the_answer_the_mock_gives():
    status, size, bare, mock, bare_calls, mock_calls = run("/reactor/properties/PR1")
    assert (status, size > 0) == (404, True)  # the gateway let the bench's credentials through: the natural 404
    assert 0 < bare < mock and 0 < bare_calls < mock_calls


def test_the_count_is_the_same_from_one_run_to_the_next():
    """Give or take the Date header, formatted again when a run crosses a second: a few instructions."""
    (*answer, bare, mock, bare_calls, mock_calls), (*again, bare2, mock2, bare_calls2, mock_calls2) = (
        run("/reactor/properties/PR1"), run("/reactor/properties/PR1"))
    assert answer == again and bare == bare2 and abs(mock - mock2) <= mock // 100
    assert bare_calls == bare_calls2 and abs(mock_calls - mock_calls2) <= 1
