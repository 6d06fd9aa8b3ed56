"""Edge options a user's file sets: what `datastreams.<id>.error` answers, and the values refused at load."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.apis.test_edge_support import EVENT, IDENTIFIED, edge_client

NON_FATAL = [("EXEG-0201-503", 207), ("EXEG-0204-200", 200)]  # an upstream error, a warning


def _shape(response) -> tuple[int, str, list[str], list[dict], list[dict], list[str]]:
    """What an answer is, without its request id: status, type, body keys, errors, warnings, handle types."""
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    return (response.status_code, response.headers["content-type"], sorted(body), body.get("errors", []),
            body.get("warnings", []), [h["type"] for h in body["handle"]])


@pytest.mark.parametrize("code, status", NON_FATAL)
@pytest.mark.parametrize("path", ["/edge/ee/v2/interact", "/edge/ee/or2/v1/interact", "/edge/ee/v2/collect"])
def test_a_datastream_configured_with_a_non_fatal_error_answers_as_the_flag_does(make_client, tmp_path, code, status,
                                                                                 path):
    """`error: EXEG-0201-503` answered a bare problem+json with status 207 (no requestId, handle, errors[]):
    it is embedded in the normal answer, as `__error=EXEG-0201-503` embeds it."""
    client = edge_client(make_client, tmp_path, datastreams={"x": {"error": code}})
    body = {"events": [IDENTIFIED, IDENTIFIED]} | EVENT  # v1 and collect: two events, v2 interact: one
    configured = client.post(f"{path}?datastreamId=x", json=body)
    asked = client.post(f"{path}?datastreamId=other&__error={code}", json=body)
    expected = 202 if path.endswith("collect") and status == 200 else status
    assert configured.status_code == expected
    assert _shape(configured) == _shape(asked)
    reported = configured.json().get("errors", []) + configured.json().get("warnings", [])
    assert reported and {e["type"] for e in reported} == {f"https://ns.adobe.com/aep/errors/{code}"}
    one, other = client.get("/__admin/requests?limit=2").json()["requests"]
    assert one["errors"] == other["errors"] and code in one["errors"]  # the journal (coverage) names it as the flag's


def test_a_datastream_s_non_fatal_error_yields_to_a_fatal_one_as_the_flag_s_does(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, datastreams={"x": {"error": "EXEG-0201-503"}})
    empty = client.post("/edge/ee/v2/interact?datastreamId=x", content=b"", headers={"Content-Type": "text/plain"})
    assert empty.status_code == 408  # EXEG-0109-408, a fatal error of a later check
    assert client.post("/edge/ee/v2/interact?datastreamId=x&__error=EXEG-0201-503", json=EVENT).json()["errors"] == \
        client.post("/edge/ee/v2/interact?datastreamId=x", json=EVENT).json()["errors"]  # asked twice: told once
    silent = client.post("/edge/ee/v2/collect?datastreamId=x&silent=true", json={"events": [IDENTIFIED]})
    assert silent.status_code == 204


# ---- values refused at load -------------------------------------------------------------------
BAD = [
    # RFC 9110's delay-seconds is an integer: urllib3 (requests) raised InvalidHeader on `Retry-After: 1.5`
    ("retry_after_seconds: 1.5", "options.retry_after_seconds",
     "1.5 where the option takes an integer (a number without a decimal point)"),
    ("retry_after_seconds: 2.0", "options.retry_after_seconds",
     "2.0 where the option takes an integer (a number without a decimal point)"),
    ("retry_after_seconds: null", "options.retry_after_seconds",  # the 429 went out without Retry-After
     "null where the option takes a number (as 1); leave it out to keep that value"),
    ("edge_region_id: 35.5", "options.edge_region_id",  # x-adobe-edge: OR2;35.5, which the Web SDK reads as a number
     "35.5 where the option takes an integer (a number without a decimal point)"),
    ("max_body_bytes: 1000.5", "options.max_body_bytes",
     "1000.5 where the option takes an integer (a number without a decimal point)"),
    ("unknown_datastream_pattern: '(['", "options.unknown_datastream_pattern",
     "not a regular expression: unterminated character set at position 1 (a Python regular expression, searched "
     "case-insensitively; '' for none)"),
    ("datastreams:\n    x: {error: EXEG-9999-422}", "options.datastreams.x.error",
     "no error 'EXEG-9999-422' in the edge catalog (mockserver catalog --api edge lists them; EXEG-0010-422 to "
     "EXEG-0013-422 are the configuration errors)"),
    ("datastreams:\n    x: {error: [EXEG-0201-503]}", "options.datastreams.x.error",  # a list: unhashable
     "no error '['EXEG-0201-503']' in the edge catalog (mockserver catalog --api edge lists them; EXEG-0010-422 to "
     "EXEG-0013-422 are the configuration errors)"),
    ("unknown_datastream_pattern: 'a{99999999999}'", "options.unknown_datastream_pattern",  # OverflowError
     "not a regular expression: the repetition number is too large (a Python regular expression, searched "
     "case-insensitively; '' for none)"),
    ("datastreams:\n    x: {enabeld: false}", "options.datastreams.x.enabeld",
     "unknown key; did you mean 'enabled'? (a datastream takes: enabled, access, require_primary_identity, error)"),
    ("datastreams:\n    x: {access: public}", "options.datastreams.x.access",
     "'public' is not an access type (one of: mixed, authenticated)"),
    ("datastreams:\n    x: {enabled: 'no'}", "options.datastreams.x.enabled",
     "'no' where the key takes true or false"),
    ("datastreams:\n    x: {require_primary_identity: 1}", "options.datastreams.x.require_primary_identity",
     "1 where the key takes true or false"),
    ("datastreams:\n    x: [enabled]", "options.datastreams.x",
     "['enabled'] where a datastream takes a mapping of enabled, access, require_primary_identity, error "
     "(or nothing: a datastream that exists)"),
    ("default_location_hint: zz9", "options.default_location_hint",
     "'zz9' is not one of location_hints (or2, va6, irl1, ind1, jpn3, sgp3, aus3): every answer would name a "
     "hint whose own path answers 404"),
]


@pytest.mark.parametrize("option, field, message", BAD, ids=[b[1].rpartition(".")[2] for b in BAD])
def test_a_wrong_option_value_is_refused_at_reload_with_its_line(make_client, tmp_path, option, field, message):
    """Each passed validate, then answered every request as misuse, or silently did nothing."""
    client = make_client(scenarios=(str(tmp_path),))
    path = tmp_path / "edge-options.yaml"
    path.write_text(f"api: edge\noptions:\n  {option}\n")
    answer = client.post("/__admin/reload")
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [f"{path}:{3 + option.count(chr(10))}: {field}: {message}"]
    assert client.post("/edge/ee/v2/interact?datastreamId=plain-ds", json=EVENT).status_code == 200  # still served


@pytest.mark.parametrize("option", [
    "retry_after_seconds: 0", "retry_after_seconds: 30", "unknown_datastream_pattern: ''",
    "unknown_datastream_pattern: null", "datastreams: {x: null, y: {}}",
    "datastreams: {x: {enabled: true, access: mixed, require_primary_identity: false, error: EXEG-0012-422}}",
    "location_hints: [va6]\n  default_location_hint: va6",
])
def test_good_option_values_load(make_client, tmp_path, option):
    client = make_client(scenarios=(str(tmp_path),))
    (tmp_path / "edge-options.yaml").write_text(f"api: edge\noptions:\n  {option}\n")
    assert client.post("/__admin/reload").json()["loaded"] is True


def test_a_hint_the_default_does_not_keep_when_a_user_narrows_location_hints(make_client, tmp_path):
    """The bundled default (or2) against a user's own list: the user's line is the one told."""
    client = make_client(scenarios=(str(tmp_path),))
    path = tmp_path / "edge-options.yaml"
    path.write_text("api: edge\noptions:\n  location_hints: [va6]\n")
    assert client.post("/__admin/reload").json()["problems"] == [
        f"{path}:3: options.location_hints: default_location_hint 'or2' is not one of them (va6): every answer "
        "would name a hint whose own path answers 404"]


def test_validate_exits_1_naming_every_wrong_option(tmp_path):
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"api": "edge", "options": {
        "retry_after_seconds": 1.5, "unknown_datastream_pattern": "([", "default_location_hint": "zz9",
        "datastreams": {"a": {"error": "EXEG-9999-422"}, "b": {"enabeld": False}, "c": {"access": "public"},
                        "d": {"enabled": "no"}}}}))
    run = subprocess.run([sys.executable, "-m", "mockserver", "validate", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    fields = [line.split(": ", 2)[1] for line in run.stdout.splitlines() + run.stderr.splitlines()
              if line.startswith(str(path))]
    assert sorted(fields) == ["options.datastreams.a.error", "options.datastreams.b.enabeld",
                              "options.datastreams.c.access", "options.datastreams.d.enabled",
                              "options.default_location_hint", "options.retry_after_seconds",
                              "options.unknown_datastream_pattern"]
    assert "Traceback" not in run.stdout + run.stderr
