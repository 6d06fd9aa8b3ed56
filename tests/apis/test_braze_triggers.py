"""Braze's documented errors met the natural way, from real payloads, and the success envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import AUTH, FULL, fatal, track, users

# A schedule time a month ahead of the clock: Braze takes one "up to 90 days in the future".
SOON = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT10:00:00")

client, configured = support.client, support.configured  # one app per module (fixtures)


def send(client, body, path="/messages/send", headers=None):
    return client.post(f"/braze{path}", json=body, headers=headers or AUTH)


PUSH = {"alert": "hi"}


# -- /users/track ---------------------------------------------------------------------------------
def test_track_success_counts_each_array(client):
    response = track(client, {"attributes": users(2), "events": users(3, array="events"), "purchases": []})
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 2, "events_processed": 3}


@pytest.mark.parametrize("array", ["attributes", "events", "purchases"])
def test_track_75_objects_pass_the_76th_is_max_input_length(client, array):
    assert track(client, {array: users(75, array=array)}).json()[f"{array}_processed"] == 75
    fatal(track(client, {array: users(76, array=array)}), 400, "Max Input Length Exceeded")


def test_track_limits_are_per_array(client):
    response = track(client, {"attributes": users(75), "events": users(75, array="events"),
                              "purchases": users(75, array="purchases")})
    assert response.status_code == 201 and response.json()["purchases_processed"] == 75


def test_blacklisted_external_id_is_a_minor_error_the_others_are_processed(client):
    body = {"attributes": [{"external_id": "a"}, {"external_id": "blacklisted"}, {"external_id": "b"}],
            "events": [{"external_id": "c", "name": "e", "time": "2026-01-01T00:00:00Z"}]}
    response = track(client, body)
    assert response.status_code == 201
    assert response.json() == {
        "message": "success", "attributes_processed": 2, "events_processed": 1,
        "errors": [{"type": "provided external_id is blacklisted and disallowed", "input_array": "attributes",
                    "index": 1}],
    }


def test_an_object_without_identifier_is_a_minor_error(client):
    named = {"email": "x@example.com", "name": "e", "time": "2026-01-01"}
    response = track(client, {"events": [{"name": "e"}, named, "junk"]})
    assert response.status_code == 201 and response.json()["events_processed"] == 1
    assert [(e["input_array"], e["index"]) for e in response.json()["errors"]] == [("events", 0), ("events", 2)]


@pytest.mark.parametrize("body", [{}, {"attributes": [], "events": [], "purchases": []},
                                  {"purchases": [{"product_id": "p"}]},
                                  {"attributes": [{"external_id": "dummy_user"}]}])
def test_nothing_processable_is_the_fatal_valid_data_message(client, body):
    response = track(client, body)
    fatal(response, 400, "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.")


@pytest.mark.parametrize(("array", "bad"), [
    ("events", {"time": "2026-01-01T00:00:00Z"}), ("events", {"name": "e"}),
    ("events", {"name": "e", "time": "yesterday"}),
    ("events", {"name": "e", "time": "2026-01-01T00:00:00Z", "properties": "x"}),
    ("purchases", {"product_id": "p", "currency": "USD", "time": "2026-01-01T00:00:00Z"}),
    ("purchases", {"product_id": "p", "currency": "usd", "price": 1, "time": "2026-01-01T00:00:00Z"}),
    ("purchases", {"product_id": "p", "currency": "USD", "price": 1, "time": "2026-01-01", "quantity": 101}),
])
def test_an_invalid_event_or_purchase_is_a_minor_error_and_counts_zero(client, array, bad):
    """post_user_track.md: "non-fatal errors, such as one invalid event object out of a long list of events";
    `events_processed` is returned "if events are included in the request", 0 when none was queued."""
    response = track(client, {"attributes": users(1), array: [{"external_id": "u", **bad}]})
    assert response.status_code == 201
    assert response.json()[f"{array}_processed"] == 0 and response.json()["attributes_processed"] == 1
    [error] = response.json()["errors"]
    assert (error["input_array"], error["index"]) == (array, 0) and "required" in error["type"]
    valid = track(client, {array: [*users(1, array=array), {"external_id": "u", **bad}]}).json()
    assert valid[f"{array}_processed"] == 1 and valid["errors"][0]["index"] == 1


def test_a_null_or_integral_quantity_is_taken(client):
    """purchase_object.md: quantity "(optional, integer)": null is not given, and JSON's 2.0 is 2."""
    purchases = [{**users(1, array="purchases")[0], "quantity": q} for q in (None, 2.0, 100)]
    assert track(client, {"purchases": purchases}).json() == {"message": "success", "purchases_processed": 3}


def test_braze_s_own_time_format_is_taken(client):
    """event_object.md: ISO 8601 "or in `yyyy-MM-dd'T'HH:mm:ss:SSSZ` format"."""
    body = {"events": [{"external_id": "u", "name": "e", "time": "2026-01-01T10:20:30:450+0100"}]}
    assert track(client, body).json() == {"message": "success", "events_processed": 1}


