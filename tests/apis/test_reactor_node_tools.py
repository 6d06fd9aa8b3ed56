"""Adobe's command-line clients of Reactor, @adobe/reactor-uploader and @adobe/reactor-releaser (npm), against a
real server process, as their users run them.

Their URLs are fixed in bin/envConfig.json; as a test writer would, each run points the `development` environment
at the mock (`/__session/NAME/reactor/extension_packages`: a session per test) and gives the access token in
REACTOR_IO_INTEGRATION_ACCESS_TOKEN_DEVELOPMENT, so IMS is never asked (bin/getIntegrationAccessToken.js).
They send `Authorization: Bearer`, `X-Api-Key: Activation-DTM` and no org id (bin/getReactorHeaders.js).
Skipped without node and npm, or when the packages cannot be installed (offline).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apis.test_reactor_support import HEADERS, extension_zip, make_zip
from tests.conftest import ServerProcess, npm_installed, serving_files

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")]
PACKAGES = ("@adobe/reactor-uploader@6.0.2", "@adobe/reactor-releaser@4.0.0")
WORKSPACE = """\
api: reactor
modes:
  package-fails:
    description: Uploaded packages fail in processing.
    error: minification-error
    routes: [create-extension-package]
"""
MANIFEST = {"name": "hello-world", "displayName": "Hello World", "version": "1.0.1", "platform": "web",
            "events": [{"name": "click", "displayName": "Click", "libPath": "src/lib/events/click.js"}]}


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory) -> Path:
    return npm_installed(tmp_path_factory.mktemp("reactor-node"), *PACKAGES)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    yield from serving_files(tmp_path_factory.mktemp("reactor-node-workspace"), {"workspace.yaml": WORKSPACE})


def run(tool: str, node_dir: Path, server: ServerProcess, session: str, *args: str,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """One run of `reactor-uploader` or `reactor-releaser` with its development environment at this session."""
    config_file = node_dir / "node_modules" / "@adobe" / tool / "bin" / "envConfig.json"
    config = json.loads(config_file.read_text())
    config["development"]["extensionPackages"] = f"{server.url}/__session/{session}/reactor/extension_packages"
    config_file.write_text(json.dumps(config))
    env = {**os.environ, "REACTOR_IO_INTEGRATION_ACCESS_TOKEN_DEVELOPMENT": "token", "FORCE_COLOR": "0"}
    return subprocess.run([str(node_dir / "node_modules" / ".bin" / tool), *args, "--environment", "development"],
                          cwd=cwd or node_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)


def upload(node_dir: Path, server: ServerProcess, session: str, package: bytes) -> subprocess.CompletedProcess[str]:
    zip_path = node_dir / f"{session}.zip"
    zip_path.write_bytes(package)
    return run("reactor-uploader", node_dir, server, session, str(zip_path))


def packages(server: ServerProcess, session: str) -> list[dict]:
    answer = httpx.get(f"{server.url}/reactor/extension_packages", headers={**HEADERS, "X-Mock-Session": session})
    return [p for p in answer.json()["data"] if p["attributes"]["availability"] != "public"]


def test_an_upload_an_upload_again_and_a_private_release(node_dir, server, tmp_path):
    first = upload(node_dir, server, "walk", extension_zip(MANIFEST))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "A new extension package will be created" in first.stdout
    assert "successfully processed" in first.stdout + first.stderr
    again = upload(node_dir, server, "walk", extension_zip({**MANIFEST, "version": "1.0.2"}))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "will be updated" in again.stdout  # it found its own development package by name, and PATCHed it
    (tmp_path / "extension.json").write_text(json.dumps(MANIFEST))  # the releaser reads ./extension.json
    released = run("reactor-releaser", node_dir, server, "walk", "--confirm-package-release", cwd=tmp_path)
    assert released.returncode == 0, released.stdout + released.stderr
    assert "has been released" in released.stdout
    [package] = packages(server, "walk")
    assert (package["attributes"]["availability"], package["attributes"]["version"]) == ("private", "1.0.2")


def test_a_package_reactor_refuses_shows_its_documented_error(node_dir, server):
    """A libPath the zip lacks: 201 pending, then the poll's `meta.status_details.errors`, which the tool prints."""
    failed = upload(node_dir, server, "missing-file", make_zip({"extension.json": json.dumps(MANIFEST)}))
    assert failed.returncode != 0
    assert "Extension package processing failed" in failed.stderr
    assert "library-file-not-found" in failed.stderr and "src/lib/events/click.js is not in the zip" in failed.stderr


def test_an_error_a_mode_forces_shows_when_the_package_is_polled(node_dir, server):
    """A mode is how a test reaches a tool that takes no flag: the POST is still 201 (the tool needs the id), and
    the poll shows the error. Before, the mode's 422 answered the POST and the tool died on 'No extension package
    ID was returned from the API'."""
    switched = httpx.post(f"{server.url}/__admin/modes",
                          json={"mode": "package-fails", "api": "reactor", "session": "mode"})
    assert switched.status_code < 300, switched.text
    failed = upload(node_dir, server, "mode", extension_zip(MANIFEST))
    assert failed.returncode != 0
    assert "has been assigned the ID" in failed.stdout and "No extension package ID" not in failed.stdout
    assert "Extension package processing failed" in failed.stderr and "minification-error" in failed.stderr


def test_a_name_in_use_outside_the_organization_is_told_as_the_tool_words_it(node_dir, server):
    """bin/uploadZip.js reads `invalid-name` from the POST's answer; Core is a public package, Adobe's."""
    refused = upload(node_dir, server, "taken", extension_zip({**MANIFEST, "name": "core"}))
    assert refused.returncode != 0
    assert "likely in use by another extension outside the organization" in refused.stdout
    assert packages(server, "taken") == []
