"""Random sequences of Braze calls against a model of api_limits.md's windows and the endpoints' pages.

The model: per API key and endpoint group, a counter in fixed windows on the clock's grid (the
hour, the minute, three seconds, the UTC day); every answer carries X-RateLimit-Limit, -Remaining
and -Reset; past `limit` in a window the answer is 429 rate-limited, and the window reopens at its
Reset. Between the limits: a schedule created can be updated and deleted with its id; a send id
created is echoed by the send that names it. Users, per API key (a workspace): a /users/track batch
mixing valid objects with objects lacking an identifier or naming a blacklisted external_id is 201
with each valid object counted and each other one a minor error {type, input_array, index}, in the
order attributes, events, purchases (api_limits.md); none valid is 400 with those minor errors. What
a batch set is read back by /users/export/ids (custom attributes under `custom_attributes`, profile
fields such as first_name at the top); a deleted user is listed in `invalid_user_ids`, tracked again
it is a new profile without the old attributes, and an `_update_existing_only` object does not
create it. Read-backs are asserted only 5 minutes after the change (api_limits.md: "allow for a
5-minute delay between making subsequent calls"; the mock applies at once, which that allows). Every
error answer has the fatal envelope {"message": <catalog title>, "errors": [...]} with the catalog's
status, and every answer replays byte for byte. STATEFUL_EXAMPLES / STATEFUL_STEPS size the run.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tests.apis.stateful import SETTINGS, Recorder, body, scratch_folder

START = 1_900_000_000  # a frozen instant: windows (and X-RateLimit-Reset) replay
LIMITS = {"users-track": (3, 3), "users-identity": (4, 60), "users-export-ids": (3, 60),
          "sends-id-create": (2, 86400), "messaging": (5, 3600), "messaging-broadcast": (2, 60),
          "default": (6, 3600)}
FOLDER = scratch_folder("braze-stateful-")
(FOLDER / "limits.yaml").write_text("api: braze\noptions:\n  blacklisted_external_ids: [dummy-user]\n" + "".join(
    f"  rate_limit.{group}: {{limit: {limit}, window_s: {window}}}\n" for group, (limit, window) in LIMITS.items()))
KEYS = st.sampled_from(["key-a", "key-b"])
USERS = st.sampled_from(["u1", "u2", "u3"])
SETTLED = 300  # api_limits.md: "allow for a 5-minute delay between making subsequent calls"
# One /users/track object: (array, kind, user, attribute, value). Kinds: a valid object, one with no
# identifier (minor error), one naming a blacklisted external_id (minor error), a valid one in
# "Update Only" mode (_update_existing_only: true).
OBJECTS = st.tuples(st.sampled_from(["attributes", "events", "purchases"]),
                    st.sampled_from(["valid", "valid", "no-id", "blacklisted", "update-only"]), USERS,
                    st.sampled_from([("plan", "gold"), ("plan", "silver"), ("plan", None), ("first_name", "Ada"),
                                     ("visits", {"inc": 2}), ("visits", 5)]))
MINOR = {"no-id": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
         "blacklisted": "provided external_id is blacklisted and disallowed"}


def track_object(array: str, kind: str, user: str, attribute: tuple[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"external_id": "dummy-user" if kind == "blacklisted" else user}
    if kind == "no-id":
        item = {}
    if kind == "update-only":
        item["_update_existing_only"] = True
    if array == "attributes":
        item[attribute[0]] = attribute[1]
    elif array == "events":
        item.update(app_id="app", name="played", time="2030-01-01T00:00:00Z")
    else:
        item.update(app_id="app", product_id="p", currency="USD", price=1.5, time="2030-01-01T00:00:00Z")
    return item


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
        # (key, user) -> {"exists": bool, "attributes": {...}, "changed": when}; absent: never written,
        # a user the mock invents (the scenario's unknown_external_ids is empty here)
        self.profiles: dict[tuple[str, str], dict[str, Any]] = {}
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
        if ok >= 400:
            return found
        assert found["message"] == "success", found
        return found

    def later(self) -> str:
        """A week ahead of the clock: a schedule's time is "up to 90 days in the future"."""
        return datetime.fromtimestamp(self.now + 7 * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

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
            self.write(key, user, "attributes", {"plan": "gold"}, update_only=False)

    def write(self, key: str, user: str, array: str, attributes: dict[str, Any], update_only: bool) -> None:
        """A processed /users/track object: the user created (unless Update Only) or updated."""
        known = self.profiles.get((key, user), {"exists": True, "attributes": {}})
        if update_only and not known["exists"]:
            return
        kept = dict(known["attributes"]) if known["exists"] else {}
        for name, value in attributes.items() if array == "attributes" else ():
            if value is None:
                kept.pop(name, None)
            elif isinstance(value, dict):
                kept[name] = (kept.get(name) if isinstance(kept.get(name), int) else 0) + value["inc"]
            else:
                kept[name] = value
        self.profiles[(key, user)] = {"exists": True, "attributes": kept, "changed": self.now,
                                      "merged": known.get("merged", False)}

    @rule(key=KEYS, objects=st.lists(OBJECTS, min_size=1, max_size=6))
    def track_batch(self, key: str, objects: list[tuple[str, str, str, tuple[str, Any]]]) -> None:
        document: dict[str, list[dict[str, Any]]] = {}
        for array, kind, user, attribute in objects:
            document.setdefault(array, []).append(track_object(array, kind, user, attribute))
        order = [(a, i, o) for a in ("attributes", "events", "purchases")
                 for i, o in enumerate(o for o in objects if o[0] == a)]
        minor = [{"type": MINOR[o[1]], "input_array": a, "index": i} for a, i, o in order if o[1] in MINOR]
        valid = [(a, o) for a, _, o in order if o[1] not in MINOR]
        if not valid:
            self.call(key, "/users/track", "users-track", document, ok=400)
            return
        found = self.call(key, "/users/track", "users-track", document)
        if found is None:
            return
        assert found.get("errors", []) == minor, (found, minor)
        for array in ("events", "purchases"):
            assert found.get(f"{array}_processed", 0) == sum(1 for a, _ in valid if a == array), found
        ids = [o[2] for a, o in valid if a == "attributes"]
        if len(set(ids)) == len(ids):  # post_user_track.md counts "external_ids with attributes": same
            assert found.get("attributes_processed", 0) == len(ids), found  # number when all differ
        for array, (_, kind, user, (attribute, value)) in valid:
            self.write(key, user, array, {attribute: value}, update_only=kind == "update-only")

    @rule(key=KEYS, user=USERS)
    def export(self, key: str, user: str) -> None:
        found = self.call(key, "/users/export/ids", "users-export-ids", {"external_ids": [user]})
        if found is None:
            return
        exported = [u["external_id"] for u in found["users"]]
        invalid = found.get("invalid_user_ids", [])
        assert sorted(exported + invalid) == [user], found  # a user is exported or listed invalid
        known = self.profiles.get((key, user))
        if known is None or known.get("merged") or self.now - known["changed"] < SETTLED:
            return  # a change may not be visible yet, or a merge the mock does not imitate
        if not known["exists"]:
            assert invalid == [user], found
            return
        assert exported == [user], found
        [profile] = found["users"]
        custom = {k: v for k, v in known["attributes"].items() if k != "first_name"}
        assert profile["custom_attributes"] == custom, (profile, known)
        if "first_name" in known["attributes"]:
            assert profile["first_name"] == known["attributes"]["first_name"], (profile, known)

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
            self.profiles[(key, user)] = {"exists": False, "attributes": {}, "changed": self.now}
        if found is not None and path == "/users/merge":  # the mock does not merge profiles: not asserted
            self.profiles[(key, user)] = {"exists": True, "attributes": {}, "changed": self.now, "merged": True}

    @rule(target=schedules, key=KEYS)
    def schedule(self, key: str) -> Any:
        found = self.call(key, "/messages/schedule/create", "default",
                          {"external_user_ids": ["u1"], "messages": {"email": {"app_id": "a", "subject": "s",
                                                                               "body": "b", "from": "x <x@x.io>"}},
                           "schedule": {"time": self.later()}})
        return (key, found["schedule_id"]) if found else (key, "never-created")

    @rule(schedule=schedules, delete=st.booleans())
    def change_schedule(self, schedule: tuple[str, str], delete: bool) -> None:
        key, schedule_id = schedule
        if delete:
            self.call(key, "/messages/schedule/delete", "default", {"schedule_id": schedule_id})
        else:
            self.call(key, "/messages/schedule/update", "default",
                      {"schedule_id": schedule_id, "schedule": {"time": self.later()}})

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
        if response.status_code == 400 and response.request.url.path.endswith("/users/track"):
            assert found["message"] == self.catalog["no-valid-data"]["title"], found
            assert found["errors"] and all(e["type"] in MINOR.values() for e in found["errors"]), found

    def teardown(self) -> None:
        self.api.finish()


BrazeModel.TestCase.settings = SETTINGS
TestBrazeModel = BrazeModel.TestCase
