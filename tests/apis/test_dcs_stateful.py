"""DCS, model-based: id syncs, opt-outs, IAB TCF consent and ID monitoring over random sequences of calls.

The model (dcs-errors.md, opt-out-management.md, declared-ids.md, aam-iab-plugin.md,
id-monitoring-denylisting.md, dcs.yaml's id_monitoring with a small limit); every rule cites its page in
/tmp/r9-dcs/model.md. In short:
- a declared id answers the AAM UUID it was mapped to last ("The most recent mapping is used if your ID
  maps to more than one Audience Manager ID", declared-ids.md); a d_uuid or the demdex cookie is the
  AAM UUID the call sends, and the answer's `demdex` cookie carries it back;
- a partner-level opt-out (/demoptout.jpg with ids) answers 171 at that partner and only there, for the
  declared id and for "the last device ID linked to the CRM ID" (opt-out-management.md; declared-ids.md:
  "stored for the latest mapping ... If there is no previously existing mapping ... the AAM UUID in the
  cookie ... d_uuid always takes precedence"); the global one (no ids) sets demdex=NOTARGET and
  dextp=NOTARGET and stops every later call of that cookie or that AAM UUID;
- gdpr=1: no consent for purposes 1 and 10 plus vendor 565 is 315 (the call is dropped: no uuid, no
  cookie, no id mapped: "does not store any new user data ... partner IDs"); a CMP not in the GCL (313)
  or deleted there by now (314, the clock decides) discards the string and processes the call as usual;
- an id sent more than `max_requests` times in one window is deny-listed for good (303 for a customer
  id, 306 + 307 for a device id);
- every answer's X-Error names the same codes as its JSON body, in the same order (the page's
  `X-Error: 101,102` and its sample body), and a pixel answer carries them in X-Error alone.
At the end of each example a fresh app replays every answer byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.apis.stateful import SETTINGS, Recorder, scratch_folder
from tests.apis.test_dcs_support import tc_string

LIMIT, WINDOW_S = 5, 60  # small enough to reach, large enough that ids live a while
PARTNERS = ["partner", "foo"]
DEVICES = [None, "12345678901234567890123456789012345678", "22345678901234567890123456789012345678"]
CUSTOMERS = [None, "u1", "u2", "u3"]
PIXEL_TYPE = "image/gif"
# A CMP the GCL marks deleted an hour after the frozen clock (2026-01-01T00:00:00Z): 314 once it passed.
DELETED_AT_MS = 1767225600000 + 3600 * 1000
CONSENTS: dict[str | None, str] = {
    None: "",
    "gdpr0": "gdpr=0&gdpr_consent=garbage",  # GDPR does not apply: the string is not read
    "given": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=10, purposes=(1, 10), vendors=(565,)),
    "withdrawn": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=10, purposes=(1, 10), vendors=()),
    "no-purpose-10": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=10, purposes=(1,), vendors=(565,)),
    "missing": "gdpr=1",
    "unknown-cmp": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=999, purposes=(), vendors=()),
    "deleted-cmp": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=11, purposes=(), vendors=()),
    "deleting-cmp": "gdpr=1&gdpr_consent=" + tc_string(cmp_id=12, purposes=(1, 10), vendors=(565,)),
}
_FOLDER = scratch_folder("dcs-stateful-")
(_FOLDER / "dcs-options.json").write_text(json.dumps({"api": "dcs", "options": {
    "id_monitoring": {"max_requests": LIMIT, "window_s": WINDOW_S},
    "gcl": {"10": {}, "11": {"deletedDate": "2020-08-15T00:00:00Z"}, "12": {"deletedDate": "2026-01-01T01:00:00Z"}},
}}))


def x_error(response: Any) -> list[str]:
    header = response.headers.get("x-error")
    return header.split(",") if header else []


class DcsModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = Recorder("dcs", (str(_FOLDER),))
        self.opted_out: set[tuple[str, str]] = set()        # (partner, declared id or AAM UUID)
        self.global_out: set[str] = set()                   # AAM UUIDs opted out everywhere
        self.seen: dict[tuple[str, str, int], int] = {}     # (kind, id, window) -> calls
        self.denied: set[tuple[str, str]] = set()           # (kind, id)
        self.uuids: dict[str, str | None] = {}              # customer id -> last AAM UUID (None: unknown)
        self.cookie: str | None = None                      # the client's demdex cookie
        self.consent: str | None = None                     # the CMP's answer the client sends

    # -- what the model expects --------------------------------------------------------------
    def query(self, device: str | None, customer: str | None) -> str:
        parts = ["d_rtbd=json"]
        if device:
            parts.append(f"d_uuid={device}")
        if customer:
            parts.append(f"d_cid=123%01{customer}")
        return "&".join(parts)

    def counts(self, kind: str, value: str) -> bool:
        """ID monitoring: True when the id is (now) deny-listed."""
        if (kind, value) in self.denied:
            return True
        window = self.mock.now_ms // 1000 // WINDOW_S
        self.seen[(kind, value, window)] = self.seen.get((kind, value, window), 0) + 1
        if self.seen[(kind, value, window)] > LIMIT:
            self.denied.add((kind, value))
            return True
        return False

    def consent_codes(self) -> tuple[list[str], list[str]]:
        """(stopping, warning) codes of the IAB TCF plug-in for the consent the client sends."""
        if self.consent in (None, "gdpr0", "given"):
            return [], []
        if self.consent == "deleting-cmp":
            return ([], ["314"]) if self.mock.now_ms >= DELETED_AT_MS else ([], [])
        return {"unknown-cmp": ([], ["313"]), "deleted-cmp": ([], ["314"])}.get(self.consent, (["315"], []))

    def opted(self, partner: str, ids: list[str]) -> str | None:
        return next((v for v in ids if v in self.global_out or (partner, v) in self.opted_out), None)

    def headers(self, partner: str, send_cookie: bool) -> dict[str, str]:
        headers = {"host": f"{partner}.demdex.net"}
        if send_cookie and self.cookie:
            headers["cookie"] = f"demdex={self.cookie}"
        return headers

    # -- rules ---------------------------------------------------------------------------------
    @rule(partner=st.sampled_from(PARTNERS), device=st.sampled_from(DEVICES), customer=st.sampled_from(CUSTOMERS),
          send_cookie=st.booleans(), as_json=st.booleans())
    def event(self, partner: str, device: str | None, customer: str | None, send_cookie: bool, as_json: bool) -> None:
        query = self.query(device, customer)
        if not as_json:
            query = query.removeprefix("d_rtbd=json").lstrip("&")
        if self.consent:
            query = "&".join(p for p in (query, CONSENTS[self.consent]) if p)
        headers = self.headers(partner, send_cookie)
        cookie = self.cookie if send_cookie else None
        response = self.mock.request("GET", "/event?" + query, headers=headers)
        assert response.status_code == 200
        codes = x_error(response)
        if as_json:
            assert response.headers["content-type"] == "application/json"
            body = response.json()
            assert [str(e["code"]) for e in body.get("errors", [])] == codes, (codes, body)  # X-Error agrees
        else:
            assert response.headers["content-type"] == PIXEL_TYPE and response.content.startswith(b"GIF89a")
            body = None
        stopping, warnings = self.consent_codes()
        # the AAM UUID the call names: d_uuid, else the cookie (NOTARGET names none)
        sent = [v for v in (device, cookie) if v and v != "NOTARGET"]
        opted = self.opted(partner, sent[:1] + ([customer] if customer else []))
        # Not said: whether the opt-out of the device a declared id alone resolves to, or of the cookie's
        # AAM UUID when d_uuid names another, stops the call (either answer is taken, the model follows it).
        linked = self.uuids.get(customer) if customer and not sent else None
        aside = [v for v in (linked, *sent[1:]) if v]
        unsure = opted is None and cookie != "NOTARGET" and self.opted(partner, aside) is not None
        if cookie == "NOTARGET" or opted is not None or (unsure and "171" in codes):
            assert "171" in codes and set(codes) <= {"171", *stopping}, (codes, body)
            if body is not None:
                assert body.keys() == {"errors"}, body
                message = next(e["msg"] for e in body["errors"] if e["code"] == 171)
                assert message.removeprefix("Encountered opt out tag for id").strip() in {*sent, customer, ""}, message
            assert "set-cookie" not in response.headers
            return
        if stopping:
            assert codes == stopping, (codes, body)
            if body is not None:
                assert body == {"errors": [{"code": 315, "msg": "Consent string indicates no consent"}]}
            assert "set-cookie" not in response.headers
            return
        expected = list(warnings)
        customer_denied = customer is not None and self.counts("customer", customer)
        if customer_denied:  # the one id declared, deny-listed: every id invalid, 104 too (300 lists blocked ids)
            expected += ["104", "303"]
        device_denied = device is not None and self.counts("device", device)
        if device_denied:
            expected += ["306", "307"]
        expected.sort(key=int)
        assert codes == expected, (codes, expected, body)
        answered = (response.headers.get("set-cookie") or "").partition(";")[0].removeprefix("demdex=")
        if not expected:
            assert response.headers.get("set-cookie", "").endswith("; Path=/; Max-Age=15552000")
        if body is not None:
            uuid = body["uuid"]
            assert len(uuid) == 38 and uuid.isdigit()
            assert not answered or answered == uuid
        else:
            uuid = answered or None
        if sent:
            assert uuid in (None, sent[0]), (uuid, sent)
            uuid = sent[0]
        elif customer is not None and not customer_denied and self.uuids.get(customer) and uuid is not None:
            assert uuid == self.uuids[customer], "a declared id answered another AAM UUID than its last one"
        if customer is not None and not customer_denied:
            # 306/307: whether the blocked device's profile is still linked is not said: forget the link
            self.uuids[customer] = None if device_denied else uuid
        if send_cookie and answered:
            self.cookie = answered

    @rule(partner=st.sampled_from(PARTNERS), device=st.sampled_from(DEVICES), customer=st.sampled_from(CUSTOMERS),
          send_cookie=st.booleans())
    def opt_out(self, partner: str, device: str | None, customer: str | None, send_cookie: bool) -> None:
        if device is None and customer is None:
            return  # without ids: the global opt-out below
        ids = self.query(device, customer).removeprefix("d_rtbd=json&")
        cookie = self.cookie if send_cookie else None
        response = self.mock.request("GET", "/demoptout.jpg?" + ids, headers=self.headers(partner, send_cookie))
        assert response.status_code == 200 and response.headers["content-type"] == PIXEL_TYPE
        assert "set-cookie" not in response.headers and "x-error" not in response.headers
        self.opted_out.update((partner, v) for v in (device, customer) if v)
        if customer is not None and device is None:
            # "stored for the latest mapping of this [declared id] to an AAM UUID. If there is no previously
            # existing mapping ... the AAM UUID in the cookie" (declared-ids.md); d_uuid takes precedence.
            linked = self.uuids.get(customer, cookie if cookie != "NOTARGET" else None)
            if linked is None and customer in self.uuids:
                self.uuids.pop(customer)  # its device is not known to the model any more: stop asserting it
            elif linked is not None:
                self.opted_out.add((partner, linked))

    @rule(send_cookie=st.booleans())
    def global_opt_out(self, send_cookie: bool) -> None:
        response = self.mock.request("GET", "/demoptout.jpg", headers=self.headers("partner", send_cookie))
        assert response.status_code == 200 and response.headers["content-type"] == PIXEL_TYPE
        assert sorted(response.headers.get_list("set-cookie")) == [
            "demdex=NOTARGET; Path=/; Max-Age=315360000", "dextp=NOTARGET; Path=/; Max-Age=315360000"]
        if send_cookie and self.cookie and self.cookie != "NOTARGET":
            self.global_out.add(self.cookie)
        self.cookie = "NOTARGET"

    @rule(choice=st.sampled_from(sorted(CONSENTS, key=str)))
    def set_consent(self, choice: str | None) -> None:
        self.consent = choice  # the CMP's new answer (given, then withdrawn ...): sent from the next call on

    @rule()
    def clear_cookies(self) -> None:
        self.cookie = None

    @rule(seconds=st.sampled_from([1, 30, 60, 3600]))
    def advance(self, seconds: int) -> None:
        self.mock.advance(seconds)

    @invariant()
    def denied_for_good(self) -> None:
        assert all(kind in ("customer", "device") for kind, _ in self.denied)

    def teardown(self) -> None:
        self.mock.finish()


TestDcsModel = DcsModel.TestCase
TestDcsModel.settings = SETTINGS
