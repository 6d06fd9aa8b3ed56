"""`mockserver.inprocess.running()`: the mock for test runners other than pytest, as their users use it
(a unittest module run by `python -m unittest` in a process of its own, where pytest is not loaded)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

UNITTEST_MODULE = '''
import sys
import unittest

import httpx

from mockserver.inprocess import running
from mockserver.scenario.read import ScenarioError


class BrazeClientTest(unittest.TestCase):
    def test_a_documented_error_and_the_journal(self):
        self.assertNotIn("pytest", sys.modules)
        with running(seed=5) as mock:
            answer = httpx.post(mock.url("braze") + "/users/track", json={})
            self.assertEqual(answer.status_code, 401)
            self.assertEqual(answer.json(), {"message": "Unauthorized", "errors": ["Invalid API key."]})
            plain = httpx.get(mock.base_url + "/braze/users/track")  # no header: the same "default" session
            [first, second] = mock.requests(api="braze")
            self.assertEqual((first["status"], second["status"]), (401, plain.status_code))

    def test_same_seed_same_bytes(self):
        bodies = []
        for _ in range(2):
            with running(seed=5) as mock:
                answer = httpx.get(mock.url("reactor") + "/properties/PR1",
                                   headers={"Authorization": "Bearer t", "x-api-key": "k"})
                bodies.append((answer.status_code, answer.content))
        self.assertEqual(bodies[0], bodies[1])
        self.assertEqual(bodies[0][0], 404)

    def test_a_broken_scenario_file_names_its_line(self):
        with self.assertRaises(ScenarioError) as raised:
            with running(scenarios=[sys.argv[-1]]):
                pass
        self.assertIn("broken.yaml:2", str(raised.exception))

    def test_a_bad_retry_fails_the_test(self):
        """This one is meant to fail: the verdict's finding is a unittest failure, not an error."""
        with running() as mock:
            for _ in range(2):  # a 400 sent again unchanged: always a finding, whatever the clock says
                httpx.post(mock.url("edge") + "/ee/v2/interact?datastreamId=a&__code=400",
                           json={"event": {"xdm": {"eventType": "test"}}})
            mock.assert_clean_verdict()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + ["-v"])
'''


@pytest.mark.slow
def test_running_serves_a_unittest_suite_without_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(UNITTEST_MODULE)
    broken = tmp_path / "broken.yaml"
    broken.write_text(textwrap.dedent("""\
        api: braze
        errorz: {}
        """))
    done = subprocess.run([sys.executable, "test_client.py", str(broken)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    report = done.stderr
    assert "test_a_documented_error_and_the_journal" in report and "FAILED (failures=1)" in report, report
    for name in ("test_a_documented_error_and_the_journal", "test_same_seed_same_bytes",
                 "test_a_broken_scenario_file_names_its_line"):
        assert f"{name} (__main__.BrazeClientTest.{name}) ... ok" in report, report
    assert "FAIL: test_a_bad_retry_fails_the_test" in report
    assert "AssertionError: " in report and "no-retry-on-4xx" in report, report
    assert "ERROR:" not in report, report


@pytest.mark.slow
def test_the_readme_example_runs_under_unittest(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Outside pytest", 1)[1]
    (tmp_path / "test_readme_unittest.py").write_text(section.split("```python\n", 1)[1].split("```", 1)[0])
    done = subprocess.run([sys.executable, "-m", "unittest", "-v", "test_readme_unittest"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "test_a_rate_limited_client_waits (test_readme_unittest.BrazeClientTest" in done.stderr, done.stderr
    assert done.returncode == 0 and done.stderr.rstrip().endswith("OK"), done.stderr


def test_the_end_of_the_block_waits_for_a_delayed_answer_no_longer_than_the_grace() -> None:
    """A client that gave up on `__delay=60000` leaves the answer sleeping: the stop waited for it (10 s, then the
    thread was left behind); it gets the grace `mockserver serve` gives, as a test run's end should."""
    import time

    import httpx

    from mockserver.inprocess import running
    from mockserver.server import GRACE_SECONDS

    with running() as mock:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(mock.url("dcs") + "/event?d_mid=1&__delay=60000", timeout=0.3)
        leaving = time.monotonic()
    assert time.monotonic() - leaving < GRACE_SECONDS + 1.5
