"""The command line: serve, validate, catalog, coverage, verdict. The only module that exits."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mockserver import __version__
from mockserver.scenario.load import load_catalog, validate
from mockserver.scenario.read import SUFFIXES, ScenarioError, scenario_files
from mockserver.settings import API_NAMES, SERVERS, Settings

F = TypeVar("F", bound=Callable[..., Any])
SCENARIOS_HELP = ("Your own scenario files or folders (subfolders too), added to the bundled ones "
                  "(same id: yours wins); repeatable, and MOCKSERVER_SCENARIOS takes several paths separated by ':'.")


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """click.option whose --help shows the environment variable it also reads."""
    return click.option(*decls, show_envvar=True, **attrs)


def _envvars(command: str, name: str) -> list[str]:
    """MOCKSERVER_<COMMAND>_<NAME> first, then the plain MOCKSERVER_<NAME> every command shares."""
    return [f"MOCKSERVER_{command.upper()}_{name.upper()}", f"MOCKSERVER_{name.upper()}"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "MOCKSERVER"})
@click.version_option(__version__, prog_name="mockserver")
def main() -> None:
    """A fake HTTP server that answers with the documented errors of Braze, Reactor, DCS,
    Edge Network and Adobe Pass clientless, deterministically for a given seed.

    Every option also reads an environment variable: MOCKSERVER_PORT, MOCKSERVER_SEED, ...
    """


def _with_scenarios(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> tuple[Path, ...]:
    """A folder with no scenario file in it is a wrong path, not your files: refused, as `validate` refuses it."""
    for path in value:
        if path.is_dir() and not scenario_files([path]):
            raise click.BadParameter(f"no scenario file ({', '.join(SUFFIXES)}) in {path}: give the folder that "
                                     "holds your files (subfolders are read too)")
    return value


def _scenarios_option() -> Callable[[F], F]:
    """`--scenarios PATH ...` (GUIDE §2): repeatable, and the paths given after it without an option name (click
    gives an option one value) are more of them: `--scenarios a.yaml b.yaml`."""
    given = option("--scenarios", "scenarios", multiple=True, envvar="MOCKSERVER_SCENARIOS",
                   callback=_with_scenarios, type=click.Path(exists=True, path_type=Path), help=SCENARIOS_HELP)
    more = click.argument("more_scenarios", metavar="[PATHS]...", nargs=-1, callback=_with_scenarios,
                          type=click.Path(exists=True, path_type=Path))
    return lambda command: given(more(command))


def _examples(*lines: str) -> str:
    """An epilog click prints as written (`\b`: no rewrapping), after the options."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@main.command(epilog=_examples(
    "mockserver serve                                   # every API on http://127.0.0.1:8080",
    "mockserver serve --api braze --port 9000           # Braze alone, at /",
    "mockserver serve --seed 7 --scenarios my-errors/   # your files beside the bundled ones",
    "mockserver serve --server hypercorn --workers 2 --state redis://localhost:6379/0",
    "curl -i -X POST 'http://127.0.0.1:8080/braze/users/track?__error=rate-limited'"))
@option("--host", default="127.0.0.1", show_default=True, envvar="MOCKSERVER_HOST",
        help="Address to listen on (0.0.0.0 inside a container).")
@option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), envvar="MOCKSERVER_PORT",
        help="Port to listen on (0: any free port, which the start-up line names).")
@option("--seed", default=0, show_default=True, type=int, envvar="MOCKSERVER_SEED",
        help="Seed of every generated id and value; same seed, same requests -> same bytes.")
@_scenarios_option()
@option("--api", default=None, envvar="MOCKSERVER_API",
        help=f"Serve only this API, at / ({', '.join(API_NAMES)}).")
@option("--server", type=click.Choice(SERVERS), default="uvicorn", show_default=True,
        envvar="MOCKSERVER_SERVER",
        help="uvicorn (uvloop + httptools) or hypercorn (HTTP/1.1 and h2c). Both serve every __fault kind "
                   "(reset, empty, malformed, truncate, slow); over h2c a fault ends the whole connection.")
