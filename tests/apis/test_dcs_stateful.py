"""DCS, model-based: id syncs, partner-level opt-outs and ID monitoring over random sequences of calls.

The model (dcs-errors.md, opt-out-management.md, id-monitoring-denylisting.md, dcs.yaml's id_monitoring
with a small limit): an id a partner opted out answers 171 there and only there, and that call is not
profiled; an id sent more than `max_requests` times in one window is deny-listed for good (303 for a
customer id, 306 + 307 for a device id); a declared id keeps the AAM UUID it was first synced with.
At the end of each example a fresh app replays every answer byte for byte.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.apis.stateful import SETTINGS, Recorder

LIMIT, WINDOW_S = 3, 60
PARTNERS = ["partner", "foo"]
DEVICES = [None, "12345678901234567890123456789012345678", "22345678901234567890123456789012345678"]
CUSTOMERS = [None, "u1", "u2"]
_FOLDER = Path(tempfile.mkdtemp(prefix="dcs-stateful-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
(_FOLDER / "dcs-options.json").write_text(json.dumps(
    {"api": "dcs", "options": {"id_monitoring": {"max_requests": LIMIT, "window_s": WINDOW_S}}}))


class DcsModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = Recorder("dcs", (str(_FOLDER),))
        self.opted_out: set[tuple[str, str]] = set()        # (partner, id)
        self.seen: dict[tuple[str, str, int], int] = {}     # (kind, id, window) -> calls
        self.denied: set[tuple[str, str]] = set()           # (kind, id)
        self.uuids: dict[str, str] = {}                     # customer id -> AAM UUID

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

    @rule(partner=st.sampled_from(PARTNERS), device=st.sampled_from(DEVICES), customer=st.sampled_from(CUSTOMERS))
    def event(self, partner: str, device: str | None, customer: str | None) -> None:
        response = self.mock.request("GET", "/event?" + self.query(device, customer),
                                     headers={"host": f"{partner}.demdex.net"})
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        body = response.json()
        codes = (response.headers.get("x-error") or "").split(",") if response.headers.get("x-error") else []
        opted = next((v for v in (device, customer) if v and (partner, v) in self.opted_out), None)
        if opted is not None:
            assert codes == ["171"], (codes, body)
            assert body == {"errors": [{"code": 171, "msg": f"Encountered opt out tag for id {opted}"}]}
            return
        expected = []
        customer_denied = customer is not None and self.counts("customer", customer)
        if customer_denied:
            expected.append("303")
        if device is not None and self.counts("device", device):
            expected += ["306", "307"]
        assert codes == expected, (codes, expected, body)
        assert [str(e["code"]) for e in body.get("errors", [])] == expected
        uuid = body["uuid"]
        assert len(uuid) == 38 and uuid.isdigit()
        if device is not None:
            assert uuid == device
        elif customer is not None and not customer_denied and customer in self.uuids:
            assert uuid == self.uuids[customer], "a declared id changed its AAM UUID"
        if customer is not None and not customer_denied:
            self.uuids.setdefault(customer, uuid)

    @rule(partner=st.sampled_from(PARTNERS), device=st.sampled_from(DEVICES), customer=st.sampled_from(CUSTOMERS))
    def opt_out(self, partner: str, device: str | None, customer: str | None) -> None:
        if device is None and customer is None:
            return  # a global opt-out (NOTARGET cookie) is another test's
        ids = self.query(device, customer).removeprefix("d_rtbd=json&")
        response = self.mock.request("GET", "/demoptout.jpg?" + ids, headers={"host": f"{partner}.demdex.net"})
        assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
        assert "set-cookie" not in response.headers
        self.opted_out.update((partner, v) for v in (device, customer) if v)

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
