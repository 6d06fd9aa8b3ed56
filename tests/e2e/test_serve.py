"""Real server processes: start-up, determinism across processes, both servers, the installed wheel."""

from __future__ import annotations

import email.utils
import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

import mockserver
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow
AUTH = {"Authorization": "Bearer token", "x-api-key": "mock"}  # Reactor's gateway wants an API key


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.items() if k not in ("date", "server")]
    return response.status_code, headers, response.content


def test_health_within_two_seconds_of_start(start_server):
    """Best of three starts, so a neighbour test hogging both cores for a moment does not decide it."""
    timings = []
    for _ in range(3):
        server = start_server(wait=False)
        timings.append(server.wait_healthy(timeout=15))
        server.stop()
        if timings[-1] < 2.0:
            break
    assert min(timings) < 2.0, timings


def test_same_seed_same_bytes_across_two_processes(start_server):
    one, two = start_server("--seed", "42"), start_server("--seed", "42")
    other = start_server("--seed", "43")
    requests = [("GET", "/reactor/companies", {}), ("GET", "/reactor/properties/PR1", {}),
                ("GET", "/reactor/companies?__error=internal-error", {}),
                ("GET", "/reactor/companies", {"Prefer": "code=403"})]

    def replay(server) -> list:
        headers = {**AUTH, "X-Mock-Session": "det", "Host": "mock.test"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            answers = [comparable(client.request(m, p, headers=h)) for m, p, h in requests]
            company = client.get("/reactor/companies").json()["data"][0]["id"]
            made = client.post(f"/reactor/companies/{company}/properties", headers={
                "Content-Type": "application/vnd.api+json"}, content=json.dumps({"data": {
                    "type": "properties", "attributes": {"name": "P", "platform": "web", "domains": ["a.com"]}}}))
            return [*answers, comparable(made)]

    first = replay(one)
    time.sleep(1.1)  # the clock runs: a created_at read off the wall would now differ
    assert first == replay(two)
    assert first != replay(other)
    # the session's time line: the request's number in seconds after its epoch, not the wall's time
    assert b'"created_at":"2025-01-01T00:00:06.000Z"' in first[-1][2]


def test_same_seed_same_bytes_whatever_the_processes_hash_seed(start_server):
    """GUIDE §2's same bytes must not hang on Python's per-process string hashing: a preflight's
    Access-Control-Allow-Methods joined a route's set of methods (GET,POST in one process, POST,GET in
    another). The methods a 404 or a misuse lists were sorted already: kept so."""
    one = start_server("--seed", "42", env={"PYTHONHASHSEED": "1"})
    two = start_server("--seed", "42", env={"PYTHONHASHSEED": "2"})
    preflight = {"Origin": "https://site.test", "Access-Control-Request-Method": "POST"}
    requests = [("OPTIONS", "/reactor/properties/PR1/libraries", preflight),
                ("OPTIONS", "/reactor/libraries/LB1/relationships/rules", preflight),
                ("OPTIONS", "/dcs/event?d_orgid=x", preflight),
                ("PUT", "/reactor/libraries/LB1/relationships/rules", {}), ("PUT", "/dcs/event", {})]
    # and every documented error of every API, asked by flag on one of its routes
    paths = {"reactor": "/reactor/companies", "braze": "/braze/campaigns/list", "dcs": "/dcs/event?d_orgid=x",
             "edge": "/edge/ee/v2/interact?datastreamId=ds-1", "clientless": "/clientless/api/v1/config/adultswim"}
    catalog = httpx.get(f"{one.url}/__admin/catalog").json()
    errors = [(e["api"], e["id"]) for e in (catalog["errors"] if isinstance(catalog, dict) else catalog)]
    requests += [("POST" if api == "edge" else "GET", f"{paths[api]}{'&' if '?' in paths[api] else '?'}__error={id_}",
                  {}) for api, id_ in errors]

    def replay(server) -> list:
        headers = {**AUTH, "X-Mock-Session": "hash", "Host": "mock.test"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            return [comparable(client.request(m, p, headers=h, json={"event": {}} if m == "POST" else None))
                    for m, p, h in requests]

    first = replay(one)
    assert [answer[0] for answer in first[:5]] == [204, 204, 204, 404, 400], first  # Reactor: not-found; DCS: misuse
    assert len(errors) > 150  # DCS answers its codes in a 200, Edge some in a 207
    assert first == replay(two)


def test_a_clock_frozen_at_one_instant_gives_the_same_time_in_every_process(start_server):
    """Answers that print the time (Braze's X-RateLimit-Reset, Reactor's created_at, clientless's
    generated and expires) are the same bytes in two processes frozen at the same instant."""
    one = start_server("--seed", "42")
    time.sleep(1.2)  # the second process starts, and answers, over a second later
    two = start_server("--seed", "42")

    def replay(server) -> list:
        headers = {**AUTH, "X-Mock-Session": "clock", "Host": "mock.test"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            assert client.post("/__admin/clock", json={"freeze": "2026-01-01T00:00:00Z"}).json()["now"] == 1767225600
            company = client.get("/reactor/companies").json()["data"][0]["id"]
            made = client.post(f"/reactor/companies/{company}/properties", headers={
                "Content-Type": "application/vnd.api+json"}, content=json.dumps({"data": {
                    "type": "properties", "attributes": {"name": "P", "platform": "web", "domains": ["a.com"]}}}))
            tracked = client.post("/braze/users/track", json={"attributes": [{"external_id": "a", "x": 1}]})
            code = client.post("/clientless/reggie/v1/R/regcode", data={"deviceId": "abc", "mvpd": "M"})
            return [comparable(r) for r in (made, tracked, code)]

    first = replay(one)
    assert first == replay(two)
    assert b'"created_at":"2026-01-01T00:00:00' in first[0][2]
    assert ("x-ratelimit-reset", "1767225603") in first[1][1]


def test_broken_scenario_file_stops_the_start(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("api: reactor\nerrors:\n  x: {status: 99, title: T}\n")
    run = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", str(free_port()),
                          "--scenarios", str(bad)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert f"{bad}:3: errors.x.status:" in run.stderr and "nothing was started" in run.stderr


def test_environment_variables_configure_serve(start_server):
    server = start_server(env={"MOCKSERVER_API": "reactor", "MOCKSERVER_SEED": "9"})
    response = httpx.get(server.url + "/properties/PR1", headers=AUTH)
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not-found"
    assert httpx.get(server.url + "/__admin/health").json()["seed"] == 9


def test_hypercorn_serves_http1_and_h2c(start_server):
    server = start_server("--server", "hypercorn")
    assert httpx.get(server.url + "/reactor/properties/PR1", headers=AUTH).status_code == 404
    with httpx.Client(http1=False, http2=True) as client:
        response = client.get(server.url + "/reactor/properties/PR1", headers=AUTH)
    assert response.http_version == "HTTP/2" and response.status_code == 404


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_several_workers_answer(start_server, server_name):
    server = start_server("--server", server_name, "--workers", "2")
    assert httpx.get(server.url + "/reactor/companies", headers=AUTH).status_code == 200
    # memory:// is per worker: a mode switched on, or the clock moved, by an admin call reaches one of them
    warning = " ".join(server.stop().split())
    assert "modes switched on and the virtual clock kept, by each worker" in warning


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_an_answer_carries_its_own_server_header_only(start_server, server_name):
    """Clientless's throttled page names openresty: the server in front must not add its own beside it."""
    server = start_server("--server", server_name)
    throttled = httpx.get(server.url + "/clientless/api/v1/config/R.json?__error=too-many-requests-429")
    assert throttled.status_code == 429
    assert throttled.headers.get_list("server") == ["openresty"]
    plain = httpx.get(server.url + "/reactor/properties/PR1", headers=AUTH)
    assert plain.status_code == 404 and "server" not in plain.headers and "date" in plain.headers


def test_catalog_formats():
    base = [sys.executable, "-m", "mockserver", "catalog", "--api", "reactor"]
    as_json = subprocess.run([*base, "--format", "json"], capture_output=True, text=True, check=True).stdout
    assert '"id": "not-found"' in as_json
    markdown = subprocess.run([*base, "--format", "markdown"], capture_output=True, text=True, check=True).stdout
    assert markdown.startswith("| api | id | status |") and "`not-found` | 404" in markdown
    table = subprocess.run(base, capture_output=True, text=True, check=True,
                           env={**os.environ, "COLUMNS": "200"}).stdout
    assert "not-found" in table and "404" in table


def test_the_installed_wheel_carries_scenarios_and_schema(tmp_path, start_server):
    """`pip install .` (not editable) into a fresh venv outside the repo, then serve from there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies come from this test's environment (no download); mockserver itself from the wheel.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(ROOT)], check=True,
                   cwd=tmp_path, timeout=300)
    where = subprocess.run([str(python), "-c", "import mockserver, pathlib; print(pathlib.Path(mockserver.__file__))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(venv)), where
    package = Path(where).parent
    assert (package / "scenario" / "schema.json").is_file() and (package / "scenarios" / "reactor.yaml").is_file()
    server = start_server(executable=[str(venv / "bin" / "mockserver")])
    assert httpx.get(server.url + "/reactor/properties/PR1", headers=AUTH).status_code == 404


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_access_log_prints_each_request_at_the_default_log_level(start_server, server_name):
    """--access-log alone (log level warning) shows the request lines, and nothing else is printed."""
    server = start_server("--access-log", "--server", server_name)
    httpx.get(server.url + "/dcs/event?d_mid=1")
    output = server.stop()
    assert "GET /dcs/event?d_mid=1 " in output, output
    quiet = start_server("--server", server_name)
    httpx.get(quiet.url + "/dcs/event?d_mid=1")
    assert "/dcs/event" not in quiet.stop()


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_date_is_one_header_at_the_mocks_clock(start_server, server_name):
    """RFC 9110 6.6.1: one Date, the time the answer was made. Made at the mock's clock, a client that reads
    Braze's X-RateLimit-Reset or a Retry-After against Date sees the time the clock was moved to."""
    server = start_server("--server", server_name)
    frozen_at = 1_900_000_000  # 2030-03-17T17:46:40Z
    assert httpx.post(server.url + "/__admin/clock", json={"freeze": frozen_at}).status_code == 200
    braze = httpx.get(server.url + "/braze/campaigns/list", headers={"Authorization": "Bearer k"})
    admin = httpx.get(server.url + "/__admin/health")
    for response in (braze, admin, httpx.get(server.url + "/nowhere")):
        assert response.headers.get_list("date") == ["Sun, 17 Mar 2030 17:46:40 GMT"], response.url
    reset = int(braze.headers["x-ratelimit-reset"])
    assert 0 < reset - email.utils.parsedate_to_datetime(braze.headers["date"]).timestamp() <= 3600


def _stopped(server, sig: int) -> tuple[float, int, str]:
    """Seconds from the signal until the process is gone, its exit code, what it printed."""
    signalled = time.monotonic()
    server.process.send_signal(sig)
    out, _ = server.process.communicate(timeout=15)
    return time.monotonic() - signalled, server.process.returncode, out.decode()


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_asked_for_exits_0_at_once(start_server, server_name, sig):
    """docker stop (SIGTERM) and Ctrl-C (SIGINT) are a clean stop on either server: exit 0 (a lone uvicorn raised
    the signal again: 143, or click's 'Aborted!' and 1), whatever a script's `kill; wait` checks."""
    server = start_server("--server", server_name)
    seconds, code, output = _stopped(server, sig)
    assert code == 0 and seconds < 2
    assert output.startswith("mockserver ") and output.count("\n") == 1, output  # the start-up line, then nothing


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_requests_in_flight_get_a_grace_then_the_stop_ends_them(start_server, server_name):
    """A __delay (or a slow fault) may run for minutes: docker stop kills after 10 s. Once the grace is over the
    connection closes with no answer (not the server's 500, which a client would take for the API's)."""
    from concurrent.futures import ThreadPoolExecutor

    from mockserver.server import GRACE_SECONDS

    server = start_server("--server", server_name)
    with ThreadPoolExecutor(2) as pool:
        waiting = [pool.submit(httpx.get, server.url + path, timeout=30)
                   for path in ("/dcs/event?d_mid=1&__delay=60000", "/dcs/event?d_mid=1&__fault=slow&__delay=60000")]
        time.sleep(0.5)  # both are being answered
        seconds, code, output = _stopped(server, signal.SIGTERM)
        for future in waiting:
            with pytest.raises(httpx.RemoteProtocolError):
                future.result()
    assert code == 0 and GRACE_SECONDS <= seconds < GRACE_SECONDS + 2
    assert "Exception in ASGI application" not in output and "Internal Server Error" not in output
    assert "Traceback" not in output, output  # hypercorn's cancelled connections logged one each (Python 3.11)


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_with_workers_every_worker_finishes_its_requests_in_flight(start_server, server_name):
    """hypercorn's supervisor terminated the other workers once one had ended: a worker with no request in flight
    ends at once, so the requests of the other got no answer (6 of 6, in 3 runs of 4)."""
    from concurrent.futures import ThreadPoolExecutor

    server = start_server("--server", server_name, "--workers", "2", wait=False)
    server.wait_healthy(timeout=30)
    with ThreadPoolExecutor(6) as pool:  # on six connections: both workers hold some
        waiting = [pool.submit(httpx.get, server.url + "/dcs/event?d_mid=1&__delay=1500", timeout=30)
                   for _ in range(6)]
        time.sleep(0.5)
        seconds, code, output = _stopped(server, signal.SIGTERM)
        assert [future.result().status_code for future in waiting] == [200] * 6
    assert code == 0 and seconds < 3, output


def healthcheck_command() -> str:
    """The Dockerfile's HEALTHCHECK command, as docker runs it (`CMD` in shell form: /bin/sh -c)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    return line.split(" CMD ", 1)[1].replace("python -c", f"{sys.executable} -c", 1)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "127.0.0.2"])
def test_the_dockerfile_health_check_asks_the_address_and_port_served(start_server, host):
    """It reads MOCKSERVER_HOST as the server does (WireMock #2878: a health check that ignores the bind address
    marks a healthy container unhealthy), and fails while nothing answers."""
    def check(port: int) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "MOCKSERVER_HOST": host, "MOCKSERVER_PORT": str(port)}
        return subprocess.run(["/bin/sh", "-c", healthcheck_command()], env=env, capture_output=True, timeout=10)

    assert check(free_port()).returncode != 0
    server = start_server(env={"MOCKSERVER_HOST": host}, wait=False)
    server.url = f"http://{ {'0.0.0.0': '127.0.0.1', '::': '[::1]'}.get(host, host)}:{server.port}"  # :: is IPv6 only
    server.wait_healthy()
    assert check(server.port).returncode == 0, check(server.port).stderr


def test_sighup_with_workers_reads_the_files_again_and_a_broken_one_is_one_line(start_server, tmp_path):
    """uvicorn restarts its workers on SIGHUP, and they read the scenario files as they are now: with a problem,
    the old workers keep serving and the supervisor, which reads them first as hypercorn's does, says why in one line
    each, once (each new worker printed them), not a traceback."""
    from tests.unit.test_load import GOOD

    (tmp_path / "toy.yaml").write_text(GOOD)
    server = start_server("--workers", "2", "--scenarios", str(tmp_path))
    (tmp_path / "toy.yaml").write_text("api: [broken")
    os.set_blocking(server.process.stdout.fileno(), False)
    server.process.send_signal(signal.SIGHUP)
    seen, deadline = b"", time.monotonic() + 15
    while b"workers keep serving" not in seen and time.monotonic() < deadline:
        time.sleep(0.1)
        seen += server.process.stdout.read() or b""
    assert httpx.get(server.url + "/__admin/health").status_code == 200
    os.set_blocking(server.process.stdout.fileno(), True)
    output = seen.decode() + server.stop()
    assert f"{tmp_path / 'toy.yaml'}:" in output and ": (file): invalid YAML" in output
    kept = "1 problem(s) in the scenario files (SIGHUP); the workers keep serving the files read before."
    assert output.count(kept) == 1, output
    assert "Traceback" not in output


def test_sighup_to_hypercorn_with_workers_keeps_them_serving_when_a_file_is_broken(start_server, tmp_path):
    """hypercorn's supervisor stopped its workers on SIGHUP and then itself when the new ones could not start: the
    files are read first, and a broken one is one line per problem while the workers go on serving; mended, the
    next SIGHUP starts workers that serve the new files."""
    from tests.unit.test_load import GOOD

    (tmp_path / "toy.yaml").write_text(GOOD)
    server = start_server("--server", "hypercorn", "--workers", "2", "--log-level", "info",
                          "--scenarios", str(tmp_path))
    os.set_blocking(server.process.stdout.fileno(), False)
    seen, deadline = b"", time.monotonic() + 15
    while seen.count(b"Running on") < 2 and time.monotonic() < deadline:  # both workers have read the files
        time.sleep(0.1)
        seen += server.process.stdout.read() or b""
    (tmp_path / "toy.yaml").write_text("api: [broken")
    server.process.send_signal(signal.SIGHUP)
    while b"workers keep serving" not in seen and time.monotonic() < deadline:
        time.sleep(0.1)
        seen += server.process.stdout.read() or b""
    assert f"{tmp_path / 'toy.yaml'}:".encode() in seen and b": (file): invalid YAML" in seen
    assert httpx.get(server.url + "/toy/hello").json() == {"message": "hi"}
    (tmp_path / "toy.yaml").write_text(GOOD.replace("message: hi", "message: mended"))
    server.process.send_signal(signal.SIGHUP)  # the workers restart
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "/toy/hello").json() == {"message": "mended"}:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    assert httpx.get(server.url + "/toy/hello").json() == {"message": "mended"}
    os.set_blocking(server.process.stdout.fileno(), True)
    assert server.process.poll() is None, server.stop()
    assert "Traceback" not in seen.decode() + server.stop()


class Output:
    """A server process's output, line by line as it comes (stderr and stdout together)."""

    def __init__(self, *args: str) -> None:
        import queue
        import threading

        self.process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout],
                                       daemon=True)
        self.reader.start()

    def next_line(self, timeout: float = 15) -> str:
        return self.lines.get(timeout=timeout)

    def stop(self) -> list[str]:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.reader.join(timeout=5)  # the last lines, to the end of the output
        self.process.stdout.close()
        return list(self.lines.queue)


@pytest.mark.parametrize(("server_name", "workers"), [("uvicorn", "1"), ("hypercorn", "1"), ("uvicorn", "2"),
                                                      ("hypercorn", "2")])
def test_the_start_up_line_names_the_port_0_got_and_it_answers_there(server_name, workers):
    """`serve` printed nothing at the default level: with --port 0 nobody could learn the port (WireMock prints a
    banner with it, uvicorn 'running on' at info). One line on stderr once it listens, once whatever --workers."""
    import re

    served = Output("--port", "0", "--server", server_name, "--workers", workers)
    try:
        line = served.next_line()
        if line.startswith("state is per worker"):  # the warning of memory:// with --workers 2 comes first
            line = served.next_line()
        found = re.fullmatch(r"mockserver \S+ listening on (http://127\.0\.0\.1:(\d+)) \((\w+), (.+), seed 0\): "
                             r"braze /braze, clientless /clientless, dcs /dcs, edge /edge, reactor /reactor; "
                             r"health (\S+)\n", line)
        assert found, line
        url, port, named, processes, health = found.groups()
        assert int(port) > 0 and named == server_name and health == url + "/__admin/health"
        assert processes == ("1 process" if workers == "1" else "2 workers")
        deadline = time.monotonic() + 15
        while True:  # the workers may still be starting: the listening socket holds the connection meanwhile
            try:
                assert httpx.get(health, timeout=15).json()["status"] == "ok"
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert httpx.get(url + "/braze/campaigns/list", headers={"Authorization": "Bearer k"}).status_code == 200
    finally:
        rest = served.stop()
    assert not [later for later in rest if "listening on" in later], rest


@pytest.mark.parametrize("level", ["error", "critical"])
def test_log_level_error_leaves_the_start_up_line_out(start_server, level):
    server = start_server("--log-level", level)
    assert httpx.get(server.url + "/__admin/health").status_code == 200
    assert server.stop() == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_log_level_debug_tells_what_answered_each_request(start_server, workers):
    """A line per request, in the worker that answered it too: the documented error, the route, the flags."""
    server = start_server("--log-level", "debug", "--workers", workers)
    httpx.get(server.url + "/braze/campaigns/list?__error=rate-limited&__session=s1", headers=AUTH)
    httpx.get(server.url + "/dcs/event?d_site=%esid!")
    httpx.get(server.url + "/braze/campaigns/list?__eror=x")
    httpx.get(server.url + "/braze/campaigns/list%0Afake-line?q=%C3%A9", headers=AUTH)
    with pytest.raises(httpx.ReadTimeout):  # the client leaves during the wait
        httpx.get(server.url + "/braze/campaigns/list?__delay=3000&__session=gone", headers=AUTH, timeout=0.5)
    time.sleep(0.5)
    output = server.stop()
    assert ("GET /braze/campaigns/list -> 429 (rate-limited; route campaigns-list; flags error=rate-limited "
            "session=s1) [braze, session s1, ") in output, output
    assert "GET /dcs/event?d_site=%esid! -> 200 (311; route event) [dcs, session default, " in output
    assert "GET /braze/campaigns/list -> 400 (the mock's misuse; flags eror=x) [braze, " in output
    assert "GET /braze/campaigns/list\\nfake-line?q=%C3%A9 -> 404 (not-found; no route matched) [braze, " in output
    assert "\nfake-line" not in output  # one line per request, whatever its path holds
    assert ("GET /braze/campaigns/list -> no answer (the client left) (no error; route campaigns-list; "
            "flags delay=3000 session=gone) [braze, session gone, ") in output
    assert "Traceback" not in output
    quiet = start_server()
    httpx.get(quiet.url + "/dcs/event?d_site=%esid!")
    assert "/dcs/event" not in quiet.stop()


def test_the_start_up_line_of_one_api_served_at_the_root(start_server):
    server = start_server("--api", "dcs", "--seed", "7")
    assert server.stop() == (f"mockserver {mockserver.__version__} listening on {server.url} (uvicorn, 1 process, "
                             f"seed 7): dcs at /; health {server.url}/__admin/health\n")


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_sighup_to_one_process_reads_the_files_again_keeps_the_state_and_a_broken_one_is_one_line(
        start_server, tmp_path, server_name):
    """One process ended on SIGHUP, while --workers N read the files again: it now does as the workers do (and as
    nginx and gunicorn do), keeping its state as POST /__admin/reload does; a broken file leaves the old one served."""
    from tests.unit.test_load import GOOD

    (tmp_path / "toy.yaml").write_text(GOOD)
    server = start_server("--server", server_name, "--scenarios", str(tmp_path))
    hello = server.url + "/toy/hello"
    assert httpx.get(hello).json() == {"message": "hi"}
    httpx.post(server.url + "/__admin/modes", json={"mode": "outage", "api": "braze", "session": "kept"})
    (tmp_path / "toy.yaml").write_text(GOOD.replace("message: hi", "message: again"))
    os.set_blocking(server.process.stdout.fileno(), False)
    seen = b""

    def hang_up(until: bytes) -> None:
        nonlocal seen
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while until not in seen and time.monotonic() < deadline and server.process.poll() is None:
            time.sleep(0.05)
            seen += server.process.stdout.read() or b""
        assert until in seen, (server.process.poll(), seen)

    hang_up(b"SIGHUP: read the scenario files again (")
    assert httpx.get(hello).json() == {"message": "again"}
    braze = httpx.get(server.url + "/braze/campaigns/list", headers={"Authorization": "Bearer k",
                                                                      "X-Mock-Session": "kept"})
    assert braze.status_code == 503  # the state kept: the mode switched on before is still on
    (tmp_path / "toy.yaml").write_text("api: [broken")
    hang_up(b"the files read before are still served.")
    assert httpx.get(hello).json() == {"message": "again"}
    os.set_blocking(server.process.stdout.fileno(), True)
    seconds, code, output = _stopped(server, signal.SIGTERM)
    output = seen.decode() + output
    assert code == 0 and f"{tmp_path / 'toy.yaml'}:" in output and ": (file): invalid YAML" in output
    assert "1 problem(s) in the scenario files (SIGHUP); the files read before are still served." in output
    assert "Traceback" not in output


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_dcs_calls_sent_together_on_their_own_connections_are_simultaneous(start_server, server_name):
    """dcs-race-conditions: a client that fires calls for one user at once, one connection each (as aiohttp's
    gather does), is judged from when each began to arrive, on either server: the mock answers them in turn."""
    import socket

    server = start_server("--server", server_name)
    host, port = server.url.removeprefix("http://").split(":")
    request = (b"GET /dcs/event?d_mid=12345678901234567890123456789012345678&n=%d HTTP/1.1\r\n"
               b"Host: x\r\nX-Mock-Session: together\r\n\r\n")
    sockets = [socket.create_connection((host, int(port))) for _ in range(5)]
    for index, sock in enumerate(sockets):
        sock.sendall(request % index)
    for sock in sockets:
        with sock:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    verdict = httpx.get(server.url + "/__admin/verdict", params={"session": "together"}).json()
    assert "no-simultaneous-calls" in {f["rule"] for f in verdict["findings"]}, verdict
    with httpx.Client(base_url=server.url, headers={"X-Mock-Session": "in-turn"}) as client:  # waits for each
        for _ in range(100):
            assert client.get("/dcs/event?d_mid=12345678901234567890123456789012345678").status_code == 200
    assert httpx.get(server.url + "/__admin/verdict", params={"session": "in-turn"}).json()["clean"]
