"""Edge, model-based: visitors that keep the state entries Edge hands them (identity, consent, cluster)
and send them back, as the Web SDK and the Server SDK do (client-state page: "Edge Network itself is
stateless ... the client is responsible for storing these entries and including them in all
subsequent requests"). The model keeps each visitor's entries; after every step the mock must agree:
one ECID per visitor, minted once and unique, handed back on fetch; a visitor's consent is its own
("Consent belongs to a single visitor", setConsent of the Server SDK); request ids unique. At the end
of each example a fresh app replays every answer byte for byte.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.apis.stateful import SETTINGS, Recorder

VISITORS = ["v0", "v1", "v2"]
ORG_COOKIE = "kndctr_53A16ACB5CC1D3760A495C99_AdobeOrg"
PATHS = {"interact-v1": "/edge/ee/v1/interact", "interact-v2": "/edge/ee/v2/interact",
         "interact-hint": "/edge/ee/or2/v2/interact", "acquire": "/edge/ee/v1/identity/acquire"}
CONSENT = {"1.0": {"in": {"general": "in"}, "out": {"general": "out"}},
           "2.0": {"in": {"collect": {"val": "y"}}, "out": {"collect": {"val": "n"}}}}


class EdgeModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = Recorder("edge")
        self.entries: dict[str, dict[str, str]] = {v: {} for v in VISITORS}   # visitor -> state entries kept
        self.anonymous = "in"   # the choice of clients that bring no state (scenarios/edge.yaml, EXEG-0301-200)
        self.ecids: dict[str, str] = {}
        self.ecid_choices: dict[str, str] = {}   # ECID named in the identityMap -> its consent
        self.request_ids: set[str] = set()

    def send(self, visitor: str, path: str, body: dict[str, Any], as_cookie: bool) -> Any:
        kept = self.entries[visitor]
        headers: dict[str, str] = {}
        if kept and as_cookie:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kept.items())
        elif kept:
            body = {**body, "meta": {"state": {"entries": [{"key": k, "value": v} for k, v in kept.items()]}}}
        response = self.mock.request("POST", path + "?datastreamId=ds-1", json=body, headers=headers)
        assert response.headers["content-type"] == "application/json", (response.status_code, response.text)
        request_id = response.json()["requestId"]
        assert request_id not in self.request_ids and request_id == response.headers["x-request-id"]
        self.request_ids.add(request_id)
        return response

    def opted_out(self, visitor: str) -> bool:
        """The consent entry the visitor brings back decides; a visitor that brings nothing, the session's."""
        kept = self.entries[visitor]
        if not kept:
            return self.anonymous == "out"
        return kept.get(ORG_COOKIE + "_consent") == "general=out"

    def stored(self, response: Any) -> dict[str, str]:
        found: dict[str, str] = {}
        for handle in response.json()["handle"]:
            if handle["type"] == "state:store":
                found.update({entry["key"]: entry["value"] for entry in handle["payload"]})
        return found

    def ignored(self, response: Any) -> None:
        """The opted-out visitor's request: 200, the warning EXEG-0301-200, nothing handed back."""
        assert response.status_code == 200, response.text
        body = response.json()
        assert [w["type"].rsplit("/", 1)[1] for w in body["warnings"]] == ["EXEG-0301-200"], body
        assert "errors" not in body and body["handle"] == []
        self.mock.documented(response, "EXEG-0301-200")

    @rule(visitor=st.sampled_from(VISITORS), route=st.sampled_from(sorted(PATHS)), fetch=st.booleans(),
          as_cookie=st.booleans())
    def interact(self, visitor: str, route: str, fetch: bool, as_cookie: bool) -> None:
        body: dict[str, Any] = {"event": {"xdm": {"eventType": "web.webpagedetails.pageViews"}}}
        if route == "acquire":
            body = {}
        elif route == "interact-v1":
            body = {"events": [body["event"]]}
        if fetch:
            body["query"] = {"identity": {"fetch": ["ECID"]}}
        response = self.send(visitor, PATHS[route], body, as_cookie)
        if self.opted_out(visitor):
            self.ignored(response)
            return
        assert response.status_code == 200 and "warnings" not in response.json(), response.text
        stored = self.stored(response)
        identity = stored.get(ORG_COOKIE + "_identity")
        if ORG_COOKIE + "_identity" in self.entries[visitor]:
            assert identity is None, f"{visitor} brought its identity and was given another"
        else:
            assert identity is not None, f"{visitor} brought no identity and was given none"
        self.entries[visitor].update(stored)
        results = [h for h in response.json()["handle"] if h["type"] == "identity:result"]
        if fetch:
            [result] = results
            ecid = result["payload"][0]["id"]
            if visitor in self.ecids:
                assert ecid == self.ecids[visitor], "a visitor's ECID changed"
            assert ecid not in [e for v, e in self.ecids.items() if v != visitor], "two visitors, one ECID"
            self.ecids[visitor] = ecid
        else:
            assert results == []

    @rule(fpid=st.sampled_from(["fp-a", "fp-b"]), route=st.sampled_from(["interact-v2", "acquire"]))
    def server_side_visit(self, fpid: str, route: str) -> None:
        """A server-side client that keeps no state and names its visitor by FPID (visitor-identification-fpid.md):
        the same FPID always yields the same ECID."""
        identity = {"identityMap": {"FPID": [{"id": fpid, "authenticatedState": "ambiguous", "primary": True}]}}
        body: dict[str, Any] = {"xdm": identity} if route == "acquire" else {"event": {"xdm": identity}}
        body["query"] = {"identity": {"fetch": ["ECID"]}}
        response = self.mock.request("POST", PATHS[route] + "?datastreamId=ds-1", json=body)
        if self.anonymous == "out":
            self.ignored(response)
            return
        assert response.status_code == 200 and "warnings" not in response.json(), response.text
        [result] = [h for h in response.json()["handle"] if h["type"] == "identity:result"]
        ecid = result["payload"][0]["id"]
        assert self.ecids.setdefault(f"fpid:{fpid}", ecid) == ecid, "one FPID, two ECIDs"
        assert ecid not in [e for v, e in self.ecids.items() if v != f"fpid:{fpid}"], "two visitors, one ECID"

    @rule(visitor=st.sampled_from(VISITORS), choice=st.sampled_from(["in", "out"]),
          version=st.sampled_from(["1.0", "2.0"]), as_cookie=st.booleans())
    def set_consent(self, visitor: str, choice: str, version: str, as_cookie: bool) -> None:
        body = {"consent": [{"standard": "Adobe", "version": version, "value": CONSENT[version][choice]}]}
        response = self.send(visitor, "/edge/ee/v1/privacy/set-consent", body, as_cookie)
        assert response.status_code == 200, response.text
        stored = self.stored(response)
        assert stored == {ORG_COOKIE + "_consent": f"general={choice}"}, stored
        if not self.entries[visitor]:
            self.anonymous = choice
        self.entries[visitor].update(stored)

    @rule(visitor=st.sampled_from(VISITORS), choice=st.sampled_from(["in", "out"]),
          error=st.sampled_from(["EXEG-0307-502", "EXEG-0000-503", "rate-limited", "EXEG-0104-422"]))
    def set_consent_fails(self, visitor: str, choice: str, error: str) -> None:
        """A consent update that fails changes nothing: EXEG-0307-502 ("An error occurred while updating
        user consent settings. Try again later.") embedded in a 207, or a fatal error, which "halt[s] the
        request processing" (error-handling page). The visitor's earlier choice stays; nothing is stored."""
        body = {"consent": [{"standard": "Adobe", "version": "1.0", "value": CONSENT["1.0"][choice]}]}
        response = self.send_flagged(visitor, error, body)
        if error == "EXEG-0307-502":
            assert response.status_code == 207 and response.json()["handle"] == [], response.text
        else:
            assert response.headers["content-type"] == "application/problem+json", response.text
        self.mock.documented(response, error)

    def send_flagged(self, visitor: str, error: str, body: dict[str, Any]) -> Any:
        kept = self.entries[visitor]
        if kept:
            body = {**body, "meta": {"state": {"entries": [{"key": k, "value": v} for k, v in kept.items()]}}}
        return self.mock.request("POST", f"/edge/ee/v1/privacy/set-consent?datastreamId=ds-1&__error={error}",
                                 json=body)

    @rule(ecid=st.sampled_from(["1" * 38, "2" * 38]), choice=st.sampled_from([None, "in", "out"]))
    def ecid_visitor(self, ecid: str, choice: str | None) -> None:
        """A client that keeps no state and names its device by ECID in the identityMap: setConsent "only uses
        the ECID from the identity map, as the command operates at device level" (Web SDK setConsent page), so
        the choice is that ECID's, not another device's (choice None: an interact instead)."""
        identity = {"ECID": [{"id": ecid, "authenticatedState": "ambiguous", "primary": True}]}
        if choice is not None:
            body = {"identityMap": identity, "consent": [{"standard": "Adobe", "version": "1.0",
                                                          "value": CONSENT["1.0"][choice]}]}
            response = self.mock.request("POST", "/edge/ee/v1/privacy/set-consent?configId=ds-1", json=body)
            assert response.status_code == 200, response.text
            assert self.stored(response) == {ORG_COOKIE + "_consent": f"general={choice}"}
            self.ecid_choices[ecid] = choice
            return
        body = {"event": {"xdm": {"identityMap": identity}}}
        response = self.mock.request("POST", "/edge/ee/v2/interact?datastreamId=ds-1", json=body)
        if self.ecid_choices.get(ecid) == "out":
            self.ignored(response)
        else:
            assert response.status_code == 200 and "warnings" not in response.json(), response.text

    @rule(visitor=st.sampled_from(VISITORS), as_cookie=st.booleans())
    def collect(self, visitor: str, as_cookie: bool) -> None:
        body: dict[str, Any] = {"events": [{"xdm": {"eventType": "web.webinteraction.linkClicks"}}]}
        kept = self.entries[visitor]
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in kept.items())} if kept and as_cookie else {}
        if kept and not as_cookie:
            body = {**body, "meta": {"state": {"entries": [{"key": k, "value": v} for k, v in kept.items()]}}}
        response = self.mock.request("POST", "/edge/ee/v1/collect?datastreamId=ds-1", json=body, headers=headers)
        if self.opted_out(visitor):
            self.ignored(response)
        else:
            assert response.status_code == 204 and response.content == b"", response.text

    @invariant()
    def ecids_are_unique(self) -> None:
        assert len(set(self.ecids.values())) == len(self.ecids)

    def teardown(self) -> None:
        self.mock.finish()


TestEdgeModel = EdgeModel.TestCase
TestEdgeModel.settings = SETTINGS