@option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), envvar="MOCKSERVER_WORKERS",
        help="Server processes; with memory:// each one counts, records, and keeps the modes switched on and "
                   "the virtual clock on its own (an admin call reaches one of them; use --state redis://).")
@option("--state", default="memory://", show_default=True, envvar="MOCKSERVER_STATE",
        help="Where sessions, sequences, quotas, modes and resources live: memory:// (per process) or "
                   "redis://HOST:PORT/DB, shared by every worker and replica (the virtual clock too).")
@option("--log-level", default="warning", show_default=True, envvar="MOCKSERVER_LOG_LEVEL",
        type=click.Choice(["critical", "error", "warning", "info", "debug"], case_sensitive=False),
        help="The server's own messages, on stderr (warning: one line once it listens, with its URL and the APIs' "
             "prefixes, then nothing while all is well; error: not that line either; debug: also a line per request, "
             "with the documented error, the route, the flags and the session that answered it).")
@option("--journal-size", default=10_000, show_default=True, type=click.IntRange(1),
        envvar="MOCKSERVER_JOURNAL_SIZE", help="Requests kept in the journal (/__admin/requests).")
@option("--max-sessions", default=10_000, show_default=True, type=click.IntRange(0),
        envvar="MOCKSERVER_MAX_SESSIONS",
        help="Sessions whose state (sequences, quotas, resources) memory:// holds; beyond, the least recently "
             "used is forgotten and comes back afresh (0: no bound; a server up for hours meets ever-new sessions).")
@option("--no-journal", is_flag=True, envvar="MOCKSERVER_NO_JOURNAL", help="Keep no request journal.")
@option("--access-log", is_flag=True, envvar="MOCKSERVER_ACCESS_LOG",
        help="The server's access log (off: the journal records every request, and the log costs speed).")
def serve(host: str, port: int, seed: int, scenarios: tuple[Path, ...], more_scenarios: tuple[Path, ...],
          api: str | None, server: str, workers: int, state: str, log_level: str, journal_size: int,
          max_sessions: int, no_journal: bool, access_log: bool) -> None:
    """Serve every API under its prefix (/braze, /reactor, /dcs, /edge, /clientless), or one at /.

    PATHS: more scenario files or folders, as --scenarios adds (`--scenarios a.yaml b.yaml`), read after the
    ones --scenarios names (a later file wins on the same id)."""
    scenarios += more_scenarios
    gc.disable()  # until the app serves (MockServerApp._lifespan): start-up makes long-lived objects, little garbage
    from mockserver import server as servers

    if state.startswith(("redis://", "rediss://", "unix://")):
        from mockserver.engine.redis_state import check_reachable

        try:
            check_reachable(state)
        except ConnectionError as exc:
            raise click.BadParameter(str(exc), param_hint="--state") from None
        except ValueError as exc:  # redis-py's reading of the URL: a port out of range, a bad option value
            raise click.BadParameter(f"{state!r}: {exc}", param_hint="--state") from None
    elif state not in ("memory://", "memory"):  # memoryfoo is a typo, not a store
        raise click.BadParameter(f"{state!r}: use memory:// or redis://HOST:PORT/DB", param_hint="--state")
    settings = Settings(host=host, port=port, seed=seed, scenarios=tuple(str(p) for p in scenarios), api=api,
                        server=server, workers=workers, state=state, log_level=log_level,  # type: ignore[arg-type]
                        journal_size=journal_size, journal=not no_journal, access_log=access_log,
                        max_sessions=max_sessions)
    try:
        catalog = load_catalog(settings.scenario_paths)
    except ScenarioError as exc:
        _print_problems(exc, "nothing was started")
        sys.exit(1)
    if api is not None and api not in catalog.apis:
        raise click.BadParameter(f"no API '{api}' (loaded: {', '.join(sorted(catalog.apis))})", param_hint="--api")
    try:
        servers.run(settings, catalog)
    except servers.CannotServe as exc:
        raise click.ClickException(str(exc)) from None


@main.command(name="validate", epilog=_examples(
    "mockserver validate my-errors/                     # every .yaml, .yml, .json under it",
    "MOCKSERVER_SCENARIOS=a.yaml:b/ mockserver validate # the files serve would read"))
