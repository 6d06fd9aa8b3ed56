"""Edge options a user's file sets: what `datastreams.<id>.error` answers, and the values refused at load."""

from __future__ import annotations

import pytest

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
