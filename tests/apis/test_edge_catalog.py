"""Every Edge catalog entry by flag, the documented codes and titles, and bad input never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.scenario.load import load_catalog
from tests.apis.test_edge_support import (
    EVENT,
    EXEG_TYPE,
    INTERACT,
    PROBLEM_SCHEMA,
    SHARED_SCHEMA,
    assert_problem,
    bind_fixtures,
)

edge_app, client = bind_fixtures()

EDGE = load_catalog().apis["edge"]
ENTRIES = sorted(EDGE.errors.values(), key=lambda e: e.id)

# The codes table (data-collection-apis troubleshooting.md, "Error message" column), as reference/
# documented-errors.json lists the ids. Our one deliberate difference is 0104, titled as the
# error-handling page's example ("Unprocessable entity").
DOCUMENTED_TITLES = {
    "EXEG-0000-503": "Service unavailable", "EXEG-0001-500": "Unexpected error",
    "EXEG-0002-400": "Missing datastream parameter", "EXEG-0003-400": "Invalid datastream ID",
    "EXEG-0004-422": "Datastream disabled", "EXEG-0010-422": "Invalid datastream configuration",
    "EXEG-0011-422": "Could not retrieve sandbox details",
    "EXEG-0012-422": "The referenced sandbox cannot be resolved",
    "EXEG-0013-422": "The referenced identity namespace code '{identityNamespaceCode}' cannot be resolved",
    "EXEG-0100-500": "JSON processing error", "EXEG-0101-400": "Invalid JSON request",
    "EXEG-0102-400": "Invalid request field", "EXEG-0103-400": "Missing required value",
    "EXEG-0104-422": "Unprocessable entity", "EXEG-0105-400": "Input validation error",
    "EXEG-0106-400": "Invalid Content-Type header", "EXEG-0107-400": "Missing required parameter",
    "EXEG-0108-400": "Invalid parameter type", "EXEG-0109-408": "Empty request",
    "EXEG-0110-400": "Missing parameter value", "EXEG-0111-415": "Invalid request",
    "EXEG-0112-413": "Invalid request", "EXEG-0113-400": "Invalid request",
    "EXEG-0200-504": "The service call has timed out", "EXEG-0201-503": "The service is temporarily unavailable",
    "EXEG-0202-502": "The service failed to process this request", "EXEG-0203-502": "The service call has failed",
    "EXEG-0204-200": "The service call completed with warning(s)",
    "EXEG-0205-502": "Data exchange producer request failed", "EXEG-0300-502": "Could not check user consent",
    "EXEG-0301-200": "User consent missing", "EXEG-0302-409": "Update operation not supported",
    "EXEG-0303-200": "Unauthorized to fetch identities", "EXEG-0304-400": "Unexpected identities provided",
    "EXEG-0305-400": "Invalid identity provided", "EXEG-0306-400": "Event is missing primary identity",
    "EXEG-0307-502": "User consent update error", "EXEG-0308-400": "Invalid identity format",
    "EXEG-0400-403": "Request ignored due to geographical restrictions",
    "EXEG-0500-401": "Invalid authorization token", "EXEG-0501-401": "Invalid user authorization token",
    "EXEG-0502-401": "Invalid authorization token signature", "EXEG-0503-401": "Authorization token expired",
    "EXEG-0504-401": "Missing required product context",
    "EXEG-0505-401": "Missing required authorization token scope",
    "EXEG-0506-401": "Missing sandbox write permissions",
}
UPSTREAM = {"EXEG-0200-504", "EXEG-0201-503", "EXEG-0202-502", "EXEG-0203-502", "EXEG-0205-502", "EXEG-0300-502",
            "EXEG-0307-502"}
WARNINGS = {"EXEG-0204-200", "EXEG-0301-200", "EXEG-0303-200"}


def test_the_catalog_holds_every_documented_code_with_its_title():
    assert len(DOCUMENTED_TITLES) == 46
    for code, title in DOCUMENTED_TITLES.items():
        assert EDGE.errors[code].title == title


def test_codes_are_classed_as_the_doc_classes_them():
    for code in DOCUMENTED_TITLES:
        fields = EDGE.errors[code].fields
        status = int(code[-3:])
        if code in UPSTREAM | WARNINGS:
            severity = "warning" if code in WARNINGS else "error"
            assert (fields["class"], fields["severity"]) == ("UpstreamError", severity)
            assert fields["problem_status"] == status and EDGE.errors[code].asynchronous
        else:
            expected = "RequestProcessingError" if status == 500 or code == "EXEG-0000-503" else (
                "ConfigurationError" if status == 422 and code != "EXEG-0104-422" else "InputError")
            assert (fields["class"], fields["severity"]) == (expected, "fatal")
            assert EDGE.errors[code].status == status


def test_our_problem_schema_is_the_shared_one():
    if not SHARED_SCHEMA.exists():
        pytest.skip("shared reference folder not mounted")
    assert json.loads(SHARED_SCHEMA.read_text()) == PROBLEM_SCHEMA


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_every_entry_by_flag(client, entry):
    response = client.post(f"{INTERACT}&__error={entry.id}", json=EVENT)
    assert response.status_code == entry.status, response.text
    if entry.id == "not-found":
        assert response.content == b""
        return
    severity = entry.fields["severity"]
    if severity == "fatal":
        body = assert_problem(response, entry.status)
        assert body["type"].endswith(entry.fields.get("code", entry.id))
        # EXEG-0104-422's report is the doc example's: errors, requestId, orgId, no configId.
        assert body["report"].get("configId") == (None if entry.id == "EXEG-0104-422" else "ds-1")
        assert body["report"]["orgId"]
        assert ("retry-after" in response.headers) == (entry.status in (429, 503))
        return
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    [problem] = body["errors" if severity == "error" else "warnings"]
    assert problem["type"] == f"https://ns.adobe.com/aep/errors/{entry.id}"
    assert problem["status"] == entry.fields["problem_status"] and problem["report"]["eventIndex"] == 0
    assert isinstance(body["handle"], list) and "{" not in problem["detail"]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.id.startswith("EXEG")], ids=lambda e: e.id)
def test_every_rendered_title_and_detail_has_its_placeholders_filled(client, entry):
    response = client.post(INTERACT, json=EVENT, headers={"Prefer": f"error={entry.id}"})
    body = response.json()
    problem = body if "type" in body else (body.get("errors") or body["warnings"])[0]
    assert EXEG_TYPE.match(problem["type"])
    assert "{" not in problem["title"] + problem["detail"] and problem["detail"]


def test_coverage_counts_embedded_errors(client):
    client.post(INTERACT, json=EVENT, headers={"Prefer": "error=EXEG-0201-503, error=EXEG-0204-200"})
    client.post("/edge/ee/v2/interact", json=EVENT)
    served = client.get("/__admin/coverage").json()["apis"]["edge"]["served_ids"]
    assert served == ["EXEG-0002-400", "EXEG-0201-503", "EXEG-0204-200"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(["event", "events", "consent", "meta", "query", "xdm"])
BODIES = st.dictionaries(FIELDS, JSON_VALUES, max_size=4).map(json.dumps).map(str.encode) | st.binary(max_size=200)
PATHS = st.sampled_from(["/edge/ee/v2/interact?datastreamId=a", "/edge/ee/v1/interact?configId=a",
                         "/edge/ee/v2/collect?datastreamId=a&silent=x", "/edge/ee/v1/collect?configId=a",
                         "/edge/ee/v1/privacy/set-consent?configId=a", "/edge/ee/or2/v2/interact?datastreamId=a"])
TYPES = st.sampled_from(["application/json", "text/plain", "application/x-jackson-smile", "x/y", "??", ""])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS, body=BODIES, content_type=TYPES, index=st.text(alphabet="0123456789, -x", max_size=5),
       asked=st.sampled_from(["", "error=EXEG-0203-502", "error=EXEG-0204-200"]))
def test_bad_input_never_gives_a_500(client, path, body, content_type, index, asked):
    headers = {"Content-Type": content_type, "Prefer": asked, "X-Mock-Event-Index": index or "0"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500, response.text
    misuse = "x-mockserver-misuse" in response.headers
    if response.headers.get("content-type") == "application/problem+json" and not misuse:
        assert_problem(response, response.status_code)
    elif response.status_code in (200, 207):
        assert isinstance(response.json()["handle"], list)
