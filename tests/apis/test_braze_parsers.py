"""Property tests of what the Braze module parses (keys, dates) and of arbitrary bodies on every route."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.apis.braze_request import parse_bearer, parse_datetime
from mockserver.scenario.load import load_catalog
from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import AUTH

client = support.client  # one app per module (fixture)
QUOTES = "\"'`"
KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60)
STATUSES = {e.status for e in load_catalog().apis["braze"].errors.values()} | {200, 201, 202}  # 202: /users/merge
BODY_ONLY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(key=KEYS, scheme=st.sampled_from(["Bearer", "bearer", "BEARER"]), gap=st.sampled_from([" ", "  ", "\t"]))
def test_a_bearer_key_is_read_back_unless_quoted(key, scheme, gap):
    quoted = key[0] in QUOTES or key[-1] in QUOTES
    assert parse_bearer(f" {scheme}{gap}{key} ") == (None if quoted else key)


@given(header=st.text(max_size=80))
def test_any_header_gives_none_or_one_printable_key(header):
    key = parse_bearer(header)
    assert key is None or (key.isascii() and key.isprintable() and " " not in key and key in header)


@given(key=KEYS, quote=st.sampled_from(['"', "'", "`"]))
def test_a_quoted_key_is_refused(key, quote):
    assert parse_bearer(f"Bearer {quote}{key}{quote}") is None


@given(moment=st.datetimes(timezones=st.one_of(st.none(), st.just(UTC),
                                               st.builds(lambda m: timezone(timedelta(minutes=m)),
                                                         st.integers(-900, 900)))))
def test_iso_datetimes_are_read_back(moment):
    assert parse_datetime(moment.isoformat()) == moment


@given(value=st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans(),
                       st.lists(st.text(max_size=3), max_size=2)))
def test_anything_else_is_a_date_or_none(value):
    assert parse_datetime(value) is None or isinstance(parse_datetime(value), datetime)


FIELDS = ["attributes", "events", "purchases", "external_id", "external_user_ids", "user_aliases", "recipients",
          "broadcast", "segment_id", "audience", "campaign_id", "canvas_id", "send_id", "messages", "apple_push",
          "android_push", "in_app_message", "message", "extra", "message_variation_id", "schedule", "time",
          "in_local_time", "send_at", "context", "external_ids", "fields_to_export", "email_address", "api_key",
          "alias_name", "alias_label", "alias_updates", "aliases_to_identify", "emails_to_identify", "user_alias",
          "merge_updates", "identifier_to_merge", "identifier_to_keep", "email", "phone", "schedule_id"]
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=5)),
    max_leaves=25,
)
PATHS = ["/users/track", "/messages/send", "/messages/schedule/create", "/campaigns/trigger/send",
         "/canvas/trigger/send", "/campaigns/trigger/schedule/create", "/canvas/trigger/schedule/create",
         "/messages/schedule/update", "/campaigns/trigger/schedule/update", "/canvas/trigger/schedule/update",
         "/messages/schedule/delete", "/campaigns/trigger/schedule/delete", "/canvas/trigger/schedule/delete",
         "/sends/id/create", "/users/export/ids", "/users/delete", "/users/alias/new",
         "/users/alias/update", "/users/identify", "/users/merge"]


@BODY_ONLY
@given(path=st.sampled_from(PATHS), body=JSON)
def test_any_json_body_gets_a_documented_answer(client, path, body):
    response = client.post(f"/braze{path}", content=json.dumps(body), headers=AUTH)
    assert "x-mockserver-internal-error" not in response.headers
    assert response.status_code in STATUSES
    assert isinstance(response.json()["message"], str) and response.headers["x-ratelimit-limit"].isdigit()


@BODY_ONLY
@given(path=st.sampled_from(["/sends/data_series", "/campaigns/list"]),
       query=st.dictionaries(st.sampled_from(["campaign_id", "send_id", "length", "ending_at", "page",
                                              "include_archived", "sort_direction"]), st.text(max_size=12)))
def test_any_query_gets_a_documented_answer(client, path, query):
    response = client.get(f"/braze{path}", params=query, headers=AUTH)
    assert response.status_code in STATUSES and isinstance(response.json()["message"], str)
