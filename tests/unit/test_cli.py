"""The command line in process (click's runner): options, their environment variables, their help."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from mockserver import server
from mockserver.cli import main
from mockserver.settings import Settings

SERVE_OPTIONS = ["host", "port", "seed", "scenarios", "api", "server", "workers", "state", "log-level",
                 "journal-size", "max-sessions", "no-journal", "access-log"]


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_serve_help_describes_every_option_and_names_its_environment_variable():
    text = " ".join(run("serve", "--help").output.split())
    serve = main.commands["serve"]
    for name in SERVE_OPTIONS:
        [option] = [p for p in serve.params if f"--{name}" in p.opts]
        assert option.help, name  # type: ignore[attr-defined]
        assert f"{option.help.split()[0]}" in text and f"MOCKSERVER_{name.upper().replace('-', '_')}" in text


@pytest.mark.parametrize("env", [{"MOCKSERVER_FORMAT": "json", "MOCKSERVER_API": "edge"},
                                 {"MOCKSERVER_CATALOG_FORMAT": "json", "MOCKSERVER_CATALOG_API": "edge"}])
def test_catalog_reads_its_options_from_the_environment(env):
    entries = json.loads(run("catalog", env=env).output)
    assert {e["api"] for e in entries} == {"edge"}


def test_the_command_own_variable_wins_over_the_shared_one():
    result = run("catalog", env={"MOCKSERVER_FORMAT": "junit", "MOCKSERVER_CATALOG_FORMAT": "json",
                                 "MOCKSERVER_API": "dcs"})
    assert result.exit_code == 0 and json.loads(result.output)[0]["api"] == "dcs"


@pytest.mark.parametrize("level", ["INFO", "Debug", "warning"])
def test_log_level_is_taken_in_any_case(monkeypatch, level):
    seen: list[Settings] = []
    monkeypatch.setattr(server, "run", lambda settings, catalog=None: seen.append(settings))
    result = run("serve", "--log-level", level)
    assert result.exit_code == 0, result.output
    assert seen[0].log_level == level.lower()
    seen.clear()
    assert run("serve", env={"MOCKSERVER_LOG_LEVEL": level}).exit_code == 0 and seen[0].log_level == level.lower()


def test_validate_reads_subfolders_and_refuses_a_folder_without_scenarios(tmp_path):
    from tests.unit.test_load import GOOD

    nested = tmp_path / "team" / "toy"
    nested.mkdir(parents=True)
    (nested / "toy.yaml").write_text(GOOD)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "junk.yaml").write_text("not: [a scenario")  # hidden: never read
    found = run("validate", str(tmp_path))
    assert found.exit_code == 0 and "ok: 1 file(s) valid" in found.output
    (nested / "toy.yaml").write_text(GOOD.replace("status: 500", "status: '500'"))
    assert run("validate", str(tmp_path)).exit_code == 1  # the nested file is checked, not skipped
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run("validate", str(empty))
    assert refused.exit_code == 1 and "no scenario file" in refused.output


def test_validate_without_a_path_checks_the_files_serve_would_read(tmp_path):
    """`MOCKSERVER_SCENARIOS` set for serve: `mockserver validate` alone checks those (':'-separated)."""
    from tests.unit.test_load import GOOD

    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "toy.yaml").write_text(GOOD.replace("status: 500", "status: '500'"))
    good = run("validate", env={"MOCKSERVER_SCENARIOS": str(tmp_path / "a.yaml")})
    assert good.exit_code == 0 and "ok: 1 file(s) valid" in good.output
    paths = f"{tmp_path / 'a.yaml'}:{tmp_path / 'b'}"
    both = CliRunner().invoke(main, ["validate"], env={"MOCKSERVER_SCENARIOS": paths})
    assert both.exit_code == 1 and f"{tmp_path / 'b' / 'toy.yaml'}:" in both.output, both.output
    nothing = CliRunner().invoke(main, ["validate"], env={"MOCKSERVER_SCENARIOS": ""})
    assert nothing.exit_code == 2 and "or set MOCKSERVER_SCENARIOS" in nothing.output


def test_every_command_help_ends_with_examples_of_itself():
    for name in main.commands:
        text = run(name, "--help").output
        examples = text.split("Examples:\n", 1)[1].splitlines()
        assert examples and all(line.strip().startswith((f"mockserver {name}", "curl", "MOCKSERVER_"))
                                for line in examples if line.strip()), (name, examples)


def test_validate_tells_a_missing_path_as_a_problem_and_exits_1(tmp_path):
    """GUIDE §2: exit 1 and one 'file:line: field: problem' per problem; click's own check exited 2."""
    missing = tmp_path / "nothere.yaml"
    result = CliRunner().invoke(main, ["validate", str(missing)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{missing}:1: (file): cannot read: [Errno 2] No such file"), result.output


def test_scenarios_takes_several_paths_after_one_option(monkeypatch, tmp_path):
    """GUIDE §2 writes `--scenarios PATH ...`: `--scenarios a.yaml b.yaml` was 'unexpected extra argument'."""
    seen: list[Settings] = []
    monkeypatch.setattr(server, "run", lambda settings, catalog=None: seen.append(settings))
    (tmp_path / "a.yaml").write_text("api: braze\nerrors:\n  mine-a: {status: 418, title: A, fields: {detail: a}}\n")
    (tmp_path / "b.yaml").write_text("api: dcs\nerrors:\n  mine-b: {status: 418, title: B, fields: {detail: b}}\n")
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    assert run("serve", "--scenarios", a, b).exit_code == 0 and seen[0].scenarios == (a, b)
    listed = json.loads(run("catalog", "--format", "json", "--scenarios", a, b).output)
    assert {"mine-a", "mine-b"} <= {e["id"] for e in listed}
    missing = CliRunner().invoke(main, ["serve", "--scenarios", a, str(tmp_path / "c.yaml")])
    assert missing.exit_code == 2 and "does not exist" in missing.output and not seen[1:]


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_an_address_that_cannot_be_listened_on_is_one_line_not_a_traceback(server_name):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--server", server_name)
    assert result.exit_code == 1
    assert result.output == (f"Error: cannot listen on 127.0.0.1:{port}: Address already in use (another process "
                             "listens there: stop it, or choose another --port)\n")
    result = run("serve", "--host", "nowhere.invalid", "--port", "0", "--server", server_name)
    assert result.exit_code == 1 and result.output.startswith("Error: cannot listen on nowhere.invalid:0: ")
    assert result.output.endswith("(--host takes an address of this machine: 127.0.0.1, or 0.0.0.0 for every "
                                  "interface)\n")


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_a_server_whose_package_is_missing_is_one_line_not_a_traceback(monkeypatch, server_name):
    """An install made without the dependencies (pip install --no-deps, a distribution's package)."""
    import sys

    monkeypatch.setitem(sys.modules, server_name, None)  # import fails as for a package not installed
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--server", server_name])
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.output == (f"Error: --server {server_name} needs the Python package {server_name}, which is not "
                             f"installed here: pip install {server_name} (or reinstall mockserver with its "
                             "dependencies)\n")


@pytest.mark.parametrize("command", ["serve", "catalog"])
def test_a_scenarios_folder_without_scenario_files_is_refused(monkeypatch, tmp_path, command):
    """A wrong folder (an empty mount, the folder above the files' one) would serve the bundled APIs alone."""
    monkeypatch.setattr(server, "run", lambda settings, catalog=None: pytest.fail("started"))
    (tmp_path / "notes.txt").write_text("not a scenario")
    for args, env in ((["--scenarios", str(tmp_path)], None), ([], {"MOCKSERVER_SCENARIOS": str(tmp_path)})):
        result = CliRunner().invoke(main, [command, *args], env=env)
        assert result.exit_code == 2, result.output
        assert f"no scenario file (.yaml, .yml, .json) in {tmp_path}: give the folder that holds" in result.output


def test_log_level_error_silences_our_own_warning_too(monkeypatch, caplog):
    """--log-level error: "the server's own messages" include the warning of --workers with memory://."""
    import logging

    monkeypatch.setitem(server.SERVERS, "uvicorn", lambda settings, catalog, sock: None)
    monkeypatch.setattr(logging.getLogger("mockserver"), "level", logging.NOTSET)
    server.run(Settings(port=0, workers=2, log_level="error"))
    assert not [r for r in caplog.records if "state is per worker" in r.getMessage()]
    server.run(Settings(port=0, workers=2))
    assert [r for r in caplog.records if "state is per worker" in r.getMessage()]


def test_every_option_of_every_command_says_what_it_does():
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"{name} {param.opts[0]}"


def test_max_sessions_reaches_the_state_store(monkeypatch):
    from mockserver.runtime import Runtime
    from mockserver.scenario.load import load_catalog

    seen: list[Settings] = []
    monkeypatch.setattr(server, "run", lambda settings, catalog=None: seen.append(settings))
    assert run("serve").exit_code == 0 and seen[0].max_sessions == 10_000
    assert run("serve", env={"MOCKSERVER_MAX_SESSIONS": "5"}).exit_code == 0 and seen[1].max_sessions == 5
    assert run("serve", "--max-sessions", "-1").exit_code == 2
    runtime = Runtime(seen[1], load_catalog([]))
    assert runtime.state.max_sessions == 5  # type: ignore[attr-defined]


@pytest.mark.parametrize("state", ["redis://:99999/0", "redis://[::1", "redis://127.0.0.1:6379/0?socket_timeout=abc",
                                   "redis://127.0.0.1:1/abc", "rediss://127.0.0.1:1/0x1"])
def test_a_state_url_redis_cannot_read_is_one_line(state):
    """redis-py's ValueError on these URLs was a traceback, exit 1; a database that is not a number it took as 0,
    silently (another setup's state shared by a typo)."""
    result = CliRunner().invoke(main, ["serve", "--state", state])
    assert result.exit_code == 2 and "Invalid value for --state" in result.output and "Traceback" not in result.output


@pytest.fixture
def not_the_mock():
    """An HTTP server on 127.0.0.1 that answers every GET with `{"a": 1}`."""
    import http.server
    import threading

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b'{"a": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server_ = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server_.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server_.server_address[1]}"
    server_.shutdown()
    server_.server_close()


@pytest.mark.parametrize("command", ["coverage", "verdict"])
def test_a_url_that_is_not_the_mock_is_one_line_and_exit_2(not_the_mock, command):
    """A KeyError traceback, exit 1, before: the answer was JSON, but not the mock's."""
    result = CliRunner().invoke(main, [command, "--url", not_the_mock])
    assert result.exit_code == 2 and "does not answer as mockserver does" in result.output, result.output
    bad = CliRunner().invoke(main, [command, "--url", "http://[::1"])
    assert bad.exit_code == 2 and "is not a server URL" in bad.output, bad.output


def test_the_plugin_pointed_at_a_server_that_is_not_the_mock_says_so(not_the_mock):
    from mockserver.inprocess import RemoteServer

    with pytest.raises(RuntimeError, match="does not answer as mockserver does"):
        RemoteServer(not_the_mock, timeout=2)


def test_the_catalog_table_piped_keeps_each_id_whole_and_names_its_doc():
    """`mockserver catalog | grep ID` finds the row: piped, rich's 80 columns folded ids (`authentication-fai|lure`)."""
    from mockserver.scenario.load import load_catalog

    output = run("catalog", "--api", "reactor").output
    lines = output.splitlines()
    assert "doc" in lines[2].split() and "trigger" in lines[2].split()
    for entry in load_catalog(()).entries("reactor"):
        [row] = [line for line in lines if f" {entry['id']} " in line]
        assert f" {entry['status']} " in row and entry['doc'][:20] in row, row  # the doc starts on the row


@pytest.mark.parametrize("command", ["verdict", "coverage"])
def test_a_session_no_request_could_carry_is_refused_before_asking_the_server(command):
    result = CliRunner().invoke(main, [command, "--url", "http://127.0.0.1:9", "--session", "x/y"])
    assert result.exit_code == 2 and "'x/y' is not a session name (1-128 letters" in result.output, result.output


def test_a_percent_encoded_database_number_is_a_number():
    """redis-py reads `/%31` as database 1: refused as "not a number", the message contradicted itself."""
    from mockserver.engine.redis_state import check_reachable

    with pytest.raises(ConnectionError, match="no Redis at"):
        check_reachable("redis://127.0.0.1:1/%31", timeout_s=0.2)
