"""Random sequences of Braze calls against a model of api_limits.md's windows and the endpoints' pages.

The model: per API key and endpoint group, a counter in fixed windows on the clock's grid (the
hour, the minute, three seconds, the UTC day); every answer carries X-RateLimit-Limit, -Remaining
and -Reset; past `limit` in a window the answer is 429 rate-limited, and the window reopens at its
Reset. Between the limits: a schedule created can be updated and deleted with its id; a send id
created is echoed by the send that names it; a user tracked is exported. Every error answer has the
fatal envelope {"message": <catalog title>, "errors": [...]} with the catalog's status, and every
answer replays byte for byte. STATEFUL_EXAMPLES / STATEFUL_STEPS size the run.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tests.apis.stateful import SETTINGS, Recorder, body

START = 1_900_000_000  # a frozen instant: windows (and X-RateLimit-Reset) replay
LIMITS = {"users-track": (3, 3), "users-identity": (4, 60), "users-export-ids": (3, 60),
          "sends-id-create": (2, 86400), "messaging": (5, 3600), "messaging-broadcast": (2, 60),
          "default": (6, 3600)}
FOLDER = Path(tempfile.mkdtemp(prefix="braze-stateful-"))
(FOLDER / "limits.yaml").write_text("api: braze\noptions:\n" + "".join(
    f"  rate_limit.{group}: {{limit: {limit}, window_s: {window}}}\n" for group, (limit, window) in LIMITS.items()))
KEYS = st.sampled_from(["key-a", "key-b"])
USERS = st.sampled_from(["u1", "u2", "u3"])
FUTURE = "2031-01-01T00:00:00Z"  # after START


class BrazeModel(RuleBasedStateMachine):
    schedules = Bundle("schedules")
    send_ids = Bundle("send_ids")

    def __init__(self) -> None:
        super().__init__()
        self.api = Recorder("braze", (str(FOLDER),))
        self.api.request("POST", "/__admin/clock", json={"freeze": START})
        self.catalog = self.api.catalog
        self.now = float(START)
        self.counts: dict[tuple[str, str, int], int] = {}
        self.tracked: set[str] = set()
        self.last: Any = None

    # -- helpers -------------------------------------------------------------------------------
    def call(self, key: str, path: str, group: str, document: Any, ok: int = 201) -> dict[str, Any] | None:
        """Send; check the window's headers and the answer; the body of a success, None on a 429."""
        limit, window = LIMITS[group]
        index = math.floor(self.now / window)
        count = self.counts[(group, key, index)] = self.counts.get((group, key, index), 0) + 1
        response = self.api.request("POST", f"/braze{path}", json=document, headers={"Authorization": f"Bearer {key}"})
        self.last = response
        headers = tuple(response.headers.get(f"x-ratelimit-{n}") for n in ("limit", "remaining", "reset"))
        assert headers == (str(limit), str(max(limit - count, 0)), str(math.ceil((index + 1) * window))), \
            (path, group, count, headers)
        if count > limit:
            assert response.status_code == 429, response.text
            return None
        assert response.status_code == ok, (path, response.text)
        found = body(response)
        assert found["message"] == "success", found
        return found

    # -- rules -----------------------------------------------------------------------------------
    @rule(seconds=st.sampled_from([0.5, 1, 3, 30, 61, 3600, 86400]))
    def advance(self, seconds: float) -> None:
        self.api.request("POST", "/__admin/clock", json={"advance": f"{seconds}s"})
        self.now += seconds

    @rule(key=KEYS, user=USERS)
    def track(self, key: str, user: str) -> None:
        found = self.call(key, "/users/track", "users-track", {"attributes": [{"external_id": user, "plan": "gold"}]})
        if found is not None:
            assert found["attributes_processed"] == 1
            self.tracked.add(user)

    @rule(key=KEYS, user=USERS)
    def export(self, key: str, user: str) -> None:
        found = self.call(key, "/users/export/ids", "users-export-ids", {"external_ids": [user]})
        if found is not None:
            assert [u["external_id"] for u in found["users"]] == [user]

    @rule(key=KEYS, user=USERS, path=st.sampled_from(["/users/delete", "/users/alias/new", "/users/merge"]))
    def identity(self, key: str, user: str, path: str) -> None:
        document = {"/users/delete": {"external_ids": [user]},
                    "/users/alias/new": {"user_aliases": [{"external_id": user, "alias_name": user,
                                                           "alias_label": "crm"}]},
                    "/users/merge": {"merge_updates": [{"identifier_to_merge": {"external_id": user},
                                                        "identifier_to_keep": {"external_id": "keep"}}]}}[path]
        found = self.call(key, path, "users-identity", document, ok=202 if path == "/users/merge" else 201)
        if found is not None and path == "/users/delete":
            assert found["deleted"] == 1

    @rule(target=schedules, key=KEYS)
    def schedule(self, key: str) -> Any:
        found = self.call(key, "/messages/schedule/create", "default",
                          {"external_user_ids": ["u1"], "messages": {"email": {"app_id": "a", "subject": "s",
                                                                               "body": "b", "from": "x <x@x.io>"}},
                           "schedule": {"time": FUTURE}})
        return (key, found["schedule_id"]) if found else (key, "never-created")

    @rule(schedule=schedules, delete=st.booleans())
    def change_schedule(self, schedule: tuple[str, str], delete: bool) -> None:
        key, schedule_id = schedule
        if delete:
            self.call(key, "/messages/schedule/delete", "default", {"schedule_id": schedule_id})
        else:
            self.call(key, "/messages/schedule/update", "default",
                      {"schedule_id": schedule_id, "schedule": {"time": FUTURE}})

    @rule(target=send_ids, key=KEYS, send_id=st.sampled_from(["", "s-1", "s-2"]))
    def create_send_id(self, key: str, send_id: str) -> Any:
        found = self.call(key, "/sends/id/create", "sends-id-create",
                          {"campaign_id": "c", **({"send_id": send_id} if send_id else {})})
        if found is None:
            return None
        assert found["send_id"] == (send_id or found["send_id"]) and found["send_id"]
        return found["send_id"]

    @rule(key=KEYS, send_id=send_ids, broadcast=st.booleans())
    def send(self, key: str, send_id: str | None, broadcast: bool) -> None:
        document: dict[str, Any] = {"campaign_id": "c", **({"send_id": send_id} if send_id else {})}
        document.update({"broadcast": True} if broadcast else {"recipients": [{"external_user_id": "u1"}]})
        found = self.call(key, "/campaigns/trigger/send", "messaging-broadcast" if broadcast else "messaging",
                          document)
        if found is not None and send_id:
            assert found["send_id"] == send_id

    @invariant()
    def errors_have_the_fatal_envelope(self) -> None:
        response = self.last
        if response is None or response.status_code < 400:
            return
        assert response.headers["content-type"] == "application/json"
        found = body(response)
        titles = {e["title"] for e in self.catalog.values() if e["status"] == response.status_code}
        assert found["message"] in titles and isinstance(found["errors"], list), found

    def teardown(self) -> None:
        self.api.finish()


BrazeModel.TestCase.settings = SETTINGS
TestBrazeModel = BrazeModel.TestCase