def test_the_fatal_message_lists_each_objects_minor_error(client):
    errors = track(client, {"purchases": [{"product_id": "p"}]}).json()["errors"]
    assert errors == [{"type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
                       "input_array": "purchases", "index": 0}]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"attributes": {"a": 1}}',
                                 b'{"events": "x"}'])
def test_unparseable_or_misshapen_body_is_bad_request(client, raw):
    response = client.post("/braze/users/track", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    fatal(response, 400, "Bad Request")
    assert response.json()["errors"] == ["Bad syntax."]


# -- /messages/send and /messages/schedule/create -------------------------------------------------
def test_send_success_has_a_dispatch_id(client):
    response = send(client, {"external_user_ids": ["a"], "messages": {"apple_push": PUSH}, "send_id": "s-1"})
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "success" and len(body["dispatch_id"]) == 32 and body["send_id"] == "s-1"


@pytest.mark.parametrize(("ids", "aliases", "ok"), [(50, 0, True), (51, 0, False), (30, 20, True), (30, 21, False)])
def test_more_than_50_ids_and_aliases_is_the_documented_message(client, ids, aliases, ok):
    body = {"external_user_ids": [f"u{i}" for i in range(ids)],
            "user_aliases": [{"alias_name": f"a{i}", "alias_label": "l"} for i in range(aliases)],
            "messages": {"email": {}}}
    response = send(client, body)
    if ok:
        assert response.status_code == 201
    else:
        fatal(response, 400, "The max number of external_ids and aliases per request was exceeded")


@pytest.mark.parametrize("body", [{"messages": {"email": {}}}, {"external_user_ids": [], "messages": {"email": {}}},
                                  {"broadcast": True, "messages": {"email": {}}},
                                  {"segment_id": "s", "messages": {"email": {}}}, {}])
def test_no_recipient_and_no_broadcast_target_is_no_recipients(client, body):
    fatal(send(client, body), 400, "No Recipients")


@pytest.mark.parametrize("target", [{"segment_id": "seg"}, {"audience": {"AND": []}}])
def test_a_broadcast_to_a_segment_or_audience_is_sent(client, target):
    assert send(client, {"broadcast": True, **target, "messages": {"email": {}}}).status_code == 201


def test_broadcast_with_a_recipient_list_is_bad_request(client):
    fatal(send(client, {"broadcast": True, "external_user_ids": ["a"], "messages": {"email": {}}}), 400, "Bad Request")


@pytest.mark.parametrize("messages", [None, {}])
def test_no_message_payload_is_no_message_to_send(client, messages):
    body = {"external_user_ids": ["a"]} | ({} if messages is None else {"messages": messages})
    fatal(send(client, body), 400, "No message to send")


@pytest.mark.parametrize("ids", [{"external_user_ids": [1, 2]}, {"external_user_ids": [None]},
                                 {"user_aliases": ["x"]}, {"user_aliases": [{"alias_name": "a"}]}])
def test_ids_of_the_wrong_type_are_bad_request(client, ids):
    """post_send_messages.md: "(optional, array of strings)", "(optional, array of User Alias Object)"."""
    fatal(send(client, {**ids, "messages": {"email": {}}}), 400, "Bad Request")


def test_a_message_that_is_not_an_object_is_bad_request(client):
    fatal(send(client, {"external_user_ids": ["a"], "messages": {"apple_push": "hi"}}), 400, "Bad Request")


@pytest.mark.parametrize("campaign_id", ["", "   ", 42, ["welcome"]])
def test_a_campaign_id_that_is_no_id_is_invalid_campaign_id(client, campaign_id):
    messages = {"email": {"message_variation_id": "v"}}
    body = {"external_user_ids": ["a"], "campaign_id": campaign_id, "messages": messages}
    fatal(send(client, body), 400, "Invalid Campaign ID")


def test_any_campaign_is_known_by_default_but_needs_variation_ids(client):
    body = {"external_user_ids": ["a"], "campaign_id": "any", "messages": {"apple_push": PUSH}}
    fatal(send(client, body), 400, "Message Variant Unspecified")
    body["messages"]["apple_push"] = {**PUSH, "message_variation_id": "v"}
    assert send(client, body).status_code == 201


@pytest.mark.parametrize(("campaign", "messages", "expected"), [
    ("nope", {"apple_push": {**PUSH, "message_variation_id": "ios-variant"}}, "Invalid Campaign ID"),
    ("welcome", {"apple_push": {**PUSH, "message_variation_id": "other"}}, "Invalid Message Variant"),
    ("welcome", {"apple_push": {**PUSH, "message_variation_id": "mail-variant"}}, "Mismatched Message Type"),
    ("welcome", {"email": {"message_variation_id": "ios-variant"}}, "Mismatched Message Type"),
])
def test_configured_campaigns_and_variations(configured, campaign, messages, expected):
    body = {"external_user_ids": ["a"], "campaign_id": campaign, "messages": messages}
    fatal(send(configured, body, headers=FULL), 400, expected)


def test_configured_campaign_with_matching_variations_is_sent(configured):
    messages = {"apple_push": {**PUSH, "message_variation_id": "ios-variant"},
                "email": {"message_variation_id": "mail-variant"}}
    body = {"external_user_ids": ["a"], "campaign_id": "welcome", "messages": messages}
    assert send(configured, body, headers=FULL).status_code == 201


@pytest.mark.parametrize("message", [
    {"apple_push": {**PUSH, "extra": "a=b"}}, {"android_push": {**PUSH, "extra": ["a"]}},
    {"apple_push": {**PUSH, "extra": {"aps": {}}}}, {"apple_push": {**PUSH, "extra": {"ab": 1}}},
])
def test_extra_that_is_not_a_dictionary_is_invalid_extra_push_payload(client, message):
    fatal(send(client, {"external_user_ids": ["a"], "messages": message}), 400, "Invalid Extra Push Payload")
    errors = send(client, {"external_user_ids": ["a"], "messages": message}).json()["errors"]
    reserved = isinstance(message.get("apple_push", {}).get("extra"), dict)  # a dictionary, with `ab` or `aps`
    assert ("will be rejected" in errors[0]) is reserved and ("not a dictionary" in errors[0]) is not reserved


def _padded(kind: str, size: int) -> dict:
    """A push object of exactly `size` bytes as compact JSON."""
    empty = len('{"alert":""}')
    return {kind: {"alert": "é" * ((size - empty) // 2) + "x" * ((size - empty) % 2), "message_variation_id": "v"}}


@pytest.mark.parametrize(("kind", "limit", "message"), [("apple_push", 1912, "Apple Push Length Exceeded"),
                                                         ("android_push", 4000, "Android Push Length Exceeded")])
def test_push_payload_over_its_byte_limit(client, kind, limit, message):
    assert send(client, {"external_user_ids": ["a"], "messages": _padded(kind, limit)}).status_code == 201
    fatal(send(client, {"external_user_ids": ["a"], "messages": _padded(kind, limit + 1)}), 400, message)


def test_slideup_over_140_characters(client):
    ok = {"external_user_ids": ["a"], "messages": {"in_app_message": {"message": "é" * 140}}}
    assert send(client, ok).status_code == 201
    ok["messages"]["in_app_message"]["message"] += "!"
    fatal(send(client, ok), 400, "Slideup Message Length Exceeded")


def _schedule(time, local=False):
    return {"external_user_ids": ["a"], "messages": {"email": {}}, "schedule": {"time": time, "in_local_time": local}}


def test_schedule_create_answers_a_schedule_id(client):
    response = send(client, _schedule(SOON + "Z"), "/messages/schedule/create")
    assert response.status_code == 201 and response.json()["message"] == "success"
    assert response.json()["schedule_id"] and response.json()["dispatch_id"]


def test_a_schedule_time_more_than_90_days_ahead_is_bad_request(client):
    """post_schedule_messages.md: `time` is "up to 90 days in the future"."""
    far = (datetime.now(UTC) + timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in ("/messages/schedule/create", "/campaigns/trigger/schedule/create"):
        response = send(client, {**_schedule(far), "campaign_id": "c"}, path)
        fatal(response, 400, "Bad Request")
        assert response.json()["errors"] == ["The schedule time may be at most 90 days in the future."]
    near = (datetime.now(UTC) + timedelta(days=89)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert send(client, _schedule(near), "/messages/schedule/create").status_code == 201


@pytest.mark.parametrize("time", ["tomorrow", "2024-13-01T00:00:00", "", 1700000000])
def test_unparseable_send_time_is_bad_request(client, time):
    response = send(client, _schedule(time), "/messages/schedule/create")
    fatal(response, 400, "Bad Request")
    assert response.json()["errors"] == ["Cannot parse `send_at` datetime."]


def test_the_older_send_at_member_is_read_too(client):
    body = {**_schedule(SOON), "send_at": "soon"}
    assert send(client, body, "/messages/schedule/create").json()["errors"] == ["Cannot parse `send_at` datetime."]


def test_the_older_send_at_member_alone_gives_the_time(client):
    """errors.md's row names `send_at`: a request timed by it alone is read, and refused when unparseable."""
    body = {"external_user_ids": ["a"], "messages": {"email": {}}, "send_at": "soon"}
    response = send(client, body, "/messages/schedule/create")
    fatal(response, 400, "Bad Request")
    assert response.json()["errors"] == ["Cannot parse `send_at` datetime."]
    assert send(client, {**body, "send_at": SOON + "Z"}, "/messages/schedule/create").status_code == 201


def test_schedule_without_time_is_bad_syntax(client):
    body = {"external_user_ids": ["a"], "messages": {"email": {}}, "schedule": {}}
    assert send(client, body, "/messages/schedule/create").json()["errors"] == ["Bad syntax."]


def test_in_local_time_with_a_passed_time_is_bad_request(client):
    response = send(client, _schedule("2001-01-01T10:00:00", local=True), "/messages/schedule/create")
    fatal(response, 400, "Bad Request")
    assert "in_local_time" in response.json()["errors"][0]
    assert send(client, _schedule("2001-01-01T10:00:00"), "/messages/schedule/create").status_code == 201
    assert send(client, _schedule(SOON, local=True), "/messages/schedule/create").status_code == 201


def test_the_passed_local_time_message_is_the_rows_own(client):
    response = send(client, _schedule("2001-01-01T10:00:00", local=True), "/messages/schedule/create")
    assert response.content.decode().count("company’s time zone") == 1  # U+2019, as errors.md writes it
    assert response.json()["errors"] == [
        "In your request, `in_local_time` is true but `time` has passed in your company’s time zone."]


def test_local_time_is_judged_in_the_company_time_zone(client, configured):
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")  # Tokyo is UTC+9
    assert send(client, _schedule(in_an_hour, local=True), "/messages/schedule/create").status_code == 201
    response = send(configured, _schedule(in_an_hour, local=True), "/messages/schedule/create", headers=FULL)
    fatal(response, 400, "Bad Request")


# -- trigger sends --------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "id_field"), [("/campaigns/trigger/send", "campaign_id"),
                                                ("/canvas/trigger/send", "canvas_id")])
class TestTriggerSends:
    def test_recipients_are_sent(self, client, path, id_field):
        response = send(client, {id_field: "x", "recipients": [{"external_user_id": "a"}]}, path)
        assert response.status_code == 201 and response.json()["message"] == "success"
        assert "notice" not in response.json()

    @pytest.mark.parametrize("recipient", [{}, {"trigger_properties": {"a": 1}},
                                           {"external_user_id": "u", "user_alias": {"alias_name": "a",
                                                                                    "alias_label": "l"}},
                                           {"user_alias": {"alias_name": "a"}}, {"external_user_id": "u",
                                                                                 "trigger_properties": "x"}])
    def test_a_recipient_names_one_user_exactly(self, client, path, id_field, recipient):
        """recipient_object.md: "Either external_user_id or user_alias is required in this object. Requests
        must specify only one." """
        fatal(send(client, {id_field: "x", "recipients": [{"external_user_id": "a"}, recipient]}, path), 400,
              "Bad Request")
        for one in ({"email": "a@example.com"}, {"braze_id": "5ab"}, {"external_user_id": "u", "user_alias": None},
                    {"external_user_id": "u", "email": None}):  # null: not given, as null-writing clients send it
            assert send(client, {id_field: "x", "recipients": [one]}, path).status_code == 201, one

    def test_more_than_50_recipients_is_the_max_number_of_ids(self, client, path, id_field):
        body = {id_field: "x", "recipients": [{"external_user_id": f"u{i}"} for i in range(51)]}
        fatal(send(client, body, path), 400, "The max number of ids per request was exceeded")
        body["recipients"].pop()
        assert send(client, body, path).status_code == 201

    @pytest.mark.parametrize("extra", [{}, {"recipients": []}, {"broadcast": False}, {"broadcast": "false"},
                                       {"audience": {"AND": []}}])
    def test_no_recipients_and_no_broadcast_is_no_recipients(self, client, path, id_field, extra):
        fatal(send(client, {id_field: "x", **extra}, path), 400, "No Recipients")

    def test_broadcast_goes_to_the_targeted_segment(self, client, path, id_field):
        assert send(client, {id_field: "x", "broadcast": True}, path).status_code == 201
        assert send(client, {id_field: "x", "broadcast": "true"}, path).status_code == 201

    def test_broadcast_with_recipients_is_bad_request(self, client, path, id_field):
        body = {id_field: "x", "broadcast": True, "recipients": [{"external_user_id": "a"}]}
        fatal(send(client, body, path), 400, "Bad Request")

    @pytest.mark.parametrize("body", [None, {}, {"recipients": [{"external_user_id": "a"}]}])
    def test_the_id_is_required(self, client, path, id_field, body):
        response = client.post(f"/braze{path}", headers=AUTH, **({} if body is None else {"json": body}))
        fatal(response, 400, "Bad Request")

    def test_a_null_id_is_no_id(self, client, path, id_field):
        fatal(send(client, {id_field: None, "broadcast": True}, path), 400, "Bad Request")


@pytest.mark.parametrize(("path", "id_field"), [("/campaigns/trigger/schedule/create", "campaign_id"),
                                                ("/canvas/trigger/schedule/create", "canvas_id")])
class TestTriggerSchedules:
    """The trigger sends scheduled: their bodies plus `schedule`, where the send_at and in_local_time rows apply."""

    def test_a_schedule_answers_its_ids(self, client, path, id_field):
        body = {id_field: "x", "broadcast": True, "schedule": {"time": SOON + "Z"}}
        response = send(client, body, path)
        assert response.status_code == 201 and response.json()["message"] == "success"
        assert response.json()["schedule_id"] and response.json()["dispatch_id"]

    @pytest.mark.parametrize("time", ["tomorrow", "", 1700000000])
    def test_unparseable_time_is_the_send_at_row(self, client, path, id_field, time):
        response = send(client, {id_field: "x", "broadcast": True, "schedule": {"time": time}}, path)
        fatal(response, 400, "Bad Request")
        assert response.json()["errors"] == ["Cannot parse `send_at` datetime."]

    def test_a_passed_local_time_is_the_in_local_time_row(self, client, path, id_field):
        body = {id_field: "x", "broadcast": True, "schedule": {"time": "2001-01-01T10:00:00", "in_local_time": True}}
        response = send(client, body, path)
        fatal(response, 400, "Bad Request")
        assert response.json()["errors"] == [
            "In your request, `in_local_time` is true but `time` has passed in your company’s time zone."]

    @pytest.mark.parametrize("schedule", [None, {}])
    def test_the_schedule_time_is_required(self, client, path, id_field, schedule):
        body = {id_field: "x", "broadcast": True, **({} if schedule is None else {"schedule": schedule})}
        assert send(client, body, path).json() == {"message": "Bad Request", "errors": ["Bad syntax."]}

    def test_recipients_are_limited_and_required_as_in_a_send(self, client, path, id_field):
        later = {"time": SOON + "Z"}
        body = {id_field: "x", "schedule": later, "recipients": [{"external_user_id": f"u{i}"} for i in range(51)]}
        fatal(send(client, body, path), 400, "The max number of ids per request was exceeded")
        fatal(send(client, {id_field: "x", "schedule": later}, path), 400, "No Recipients")


@pytest.mark.parametrize(("path", "ids"), [("/messages/schedule/update", {}),
                                           ("/campaigns/trigger/schedule/update", {"campaign_id": "x"}),
                                           ("/canvas/trigger/schedule/update", {"canvas_id": "x"})])
class TestScheduleUpdates:
    """An update's `schedule` replaces the old one whole: its time is read as a create's."""

    def test_an_update_is_a_success(self, client, path, ids):
        response = send(client, {**ids, "schedule_id": "s", "schedule": {"time": SOON + "Z"}}, path)
        assert response.status_code == 201 and response.json() == {"message": "success"}

    def test_the_send_at_and_in_local_time_rows(self, client, path, ids):
        response = send(client, {**ids, "schedule_id": "s", "schedule": {"time": "soon"}}, path)
        assert response.json() == {"message": "Bad Request", "errors": ["Cannot parse `send_at` datetime."]}
        page_example = {"time": "2017-05-24T21:30:00Z", "in_local_time": True}  # the update page's own, now passed
        fatal(send(client, {**ids, "schedule_id": "s", "schedule": page_example}, path), 400, "Bad Request")

    @pytest.mark.parametrize("extra", [{}, {"schedule_id": ""}, {"schedule_id": 7}])
    def test_the_schedule_id_is_required(self, client, path, ids, extra):
        body = {**ids, **extra, "schedule": {"time": SOON + "Z"}}
        assert send(client, body, path).json()["errors"] == ["Bad syntax."]


def test_a_scheduled_message_update_may_change_only_its_messages(client):
    """post_update_scheduled_messages.md: the endpoint "accepts updates to either the schedule or messages
    parameter or both. Your request must contain at least one of those two keys" (`schedule` optional);
    braze-api (npm) and braze-php-sdk send a messages-only update."""
    body = {"schedule_id": "s", "messages": {"apple_push": {"alert": "Updated Message!"}}}
    response = send(client, body, "/messages/schedule/update")
    assert response.status_code == 201 and response.json() == {"message": "success"}
    fatal(send(client, {"schedule_id": "s"}, "/messages/schedule/update"), 400, "Bad Request")


@pytest.mark.parametrize(("path", "ids"), [("/campaigns/trigger/schedule/update", {"campaign_id": "x"}),
                                           ("/canvas/trigger/schedule/update", {"canvas_id": "x"})])
def test_a_triggered_schedule_update_still_needs_its_schedule(client, path, ids):
    """Their pages mark `schedule` required (the messages update's is optional)."""
    fatal(send(client, {**ids, "schedule_id": "s"}, path), 400, "Bad Request")


@pytest.mark.parametrize(("path", "ids"), [("/messages/schedule/delete", {}),
                                           ("/campaigns/trigger/schedule/delete", {"campaign_id": "x"}),
                                           ("/canvas/trigger/schedule/delete", {"canvas_id": "x"})])
def test_a_schedule_is_deleted_by_its_id(client, path, ids):
    assert send(client, {**ids, "schedule_id": "s"}, path).json() == {"message": "success"}
    fatal(send(client, ids, path), 400, "Bad Request")


def test_unknown_campaign_of_a_configured_workspace(configured):
    body = {"campaign_id": "nope", "broadcast": True}
    fatal(send(configured, body, "/campaigns/trigger/send", headers=FULL), 400, "Invalid Campaign ID")
    body["campaign_id"] = "welcome"
    assert send(configured, body, "/campaigns/trigger/send", headers=FULL).status_code == 201


@pytest.mark.parametrize(("canvas", "notice"), [
    ("paused-canvas", "The Canvas is paused. Resume the Canvas to ensure trigger requests will take effect."),
    ("archived-canvas", "The Canvas is archived. Unarchive the Canvas to ensure trigger requests will take effect."),
    ("live-canvas", None),
])
def test_paused_or_archived_canvas_is_accepted_with_a_notice(configured, canvas, notice):
    response = send(configured, {"canvas_id": canvas, "broadcast": True}, "/canvas/trigger/send", headers=FULL)
    assert response.status_code == 201
    assert response.json().get("notice") == notice and response.json()["message"] == "success"


@pytest.mark.parametrize("member", ["context", "canvas_entry_properties"])
def test_canvas_context_over_50_kb_is_bad_request(client, member):
    """post_send_triggered_canvases.md: the entry properties (`canvas_entry_properties`, now `context`)
    have "a maximum size limit of 50 KB"."""
    body = {"canvas_id": "c", "broadcast": True, member: {"k": "x" * 51_200}}
    fatal(send(client, body, "/canvas/trigger/send"), 400, "Bad Request")
    body[member] = {"k": "x" * 50_000}
    assert send(client, body, "/canvas/trigger/send").status_code == 201


@pytest.mark.parametrize(("path", "body", "member"), [
    ("/canvas/trigger/send", {"canvas_id": "c", "broadcast": True}, "context"),
    ("/canvas/trigger/send", {"canvas_id": "c", "broadcast": True}, "canvas_entry_properties"),
    ("/campaigns/trigger/send", {"campaign_id": "c", "broadcast": True}, "trigger_properties"),
])
@pytest.mark.parametrize(("size", "status"), [(51_199, 201), (51_200, 201), (51_201, 400)])
def test_50_kb_is_51200_bytes_of_utf8_json(client, path, body, member, size, status):
    """braze.yaml, payload_limit_bytes: 50 KB read as 50 KiB, counted in UTF-8 bytes (é is two)."""
    room = size - len('{"k":""}')
    properties = {"k": "é" * (room // 2) + "x" * (room % 2)}
    assert len(json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode()) == size
    own_window = {**AUTH, "X-Mock-Session": f"kb-{member}-{size}"}  # the module's broadcasts spend none of it
    assert send(client, {**body, member: properties}, path, own_window).status_code == status


def test_campaign_trigger_properties_over_50_kb_is_bad_request(client):
    """The trigger properties object "has a maximum size limit of 50 KB", as the Canvas's has."""
    body = {"campaign_id": "c", "broadcast": True, "trigger_properties": {"k": "x" * 51_200}}
    fatal(send(client, body, "/campaigns/trigger/send"), 400, "Bad Request")
    body["trigger_properties"] = {"k": "x" * 50_000}
    assert send(client, body, "/campaigns/trigger/send").status_code == 201


# -- send ids, analytics, exports, lists ----------------------------------------------------------
def test_sends_id_create_echoes_or_makes_the_send_id(client):
    assert send(client, {"campaign_id": "c", "send_id": "mine"}, "/sends/id/create").json() == {
        "message": "success", "send_id": "mine"}
    made = send(client, {"campaign_id": "c"}, "/sends/id/create")
    assert made.status_code == 201 and made.json()["send_id"]
    fatal(send(client, {"send_id": "mine"}, "/sends/id/create"), 400, "Bad Request")
    fatal(send(client, {"campaign_id": None}, "/sends/id/create"), 400, "Bad Request")


@pytest.mark.parametrize("query", ["campaign_id=c&send_id=s", "campaign_id=c&send_id=s&length=0",
                                   "campaign_id=c&send_id=s&length=101", "campaign_id=c&send_id=s&length=x",
                                   "campaign_id=c&send_id=s&length=3&ending_at=yesterday",
                                   "campaign_id=c&send_id=s&length=5%0A"])  # `$` alone let a final newline by
def test_send_analytics_bad_parameters(client, query):
    fatal(client.get(f"/braze/sends/data_series?{query}", headers=AUTH), 400, "Bad Request")


def test_send_analytics_series_ends_at_ending_at(client):
    query = "campaign_id=c&send_id=s&length=3&ending_at=2024-05-10T23:59:59-05:00"
    response = client.get(f"/braze/sends/data_series?{query}", headers=AUTH)
    assert response.status_code == 200
    data = response.json()["data"]
    assert [d["time"] for d in data] == ["2024-05-08", "2024-05-09", "2024-05-10"]  # the day as the caller wrote it
    assert all(s["delivered"] <= s["sent"] for d in data for s in d["messages"]["ios_push"])


def test_send_analytics_of_an_unknown_campaign(configured):
    response = configured.get("/braze/sends/data_series?campaign_id=nope&send_id=s&length=1", headers=FULL)
    fatal(response, 400, "Invalid Campaign ID")


def test_campaigns_list_of_the_workspace(client, configured):
    assert client.get("/braze/campaigns/list", headers=AUTH).json() == {"message": "success", "campaigns": []}
    listed = configured.get("/braze/campaigns/list", headers=FULL).json()["campaigns"]
    assert [c["id"] for c in listed] == ["welcome", "winback"]
    assert listed[0]["name"] == "Welcome" and listed[0]["tags"] == ["onboarding"] and listed[0]["is_api_campaign"]
    everything = configured.get("/braze/campaigns/list?include_archived=true&sort_direction=desc", headers=FULL)
    assert [c["id"] for c in everything.json()["campaigns"]] == ["winback", "old-promo", "welcome"]
    assert configured.get("/braze/campaigns/list?page=1", headers=FULL).json()["campaigns"] == []


@pytest.mark.parametrize("query", ["page=x", "page=-1", "sort_direction=up", "page=1%0A", "sort_direction=asc%0A"])
def test_campaigns_list_bad_parameters(client, query):
    fatal(client.get(f"/braze/campaigns/list?{query}", headers=AUTH), 400, "Bad Request")


def test_export_by_ids(client, configured):
    response = send(client, {"external_ids": ["a", "b"], "fields_to_export": ["first_name", "email"]},
                    "/users/export/ids")
    assert response.status_code == 201
    exported = response.json()["users"]
    assert [u["external_id"] for u in exported] == ["a", "b"]
    assert set(exported[0]) == {"external_id", "first_name", "email"}
    by_email = send(client, {"email_address": "x@example.com"}, "/users/export/ids").json()["users"]
    assert by_email[0]["email"] == "x@example.com"
    ghost = send(configured, {"external_ids": ["a", "ghost"]}, "/users/export/ids", headers=FULL).json()
    assert ghost["invalid_user_ids"] == ["ghost"] and len(ghost["users"]) == 1


@pytest.mark.parametrize(("ids", "aliases"), [(51, 0), (26, 25)])
def test_export_of_more_than_50_ids_and_aliases(client, ids, aliases):
    body = {"external_ids": [f"u{i}" for i in range(ids)],
            "user_aliases": [{"alias_name": f"a{i}", "alias_label": "l"} for i in range(aliases)]}
    fatal(send(client, body, "/users/export/ids"), 400,
          "The max number of external_ids and aliases per request was exceeded")


@pytest.mark.parametrize("body", [{}, {"fields_to_export": ["email"]}, {"external_ids": "a"}])
def test_export_without_identifier_is_bad_request(client, body):
    fatal(send(client, body, "/users/export/ids"), 400, "Bad Request")


# -- /users/delete --------------------------------------------------------------------------------
def test_delete_counts_the_ids_of_every_kind(client, configured):
    body = {"external_ids": ["a", "b"], "braze_ids": ["x"],
            "user_aliases": [{"alias_name": "n", "alias_label": "l"}]}  # several lists, as the doc's example
    response = send(client, body, "/users/delete")
    assert response.status_code == 201 and response.json() == {"deleted": 4, "message": "success"}
    ghost = send(configured, {"external_ids": ["a", "ghost"]}, "/users/delete", headers=FULL).json()
    assert ghost == {"deleted": 1, "invalid_user_ids": ["ghost"], "message": "success"}


@pytest.mark.parametrize(("lists", "ok"), [({"external_ids": 50}, True), ({"external_ids": 51}, False),
                                           ({"braze_ids": 30, "email_addresses": 21}, False),
                                           ({"phone_numbers": 25, "external_ids": 25}, True)])
def test_delete_of_more_than_50_ids_is_the_max_number_of_ids(client, lists, ok):
    body = {name: [f"{name}{i}" for i in range(n)] for name, n in lists.items()}
    response = send(client, body, "/users/delete")
    if ok:
        assert response.status_code == 201 and response.json()["deleted"] == sum(lists.values())
    else:
        fatal(response, 400, "The max number of ids per request was exceeded")


@pytest.mark.parametrize("body", [{}, {"external_ids": "a"}, {"user_aliases": ["not-an-object"]}])
def test_delete_without_an_id_list_is_bad_request(client, body):
    fatal(send(client, body, "/users/delete"), 400, "Bad Request")


def test_delete_needs_the_users_delete_permission(configured):
    denied = send(configured, {"external_ids": ["a"]}, "/users/delete", headers={"Authorization": "Bearer track-only"})
    fatal(denied, 403, "Access Denied")


# -- what Braze's parser refuses, and what the answers echo ---------------------------------------
@pytest.mark.parametrize(("path", "raw"), [
    ("/messages/send", b'{"external_user_ids": ["a"], "send_id": NaN, "messages": {"email": {}}}'),
    ("/campaigns/trigger/send", b'{"campaign_id": "c", "broadcast": true, "send_id": Infinity}'),
    ("/campaigns/trigger/send", b'{"campaign_id": "c", "broadcast": true, "send_id": 1e999}'),
    ("/users/track", b'{"attributes": [{"external_id": "a", "score": -Infinity}]}'),
    ("/users/export/ids", b'{"user_aliases": [{"alias_name": NaN, "alias_label": "l"}]}'),
])
def test_nan_and_infinity_are_not_json_to_braze(client, path, raw):
    response = client.post(f"/braze{path}", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    fatal(response, 400, "Bad Request")


def test_large_finite_numbers_are_still_numbers(client):
    raw = b'{"attributes": [{"external_id": "a", "score": 1.5e300, "note": "NaN"}]}'
    response = client.post("/braze/users/track", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 201 and response.json()["attributes_processed"] == 1


@pytest.mark.parametrize("send_id", [7, {"x": 1}, ["s"], True])
def test_a_send_id_that_is_no_string_is_bad_request(client, send_id):
    fatal(send(client, {"external_user_ids": ["a"], "send_id": send_id, "messages": {"email": {}}}), 400,
          "Bad Request")
    fatal(send(client, {"campaign_id": "c", "broadcast": True, "send_id": send_id}, "/campaigns/trigger/send"),
          400, "Bad Request")


def test_a_string_send_id_is_echoed(client):
    response = send(client, {"campaign_id": "c", "broadcast": True, "send_id": "s-1"}, "/campaigns/trigger/send")
    assert response.status_code == 201 and response.json()["send_id"] == "s-1"


@pytest.mark.parametrize(("path", "body"), [
    ("/campaigns/trigger/send", {"campaign_id": "c", "broadcast": True}),
    ("/campaigns/trigger/send", {"campaign_id": "c", "broadcast": "true", "audience": {"AND": []}}),
    ("/messages/send", {"campaign_id": "c", "broadcast": True, "segment_id": "s",
                        "messages": {"email": {"message_variation_id": "v"}}}),
])
def test_a_campaign_sent_as_a_broadcast_gets_a_send_id(client, path, body):
    """errors.md, "Responses for tracked send IDs": a campaign sent as a broadcast is tracked, and the
    answer carries the send_id that /sends/data_series takes."""
    response = send(client, body, path)
    assert response.status_code == 201 and response.json()["message"] == "success"
    send_id = response.json()["send_id"]
    assert isinstance(send_id, str) and send_id
    query = f"campaign_id=c&send_id={send_id}&length=1"
    assert client.get(f"/braze/sends/data_series?{query}", headers=AUTH).status_code == 200


@pytest.mark.parametrize(("path", "body"), [
    ("/campaigns/trigger/send", {"campaign_id": "c", "recipients": [{"external_user_id": "a"}]}),
    ("/messages/send", {"broadcast": True, "segment_id": "s", "messages": {"email": {}}}),  # no campaign
    ("/messages/send", {"external_user_ids": ["a"], "messages": {"email": {}}}),
    ("/canvas/trigger/send", {"canvas_id": "c", "broadcast": True}),
])
def test_sends_not_tracked_have_no_send_id(client, path, body):
    response = send(client, body, path)
    assert response.status_code == 201 and "send_id" not in response.json()


def test_campaign_analytics_series(client):
    """get_campaign_analytics.md: GET /campaigns/data_series, campaign_id and length (1 to 100) required."""
    query = "campaign_id=c&length=3&ending_at=2024-05-10T23:59:59-05:00"
    response = client.get(f"/braze/campaigns/data_series?{query}", headers=AUTH)
    assert response.status_code == 200 and response.json()["message"] == "success"
    assert [d["time"] for d in response.json()["data"]] == ["2024-05-08", "2024-05-09", "2024-05-10"]
    assert len(client.get("/braze/campaigns/data_series?campaign_id=c&length=100", headers=AUTH).json()["data"]) == 100
    for bad in ("length=1", "campaign_id=c", "campaign_id=c&length=0", "campaign_id=c&length=101",
                "campaign_id=c&length=1&ending_at=yesterday"):
        fatal(client.get(f"/braze/campaigns/data_series?{bad}", headers=AUTH), 400, "Bad Request")
    fatal(client.get("/braze/campaigns/data_series?campaign_id=c&length=1"), 401, "Unauthorized")


def test_campaign_analytics_needs_its_permission_and_a_known_campaign(configured):
    response = configured.get("/braze/campaigns/data_series?campaign_id=c&length=1",
                              headers={"Authorization": "Bearer track-only"})
    fatal(response, 403, "Access Denied")
    response = configured.get("/braze/campaigns/data_series?campaign_id=nope&length=1", headers=FULL)
    fatal(response, 400, "Invalid Campaign ID")
    assert configured.get("/braze/campaigns/data_series?campaign_id=welcome&length=1", headers=FULL).status_code == 200


# -- errors.md's own spelling of the analytics path -----------------------------------------------
def test_send_data_series_as_errors_md_spells_it(client):
    response = client.get("/braze/send/data_series?campaign_id=c&send_id=s&length=2", headers=AUTH)
    assert response.status_code == 200 and response.json()["message"] == "success"
    assert len(response.json()["data"]) == 2
    fatal(client.get("/braze/send/data_series?campaign_id=c", headers=AUTH), 400, "Bad Request")
    fatal(client.get("/braze/send/data_series?campaign_id=c&send_id=s&length=1"), 401, "Unauthorized")