@click.argument("paths", nargs=-1, envvar="MOCKSERVER_SCENARIOS",  # ':'-separated, as serve reads it
                type=click.Path(path_type=Path))  # a missing one: a problem, exit 1
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check scenario files; exit 0 when all are valid, else 1 with one 'file:line: field: problem' each.

    PATHS: files or folders (subfolders too); none given, those of MOCKSERVER_SCENARIOS, the files serve reads."""
    if not paths:
        raise click.UsageError("give the scenario files or folders to check, or set MOCKSERVER_SCENARIOS")
    problems = validate(paths)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    files = scenario_files(paths)
    if paths and not files:  # "ok: 0 files" would pass a CI step that checks nothing
        click.echo(f"no scenario file ({', '.join(SUFFIXES)}) in {', '.join(map(str, paths))}", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(files)} file(s) valid")


@main.command(epilog=_examples(
    "mockserver catalog --api dcs                       # DCS's documented errors",
    "mockserver catalog --format json | jq '.[].id'",
    "mockserver catalog --format markdown my-errors/    # with your files' errors"))
@option("--api", default=None, envvar=_envvars("catalog", "api"), help="Only this API.")
@option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
        envvar=_envvars("catalog", "format"), help="json: the entries of /__admin/catalog.")
@_scenarios_option()
def catalog(api: str | None, fmt: str, scenarios: tuple[Path, ...], more_scenarios: tuple[Path, ...]) -> None:
    """List every documented error: api, id, status, title, how to trigger it, doc reference.

    PATHS: more scenario files or folders, as --scenarios adds, read after the ones --scenarios names."""
    try:
        loaded = load_catalog(scenarios + more_scenarios)
    except ScenarioError as exc:
        _print_problems(exc, "no catalog to list")
        sys.exit(1)
    if api is not None and api not in loaded.apis:
        raise click.BadParameter(f"no API '{api}' (loaded: {', '.join(sorted(loaded.apis))})", param_hint="--api")
    entries = loaded.entries(api)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo("| api | id | status | title | trigger | doc |\n| --- | --- | --- | --- | --- | --- |")
        for e in entries:
            cells = [e["api"], f"`{e['id']}`", str(e["status"]), e["title"], e["trigger"], e["doc"]]
            click.echo("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        piped = not console.is_terminal
        if piped:  # rich's 80 columns (or COLUMNS') would fold most rows over several lines, and ids for grep
            console = Console(width=max(console.width, 200))
        table = Table(title=f"{len(entries)} documented errors")
        for column in ("api", "id", "status", "title", "trigger", "doc"):  # a narrow terminal folds them all
            table.add_column(column, overflow="fold", no_wrap=piped and column in ("api", "id", "status"))
        for e in entries:
            table.add_row(e["api"], e["id"], str(e["status"]), e["title"], e["trigger"], e["doc"])
        console.print(table)


def _print_problems(exc: ScenarioError, outcome: str) -> None:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(exc.problems)} problem(s) in the scenario files; {outcome}.", err=True)


# -- reading a running server: coverage and verdict (exit 1 when the answer is bad, 2 when unreachable) --

def _server_root(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A URL with its scheme: `127.0.0.1:8080` alone would be read as a scheme and a path."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError as exc:  # `http://[::1`: an IPv6 address never closed
        raise click.BadParameter(f"{value!r} is not a server URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not a server URL: give http://HOST:PORT, e.g. http://127.0.0.1:8080")
    return value


def _session_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A name a request could carry: the server would refuse another (exit 2 is for a URL it cannot read)."""
    from mockserver.engine.flags import SESSION_NAMES, valid_session

    if value is not None and not valid_session(value):
        raise click.BadParameter(f"{value!r} is not a session name ({SESSION_NAMES[0]})")
    return value


def _url_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--url", required=True, envvar="MOCKSERVER_URL", metavar="URL", callback=_server_root,
                        help="The running server's root, e.g. http://127.0.0.1:8080 (or MOCKSERVER_URL).")


