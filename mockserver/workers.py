"""`--workers N` on either server: SIGHUP replaces the workers without leaving a request unanswered.

nginx and gunicorn replace their workers so (README, Stopping): the new workers start and take the listening socket's
connections, then the old ones stop accepting and finish what they hold. uvicorn's supervisor started one new worker,
then stopped an old one as SIGTERM does (its idle connections, some of them just accepted with the request on its way,
closed at once; a request in flight cut after the 3 s grace), and gave up the restart when a new worker took more than
5 s to start (under load, on two cores, it did); hypercorn's stopped every worker, so, before starting new ones. An
audit of 20 clients across two SIGHUPs counted 17 to 21 requests with no answer, and a `__delay` in flight cut.

A retired worker (`retire`) stops accepting, then every connection it holds ends after the answer it owes: a request
that arrives on it is answered with `Connection: close` (HTTP/2: GOAWAY), one that stays idle, or was accepted and has
sent nothing yet, closes at the keep-alive timeout (5 s), as any idle connection does. Requests in flight finish, with
no grace: a SIGHUP is asked for while clients run, and cutting a request there is the loss this avoids (nginx sets no
limit either). A SIGTERM or SIGINT meanwhile stops the retired workers too, with the grace of any stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import wait
from typing import Any, cast

import uvicorn
from uvicorn.supervisors import multiprocess

from mockserver.transports import FaultingHttpToolsProtocol

log = logging.getLogger("uvicorn.error")

READY_SECONDS = 60  # for a new worker to serve, else a SIGHUP keeps the old ones (uvicorn's 5 s ran out under load)
NOT_STARTED = "did not start (SIGHUP); the workers keep serving the files read before."
RETIRE = b"retire"  # the supervisor's word to an old uvicorn worker, on the pipe of its health pings


class RetiringServer(uvicorn.Server):
    """A uvicorn worker that, told to retire, finishes the connections it holds before stopping as uvicorn does."""

    retiring = False

    def retire(self) -> None:
        """From the thread that answers the supervisor's pings: the main loop sees `should_exit` within 0.1 s."""
        self.retiring = True
        self.should_exit = True

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM or SIGINT while retiring: a stop like any other (the grace, then the requests still held end).
        uvicorn reads a SIGINT that finds `should_exit` set as a second Ctrl-C, and exits at once: not this first."""
        if self.retiring:
            self.retiring = False
            return
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        if self.retiring:
            for server in self.servers:
                server.close()  # the new workers take the listening socket's connections
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                if isinstance(connection, FaultingHttpToolsProtocol):
                    connection.retire()
                else:  # not ours (none is): as uvicorn's stop
                    connection.shutdown()
            while self.retiring and (self.server_state.connections or self.server_state.tasks):
                await asyncio.sleep(0.1)
        await super().shutdown(sockets)


class RetiringWorker(multiprocess.Process):
    """uvicorn's worker process, serving with `RetiringServer`, which the supervisor can tell to retire."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = RetiringServer(config=self.config)
        return self._server

    def always_pong(self) -> None:
        while True:
            if self.child_conn.recv() == RETIRE:
                self.server.retire()  # type: ignore[attr-defined]
            else:
                self.child_conn.send(self.server.started)

    def retire(self) -> None:
        self.parent_conn.send(RETIRE)
        log.info("Retiring child process [%s] once its connections end", self.pid)


class Supervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, except that SIGHUP starts every new worker, and once they all serve retires the old
    ones, whose end it does not wait for (a SIGTERM is still handled at once, and stops them too)."""

    def __init__(self, config: uvicorn.Config, sockets: list[Any], files_readable: Callable[[], bool]) -> None:
        super().__init__(config, sockets)
        self.files_readable = files_readable
        self.retiring: list[RetiringWorker] = []
        multiprocess.Process = RetiringWorker  # type: ignore[misc]  # every worker it starts, one that died too

    def restart_all(self) -> None:
        """The files are read first, as hypercorn's supervisor does: a problem is printed once, not by each new
        worker, and none is started."""
        if not self.files_readable():
            return
        new = [RetiringWorker(self.config, self.sockets) for _ in self.processes]
        for worker in new:
            worker.start()
        for worker in new:
            if not worker.wait_until_ready(READY_SECONDS, self.should_exit):
                for started in new:
                    started.kill()
                    started.join()
                if not self.should_exit.is_set():
                    log.error("New child process [%s] %s", worker.pid, NOT_STARTED)
                return
        old = cast(list[RetiringWorker], self.processes)  # every one is (__init__)
        self.processes = [*new]
        for worker in old:
            worker.retire()
        self.retiring += old

    def keep_subprocess_alive(self) -> None:
        for worker in [worker for worker in self.retiring if not worker.process.is_alive()]:
            worker.join()
            self.retiring.remove(worker)
        super().keep_subprocess_alive()

    def terminate_all(self) -> None:
        super().terminate_all()
        for worker in self.retiring:
            worker.terminate()

    def join_all(self) -> None:
        super().join_all()
        for worker in self.retiring:
            worker.join()


def run_hypercorn_workers(config: Any, grace_seconds: float, files_readable: Callable[[], bool]) -> int:
    """hypercorn's supervisor (`hypercorn.run.run`), replacing workers on SIGHUP as above, waiting at a stop for every
    worker's grace (hypercorn's terminated the others once one had ended: their requests in flight got no answer),
    and reading the files before a SIGHUP (hypercorn's stopped its workers, then itself when new ones could not start:
    a broken file stopped the server; now the problem is printed and the workers keep serving)."""
    ctx = get_context("spawn")
    sockets = config.create_sockets()
    stop = ctx.Event()
    asked: list[int] = []  # the signals received, in turn

    def spawn(retire: Any) -> tuple[Any, Any]:
        """A worker, started with SIGINT and SIGHUP ignored (a spawned process keeps an ignored signal): a terminal's
        Ctrl-C or hang-up reaches the workers too, and the supervisor decides."""
        ready = ctx.Event()
        process = ctx.Process(target=_hypercorn_worker, args=(config, sockets, stop, retire, ready))
        handlers = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGHUP)}
        try:
            process.start()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        return process, ready

    def start() -> tuple[Any, list[tuple[Any, Any]]]:
        retire = ctx.Event()
        return retire, [spawn(retire) for _ in range(config.workers)]

    def reap() -> None:
        """The retired workers that have ended: joined (not left a zombie while new ones start)."""
        for process in [process for process in retired if process.exitcode is not None]:
            process.join()
            retired.remove(process)

    def serving(workers: list[tuple[Any, Any]]) -> bool:
        """Whether every new worker serves (False once one has ended, is late, or a stop is asked for)."""
        deadline = time.monotonic() + READY_SECONDS
        for process, ready in workers:
            while not ready.wait(0.1):
                reap()
                if not process.is_alive() or time.monotonic() > deadline or set(asked) - {signal.SIGHUP}:
                    return False
        return True

    retired: list[Any] = []  # the workers before a SIGHUP, finishing what they hold
    retire, workers = start()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _: asked.append(signum))
    exitcode = 0
    while not exitcode:
        wait([process.sentinel for process, _ in workers] + [process.sentinel for process in retired], 0.2)
        reap()
        if asked and asked[0] in (signal.SIGINT, signal.SIGTERM):
            break
        if asked:  # SIGHUP
            del asked[0]
            if files_readable():
                new_retire, new_workers = start()
                if serving(new_workers):
                    retire.set()
                    retired += [process for process, _ in workers]
                    retire, workers = new_retire, new_workers
                else:
                    for process, _ in new_workers:
                        process.terminate()
                        process.join()
                    if not set(asked) - {signal.SIGHUP}:
                        print(f"A new worker {NOT_STARTED}", file=sys.stderr, flush=True)
        for process, ready in list(workers):
            if process.exitcode is not None:  # a worker that failed stops the server; one that ended, or that a
                process.join()                # signal killed (kill -9, the OOM killer), is started again, as
                workers.remove((process, ready))  # uvicorn's supervisor does (hypercorn's stopped, with exit 0)
                if process.exitcode < 0:
                    print(f"Worker [{process.pid}] was killed by signal {-process.exitcode}; starting another.",
                          file=sys.stderr, flush=True)
                else:
                    exitcode = process.exitcode
        if not exitcode and len(workers) < config.workers:
            workers.append(spawn(retire))
    stop.set()
    running = [process for process, _ in workers] + retired
    deadline = time.monotonic() + grace_seconds + 1
    while running and (left := deadline - time.monotonic()) > 0:
        ended = wait([process.sentinel for process in running], left)
        running = [process for process in running if process.sentinel not in ended]
    for process in running:
        process.terminate()
    for process in [process for process, _ in workers] + retired:
        process.join()
    for sock in sockets.insecure_sockets:
        sock.close()
    return exitcode


def _hypercorn_worker(config: Any, sockets: Any, stop: Any, retire: Any, ready: Any) -> None:
    """hypercorn's uvloop worker (`hypercorn.asyncio.run.uvloop_worker`), serving with `_serve_hypercorn`."""
    import uvloop
    from hypercorn.utils import load_application

    app = load_application(config.application_path, config.wsgi_max_body_size)
    uvloop.run(_serve_hypercorn(app, config, sockets, stop, retire, ready))


