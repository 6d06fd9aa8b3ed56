"""Run the app on uvicorn (default: uvloop + httptools) or hypercorn (HTTP/1.1 and h2c).

Backends are a table, as in uvicorn's config: adding one is one entry. With --workers > 1 the
workers rebuild the app from the settings passed in MOCKSERVER_SETTINGS_JSON.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from mockserver import __version__
from mockserver.app import MockServerApp, build_app, log_to_stderr, problem_lines
from mockserver.scenario.model import Catalog
from mockserver.settings import SETTINGS_ENV, Settings

log = logging.getLogger("mockserver")


def _bind(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{host}:{settings.port}"


class CannotServe(Exception):
    """The server cannot start: one line for the user, no traceback."""


class CannotListen(CannotServe):
    """The address cannot be listened on: in use, not ours (a port under 1024), or no such host."""


# What each server imports (the package's dependencies: missing only from an install made without them).
MAX_HEAD_BYTES = 16 * 2**20  # a request's head hypercorn reads (uvicorn's httptools has no limit)
NEEDS = {"uvicorn": ("uvicorn", "uvloop", "httptools"), "hypercorn": ("hypercorn", "uvloop")}


def check_installed(server: str) -> None:
    import importlib

    for module in NEEDS[server]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise CannotServe(f"--server {server} needs the Python package {module}, which is not installed "
                              f"here: pip install {module} (or reinstall mockserver with its dependencies)") from None


def listen(settings: Settings) -> socket.socket:
    """The listening socket, made here and handed to either server (and its workers): both fail alike when the address
    cannot be had (one line, not hypercorn's traceback), and the start-up line names the port `--port 0` got."""
    try:
        # IPv6 for an address with a colon, else IPv4 (`localhost` is 127.0.0.1), as both servers bind their own
        wanted = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        family, kind, proto, _, address = socket.getaddrinfo(settings.host, settings.port, wanted, socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as both servers do
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as hypercorn does (its connections inherit it)
            sock.bind(address)
            sock.listen(BACKLOG)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise CannotListen(f"cannot listen on {_bind(settings)}: {exc.strerror or exc} ({_remedy(exc)})") from None
    sock.set_inheritable(True)  # the workers' (uvicorn's and hypercorn's pass it on, as with their own sockets)
    return sock


BACKLOG = 2048  # uvicorn's default (hypercorn listens again with its own, 100)


def started_line(settings: Settings, catalog: Catalog | None, sock: socket.socket) -> str:
    """What `serve` prints once it listens: where, what, and where to ask whether it is up (README, Command line)."""
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    if settings.api is not None:
        apis = f"{settings.api} at /"
    else:
        served = sorted(catalog.apis.items()) if catalog is not None else []
        apis = ", ".join(f"{name} {api.prefix}" for name, api in served)
    processes = f"{settings.workers} workers" if settings.workers > 1 else "1 process"
    return (f"mockserver {__version__} listening on {url} ({settings.server}, {processes}, seed {settings.seed}): "
            f"{apis}; health {url}/__admin/health")


def _remedy(exc: OSError) -> str:
    """What to do about it, in the words of the options (the environment variables say the same)."""
    import errno
    import socket

    if exc.errno == errno.EADDRINUSE:
        return "another process listens there: stop it, or choose another --port"
    if exc.errno == errno.EACCES:
        return "a port under 1024 needs privileges: choose one above, e.g. --port 8080"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return "--host takes an address of this machine: 127.0.0.1, or 0.0.0.0 for every interface"
    return "check --host and --port"


def _access_level(settings: Settings) -> str:
    """--access-log shows every request line whatever --log-level says of the server's other messages."""
    return "DEBUG" if settings.log_level == "debug" else "INFO"


# Seconds the requests in flight get to finish once a stop is asked for (a __delay or a slow fault may run for
# minutes): hypercorn's default, given to uvicorn too, whose default waits for ever (past docker stop's 10 s).
GRACE_SECONDS = 3


def _files_readable(settings: Settings) -> bool:
    """Whether the scenario files load now, read before new workers are started on SIGHUP; on a problem it prints one
    line each, once (not once per new worker), and the workers keep serving (workers.py)."""
    from mockserver.scenario.load import load_catalog
    from mockserver.scenario.read import ScenarioError

    try:
        catalog = load_catalog(settings.scenario_paths)
    except ScenarioError as exc:
        lines = problem_lines(exc, " (SIGHUP); the workers keep serving the files read before")
    else:
        api = settings.api
        if api is None or api in catalog.apis:
            return True
        lines = [f"--api {api}: no such API in the scenario files now (SIGHUP); the workers keep serving the "
                 "files read before."]
    print("\n".join(lines), file=sys.stderr, flush=True)
    return False


def run_uvicorn(settings: Settings, catalog: Catalog | None, sock: socket.socket) -> None:
    import copy
    from types import FrameType

    import uvicorn

    class Server(uvicorn.Server):
        """SIGTERM or SIGINT is the stop asked for: exit 0, as hypercorn and uvicorn's --workers do (one uvicorn
        process raises the signal again once shut down: 143 under docker stop, click's 'Aborted!' and 1 on Ctrl-C)."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()
    from uvicorn.config import LOGGING_CONFIG

    from mockserver.transports import FaultingHttpToolsProtocol

    common: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        # uvloop, taking every waiting connection at once (eventloop.py); workers sharing the socket keep
        # uvloop's few per turn, or the first to wake would take a whole burst and leave the others idle
        loop="mockserver.eventloop:new_event_loop" if settings.workers == 1 else "uvloop",
        http=FaultingHttpToolsProtocol,  # httptools, plus the connection for transport faults
        ws="none",  # no API speaks WebSocket: a handshake is answered as the HTTP request it also is
        lifespan="on",
        access_log=settings.access_log,
        log_level=settings.log_level,
        # The answer's own Server header only (clientless's openresty 429 has one): uvicorn would add
        # its own beside it, and a client would see two.
        server_header=False,
        date_header=False,  # the app writes Date at the mock's clock (Clock.http_date)
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    if settings.access_log:  # uvicorn's log level would silence its access log (INFO) too: set each logger's
        log_config = copy.deepcopy(LOGGING_CONFIG)
        log_config["loggers"]["uvicorn.error"]["level"] = settings.log_level.upper()
        log_config["loggers"]["uvicorn.access"]["level"] = _access_level(settings)
        common.update(log_config=log_config, log_level=None)
    if settings.workers > 1:  # uvicorn.run(workers=N), on our socket; SIGHUP replaces the workers (workers.py)
        from mockserver.workers import Supervisor

        os.environ[SETTINGS_ENV] = settings.to_json()
        config = uvicorn.Config("mockserver.app:app_from_environment", factory=True, workers=settings.workers, **common)
        try:
            Supervisor(config, [sock], lambda: _files_readable(settings)).run()
        except KeyboardInterrupt:
            pass
    else:
        Server(uvicorn.Config(_one_process(settings, catalog), **common)).run(sockets=[sock])


def run_hypercorn(settings: Settings, catalog: Catalog | None, sock: socket.socket) -> None:
    from hypercorn.config import Config

    from mockserver.transports import HypercornConnectionApp, install_hypercorn

    install_hypercorn()
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn takes the socket over (and passes it to its workers)
    config.accesslog = "-" if settings.access_log else None
    config.access_log_format = config.access_log_format.replace("%(r)s", "%(R)s")  # the query too, as uvicorn's
    config.loglevel = settings.log_level.upper()
    if settings.access_log:  # as for uvicorn: the access log (INFO) whatever the level of the other messages
        config.logconfig_dict = {"version": 1, "incremental": True,
                                 "loggers": {"hypercorn.access": {"level": _access_level(settings)}}}
    config.include_server_header = False  # as uvicorn's above: the answer's own Server header, if any
    config.include_date_header = False  # as uvicorn's above: Date at the mock's clock
    config.graceful_timeout = GRACE_SECONDS
    # h11 refused a head over 16 KB with 431, but only when it came in more than one read: as uvicorn, the app
    # reads every request line and its APIs answer a long one themselves (DCS: 414 over 8 KB)
    config.h11_max_incomplete_size = MAX_HEAD_BYTES
    if settings.workers > 1:  # hypercorn's supervisor, replacing the workers on SIGHUP as nginx does (workers.py)
        from mockserver.workers import run_hypercorn_workers

        os.environ[SETTINGS_ENV] = settings.to_json()
        config.workers = settings.workers
        config.application_path = "mockserver._worker:app"
        failed = run_hypercorn_workers(config, GRACE_SECONDS, lambda: _files_readable(settings))
        if failed:  # a worker that failed stopped the others: the server's exit says so (it said 0)
            print(f"A worker ended with exit code {failed}; the server stopped.", file=sys.stderr, flush=True)
            raise SystemExit(failed)
    else:
        import uvloop
        from hypercorn.asyncio import serve

        from mockserver.eventloop import new_event_loop

        app = HypercornConnectionApp(_one_process(settings, catalog))
        uvloop.run(serve(app, config), loop_factory=new_event_loop)  # type: ignore[arg-type]


def _one_process(settings: Settings, catalog: Catalog | None) -> MockServerApp:
    """The app of a server with no workers: SIGHUP reads the scenario files again (README, Stopping)."""
    app = build_app(settings, catalog, freeze_heap=True)
    app.reread_on_hangup = True
    return app


SERVERS: dict[str, Callable[[Settings, Catalog | None, socket.socket], None]] = {"uvicorn": run_uvicorn,
                                                                                  "hypercorn": run_hypercorn}


def run(settings: Settings, catalog: Catalog | None = None) -> None:
    """Serve until stopped; `catalog` is the one the CLI already loaded (workers load their own)."""
    check_installed(settings.server)
    sock = listen(settings)
    log_to_stderr(settings.log_level)  # --log-level error: no warning of ours either; debug: a line per request
    if settings.workers > 1 and settings.state.startswith("memory"):
        log.warning("state is per worker with --state memory:// and --workers %d: sequences and quotas "
                    "are counted, resources, the journal, modes switched on and the virtual clock kept, by "
                    "each worker (an admin call reaches one of them); use --state redis://... to share them",
                    settings.workers)
    if not settings.quiet:  # once, from the one process that listens (the workers take its socket)
        print(started_line(settings, catalog, sock), file=sys.stderr, flush=True)
    if settings.workers > 1:
        gc.enable()  # this process only supervises the workers, which load the files and serve (gc: see _lifespan)
    with sock:  # closed once served (hypercorn took it over: detached, so this closes nothing)
        SERVERS[settings.server](settings, catalog, sock)
