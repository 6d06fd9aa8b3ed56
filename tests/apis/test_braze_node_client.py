"""braze-api (npm, braze-community/braze-node) against a real server process, as its users call it.

Its contract, read from its source (cjs/common/request/request.js): every answer is read with
`response.json()`; a non-2xx one throws `ResponseError(data.message, status, data.errors)`. Paths are
`${apiUrl}/users/track` ..., so the mock's `/__session/NAME/braze` base URL gives each test a session.
Skipped without node and npm, or when the package cannot be installed (offline).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, npm_installed, serving_files

# A schedule time a month ahead of the clock: Braze takes one "up to 90 days in the future".
SOON = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT10:00:00")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")]
PACKAGE = "braze-api@2.13.4"
WORKSPACE = """\
api: braze
options:
  api_keys: {good-key: ["*"]}
  rate_limit.users-track: {limit: 1, window_s: 60}
"""
# Each call: [name, key, method path under the Braze object, argument]; prints one JSON line per call.
WALK = """\
const { Braze } = require('braze-api');
const [base, calls] = [process.argv[2], JSON.parse(process.argv[3])];
(async () => {
  for (const [name, key, method, arg] of calls) {
    const fn = method.split('.').reduce((o, k) => o[k], new Braze(base + '/__session/' + name + '/braze', key));
    try { console.log(JSON.stringify({ name, ok: await fn(arg) })); }
    catch (e) {
      const { status, message, errors } = e;
      console.log(JSON.stringify({ name, error: e.constructor.name, status, message, errors }));
    }
  }
})();
"""


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("braze-node")
    (folder / "walk.js").write_text(WALK)
    return npm_installed(folder, PACKAGE)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    yield from serving_files(tmp_path_factory.mktemp("braze-node-workspace"), {"workspace.yaml": WORKSPACE})


def walk(node_dir: Path, server: ServerProcess, calls: list[list]) -> dict[str, dict]:
    done = subprocess.run(["node", "walk.js", server.url, json.dumps(calls)], cwd=node_dir, check=True,
                          capture_output=True, text=True, timeout=60)
    return {line["name"]: line for line in map(json.loads, done.stdout.splitlines())}


def test_the_success_paths_a_client_walks_first(node_dir, server):
    later = {"time": SOON + "Z"}
    push = {"apple_push": {"alert": "hi"}}
    seen = walk(node_dir, server, [
        ["track", "good-key", "users.track", {"attributes": [{"external_id": "u1", "plan": "pro"}]}],
        ["send", "good-key", "messages.send", {"external_user_ids": ["u1"], "messages": push}],
        ["schedule", "good-key", "messages.schedule.create", {"external_user_ids": ["u1"], "schedule": later,
                                                              "messages": push}],
        # post_update_scheduled_messages.md: schedule, messages, or both (braze-api types both optional).
        ["update", "good-key", "messages.schedule.update", {"schedule_id": "s", "messages": push}],
        ["trigger", "good-key", "campaigns.trigger.send", {"campaign_id": "c",
                                                           "recipients": [{"external_user_id": "u1"}]}],
        ["list", "good-key", "campaigns.list", None],
    ])
    assert seen["track"]["ok"] == {"message": "success", "attributes_processed": 1}
    assert seen["send"]["ok"]["message"] == "success" and seen["send"]["ok"]["dispatch_id"]
    assert seen["schedule"]["ok"]["schedule_id"] and seen["schedule"]["ok"]["message"] == "success"
    assert seen["update"]["ok"] == {"message": "success"}
    assert seen["trigger"]["ok"]["message"] == "success"
    assert seen["list"]["ok"] == {"message": "success", "campaigns": []}


def test_each_error_reaches_the_client_as_its_response_error(node_dir, server):
    body = {"attributes": [{"external_id": "u1"}]}
    seen = walk(node_dir, server, [
        ["bad-key", "other-key", "users.track", body],
        ["no-valid-data", "good-key", "users.track", {"attributes": [{"plan": "pro"}]}],
        ["other-endpoint", "good-key", "campaigns.details", {"campaign_id": "c"}],
        ["other-key", "other-key", "subscription.status.set", {"subscription_group_id": "g",
                                                               "subscription_state": "subscribed"}],
        ["limited", "good-key", "users.track", body],
        ["limited", "good-key", "users.track", body],  # the window holds 1: the second is the line kept
    ])
    assert seen["bad-key"] == {"name": "bad-key", "error": "ResponseError", "status": 401, "message": "Unauthorized",
                               "errors": ["Invalid API key."]}
    invalid = seen["no-valid-data"]
    assert invalid["status"] == 400 and invalid["errors"][0]["input_array"] == "attributes"
    assert invalid["message"] == "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
    assert seen["other-endpoint"]["ok"] == {"message": "success"}  # the shared errors only, and a bare success
    assert seen["other-key"]["status"] == 401 and seen["other-key"]["message"] == "Unauthorized"
    assert seen["limited"]["status"] == 429 and seen["limited"]["message"] == "Rate Limited"