async def _serve_hypercorn(app: Any, config: Any, sockets: Any, stop: Any, retire: Any, ready: Any) -> None:
    """hypercorn's `worker_serve` over plain TCP (mockserver serves no TLS nor QUIC), which also retires: on `retire`
    it stops accepting and waits for every connection it holds to end (see the module's docstring); on `stop` the
    idle connections close and the others get `config.graceful_timeout`, as in hypercorn."""
    import hypercorn.asyncio.run as hypercorn_run  # its TCPServer: the one transports.install_hypercorn put there
    from hypercorn.asyncio.lifespan import Lifespan
    from hypercorn.asyncio.statsd import StatsdLogger
    from hypercorn.asyncio.worker_context import WorkerContext
    from hypercorn.utils import repr_socket_addr

    config.set_statsd_logger_class(StatsdLogger)
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {}
    lifespan = Lifespan(app, config, loop, state)
    lifespan_task = loop.create_task(lifespan.handle_lifespan())
    await lifespan.wait_for_startup()
    if lifespan_task.done() and (failed := lifespan_task.exception()) is not None:
        raise failed
    context = WorkerContext(None)
    held: set[asyncio.Task[Any]] = set()

    async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        held.add(task)
        task.add_done_callback(held.discard)
        await hypercorn_run.TCPServer(app, loop, config, context, state, reader, writer)  # type: ignore[attr-defined]

    servers = []
    for sock in sockets.insecure_sockets:
        servers.append(await asyncio.start_server(serve_connection, backlog=config.backlog, sock=sock))
        bind = repr_socket_addr(sock.family, sock.getsockname())
        await config.log.info(f"Running on http://{bind} (CTRL + C to quit)")
    ready.set()
    while not (stop.is_set() or retire.is_set()):
        await asyncio.sleep(0.1)
    for server in servers:
        server.close()
        await server.wait_closed()
    if not stop.is_set():  # retired: every answer from now on is the connection's last (h11: Connection: close)
        config.keep_alive_max_requests = 0
        while held and not stop.is_set():
            await asyncio.sleep(0.1)
    await context.terminated.set()
    gathered = asyncio.gather(*held)
    try:
        await asyncio.wait_for(gathered, config.graceful_timeout)
    except TimeoutError:
        pass
    finally:
        gathered.exception()  # read, or asyncio warns that it never was
        await lifespan.wait_for_shutdown()
        lifespan_task.cancel()
        await lifespan_task