_ADMIN_READ_MAX = 256 * 1024 * 1024  # a whole journal's verdict is a few MB; an endless body is not the mock


def _admin_json(url: str, path: str, params: dict[str, str | None], keys: tuple[str, ...]) -> Any:
    """The admin route's JSON object, which has `keys`; exit 2 with one line when the URL is not the mock's."""
    import http.client
    import urllib.error
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/__admin{path}?{query}", timeout=30) as answer:
            found = json.loads(answer.read(_ADMIN_READ_MAX + 1)[:_ADMIN_READ_MAX])
        if isinstance(found, dict) and all(key in found for key in keys):
            return found
        click.echo(f"{url}/__admin{path} does not answer as mockserver does (no {', '.join(keys)}): is --url "
                   "a mockserver's root?", err=True)
    except urllib.error.HTTPError as exc:
        hint = " (is --url the server's root, with no API prefix?)" if exc.code == 404 else ""
        click.echo(f"{url}/__admin{path}: {exc.code} {exc.read().decode('utf-8', 'replace')}{hint}", err=True)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, RecursionError) as exc:
        click.echo(f"cannot read {url}/__admin{path}: {type(exc).__name__}: {exc}", err=True)
    sys.exit(2)


@main.command(name="coverage", epilog=_examples(
    "mockserver coverage --url http://127.0.0.1:8080",
    "mockserver coverage --url $MOCKSERVER_URL --format junit > coverage.xml",
    "mockserver coverage --url http://127.0.0.1:8080 --api braze --min 0.8   # a CI gate"))
@_url_option()
@option("--session", default=None, envvar=_envvars("coverage", "session"), callback=_session_name,
        help="Only what this session was served.")
@option("--api", default=None, envvar=_envvars("coverage", "api"),
        help="Only this API (braze, reactor, dcs, edge, clientless).")
@option("--format", "fmt", type=click.Choice(["table", "json", "junit"]), default="table", show_default=True,
        envvar=_envvars("coverage", "format"),
        help="junit: JUnit XML, a test case per documented error, skipped when never served.")
@option("--min", "minimum", type=click.FloatRange(0, 1), default=None, metavar="RATIO",
        envvar=_envvars("coverage", "min"),
        help="Exit 1 when the documented errors served, over the APIs in play, are under RATIO.")
def coverage_command(url: str, session: str | None, api: str | None, fmt: str, minimum: float | None) -> None:
    """Per API: documented errors served / total, and the ids never served."""
    from mockserver import coverage

    report = _admin_json(url, "/coverage", {"session": session, "api": api}, ("apis", "in_play", "ratio"))
    click.echo(json.dumps(report, indent=2) if fmt == "json" else coverage.junit(report) if fmt == "junit"
               else coverage.table(report), nl=fmt != "junit")
    if minimum is not None and report["ratio"] < minimum:
        click.echo(f"coverage {report['ratio']:.1%} is under --min {minimum:g}", err=True)
        sys.exit(1)


@main.command(name="verdict", epilog=_examples(
    "mockserver verdict --url http://127.0.0.1:8080                # each session apart",
    "mockserver verdict --url http://127.0.0.1:8080 --session ci-42 --format json"))
@_url_option()
@option("--session", default=None, envvar=_envvars("verdict", "session"), callback=_session_name,
        help="Judge this session only (default: each session apart).")
@option("--api", default=None, envvar=_envvars("verdict", "api"), help="Judge this API's requests only.")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        envvar=_envvars("verdict", "format"), help="json: the body of /__admin/verdict.")
def verdict_command(url: str, session: str | None, api: str | None, fmt: str) -> None:
    """Judge the client's retries against each API's documented rules; exit 1 on any finding, or when the
    journal's bound pushed out requests it should have judged (as `assert_clean_verdict()` fails then)."""
    from mockserver.verdict import describe

    verdict = _admin_json(url, "/verdict", {"session": session, "api": api}, ("clean", "findings", "requests"))
    click.echo(json.dumps(verdict, indent=2) if fmt == "json" else describe(verdict))
    if not verdict["clean"] or not verdict.get("complete", True):
        sys.exit(1)
