"""Clientless, model-based: random sequences of a device's calls against what the REST API v1 pages say.

The model keeps reg codes, authN and authZ tokens per (requestor, device) and the token bucket per
device IP; after every step the mock must agree with it (statuses, catalog ids, bodies), and at the end
of each example a fresh app replays every answer byte for byte. Reg codes are checked against the
record the create answer gave (return-registration-record.md: the same record).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from tests.apis.stateful import SETTINGS, Recorder, scratch_folder

P = "/clientless"
HEADERS = {"Authorization": "Bearer test-access-token", "Accept": "application/json"}
REQUESTORS = ["sampleRequestorId", "otherRequestorId"]
DEVICES = ["device-1", "device-2", "device-3"]
RESOURCES = ["sampleResourceId", "denied-resource", "premium-channel"]
AUTHN_S, AUTHZ_S, TEMP_PASS_S, REGCODE_S = 2592000, 86400, 3600, 1800
# throttling-mechanism.md's list (api-facts.md §1): the reg code service, the device's calls, not the login web app.
THROTTLED = re.compile(
    r"^/(?:reggie/v1/|api/v1/(?:tokens/|checkauthn|logout|authorize|preauthorize|mediatoken|authenticate/))")
_FOLDER = scratch_folder("clientless-stateful-")


def _options(name: str, **options: Any) -> tuple[str, ...]:
    folder = _FOLDER / name
    folder.mkdir(exist_ok=True)
    (folder / "clientless-options.yaml").write_text("api: clientless\noptions: " + json.dumps(options) + "\n")
    return (str(folder),)


QUIET = _options("quiet", throttle_enabled=False)
THROTTLING = _options("throttled", throttle_enabled=True)


class ClientlessModel(RuleBasedStateMachine):
    scenarios: tuple[str, ...] = QUIET
    throttled = False
    codes = Bundle("codes")

    def __init__(self) -> None:
        super().__init__()
        self.mock = Recorder("clientless", self.scenarios)
        self.regcodes: dict[str, dict[str, Any]] = {}   # code -> {record, device, requestor, deleted}
        self.seen_codes: set[str] = set()
        self.authn: dict[tuple[str, str], dict[str, Any]] = {}   # (requestor, device) -> token
        self.authz: dict[tuple[str, str, str], tuple[int, str]] = {}  # (requestor, device, resource) -> expires, mvpd
        self.logged_in: dict[tuple[str, str], str] = {}           # (requestor, code) -> device
        self.buckets: dict[str, tuple[float, int]] = {}           # device ip -> (excess, last ms)

    # -- the model's helpers --------------------------------------------------------------------
    def now(self) -> int:
        return self.mock.now_ms

    def spends(self, device: str, path: str) -> bool:
        """nginx limit_req (rate 1/s, burst 10, nodelay), as throttling-mechanism.md's table: True when refused."""
        if not self.throttled or not THROTTLED.match(path):
            return False
        previous = self.buckets.get(device)
        excess = 0.0
        if previous is not None:
            elapsed = max(0, self.now() - previous[1])
            excess = max(0.0, previous[0] - elapsed / 1000 + 1)
            if excess > 10:
                return True
        self.buckets[device] = (excess, self.now())
        return False

    def call(self, method: str, path: str, device: str, **kwargs: Any) -> tuple[Any, bool]:
        headers = {**HEADERS, "X-Forwarded-For": f"10.0.0.{DEVICES.index(device) + 1}", **kwargs.pop("headers", {})}
        refused = self.spends(device, path)
        response = self.mock.request(method, P + path, headers=headers, **kwargs)
        if refused:
            self.fails(response, "too-many-requests")
        return response, refused

    def fails(self, response: Any, expected: str) -> None:
        self.mock.documented(response, expected)
        if expected == "too-many-requests-429":
            return
        assert response.headers["content-type"] == "application/json;charset=UTF-8", response.headers
        body = response.json()
        assert body["status"] == response.status_code and isinstance(body["message"], str), body
        assert set(body) <= {"status", "message", "details", "code", "helpUrl", "action", "trace"}, body

    def token(self, requestor: str, device: str) -> dict[str, Any] | None:
        return self.authn.get((requestor, device))

    def live(self, record: dict[str, Any] | None) -> bool:
        return record is not None and int(record["expires"]) > self.now()

    # -- reg codes --------------------------------------------------------------------------------
    @rule(target=codes, requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES),
          ttl=st.sampled_from([None, 1, 60, 1800, 36000]))
    def create_regcode(self, requestor: str, device: str, ttl: int | None) -> str:
        data = {"deviceId": device, **({"ttl": str(ttl)} if ttl else {})}
        response, refused = self.call("POST", f"/reggie/v1/{requestor}/regcode", device, data=data)
        if refused:
            return multiple()  # type: ignore[return-value]
        assert response.status_code == 201, response.text
        record = response.json()
        code = record["code"]
        assert code not in self.seen_codes, f"reg code {code} given twice"
        assert record["requestor"] == requestor and record["generated"] == self.now()
        assert record["expires"] == self.now() + (ttl or REGCODE_S) * 1000
        assert base64.b64decode(record["info"]["deviceId"]).decode() == device
        self.seen_codes.add(code)
        self.regcodes[code] = {"record": record, "device": device, "requestor": requestor, "deleted": False}
        return str(code)

    def regcode_live(self, code: str, requestor: str) -> bool:
        found = self.regcodes.get(code)
        return (found is not None and found["requestor"] == requestor and not found["deleted"]
                and self.live(found["record"]))

    @rule(code=codes, requestor=st.sampled_from(REQUESTORS), lower=st.booleans())
    def get_regcode(self, code: str, requestor: str, lower: bool) -> None:
        asked = code.lower() if lower else code
        response, refused = self.call("GET", f"/reggie/v1/{requestor}/regcode/{asked}", DEVICES[0])
        if refused:
            return
        if self.regcode_live(code, requestor):
            assert response.status_code == 200, response.text
            assert response.json() == self.regcodes[code]["record"]
        else:
            self.fails(response, "regcode-record-not-found")

    @rule(code=codes, requestor=st.sampled_from(REQUESTORS), lower=st.booleans())
    def delete_regcode(self, code: str, requestor: str, lower: bool) -> None:
        asked = code.lower() if lower else code
        response, refused = self.call("DELETE", f"/reggie/v1/{requestor}/regcode/{asked}", DEVICES[0])
        if refused:
            return
        if self.regcode_live(code, requestor):
            assert response.status_code == 204 and response.content == b""
            self.regcodes[code]["deleted"] = True
        else:
            self.fails(response, "regcode-record-not-found")

    # -- the second screen: authenticate, MVPD login, SAML ----------------------------------------
    @rule(code=codes, requestor=st.sampled_from(REQUESTORS))
    def second_screen_login(self, code: str, requestor: str) -> None:
        query = {"requestor_id": requestor, "mso_id": "sampleMvpdId", "reg_code": code,
                 "domain_name": "loginwebapp.com", "redirect_url": "http://loginwebapp.com/done"}
        response = self.mock.request("GET", P + "/api/v1/authenticate", params=query, headers=HEADERS)
        if not self.regcode_live(code, requestor):
            self.fails(response, "regcode-not-found")
            return
        assert response.status_code == 302, response.text
        login = urlsplit(response.headers["location"])
        page = self.mock.request("GET", login.path + "?" + login.query)
        assert page.status_code == 200
        form = {k: v[0] for k, v in parse_qs(login.query).items()}
        posted = self.mock.request("POST", login.path, data={**form, "username": "test-user", "password": "test-pass"})
        assert posted.status_code == 200 and "SAMLResponse" in posted.text, posted.text
        saml = re.search(r'name="SAMLResponse" value="([^"]*)"', posted.text)
        relay = re.search(r'name="RelayState" value="([^"]*)"', posted.text)
        assert saml and relay
        done = self.mock.request("POST", P + "/sp/saml/SAMLAssertionConsumer",
                                 data={"SAMLResponse": saml.group(1), "RelayState": relay.group(1)})
        assert done.status_code == 302 and done.headers["location"] == "http://loginwebapp.com/done"
        device = self.regcodes[code]["device"]
        self.authn[(requestor, device)] = {"requestor": requestor, "mvpd": "sampleMvpdId",
                                           "userId": "sampleScrambledUserId", "expires": self.now() + AUTHN_S * 1000,
                                           "user": "test-user"}
        self.logged_in[(requestor, code)] = device

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES))
    def freepreview(self, requestor: str, device: str) -> None:
        data = {"requestor_id": requestor, "deviceId": device, "mso_id": "otherMvpdId",
                "domain_name": "loginwebapp.com"}
        response, refused = self.call("POST", "/api/v1/authenticate/freepreview", device, data=data)
        if refused:
            return
        assert response.status_code == 204, response.text
        self.authn[(requestor, device)] = {"requestor": requestor, "mvpd": "otherMvpdId", "userId": None,
                                           "expires": self.now() + TEMP_PASS_S * 1000, "user": ""}

    # -- the device's checks and tokens ----------------------------------------------------------
    def get(self, path: str, requestor: str, device: str, **query: str) -> tuple[Any, bool]:
        return self.call("GET", path, device, params={"requestor": requestor, "deviceId": device, **query})

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES))
    def checkauthn(self, requestor: str, device: str) -> None:
        response, refused = self.get("/api/v1/checkauthn", requestor, device)
        if refused:
            return
        if self.authenticated(response, self.token(requestor, device), "not-authenticated", "authn-token-expired"):
            assert response.status_code == 200, response.text

    def authenticated(self, response: Any, token: dict[str, Any] | None, missing: str, expired: str) -> bool:
        """True when the model holds a live authN token; else the answer is the documented error for
        none (`missing`) or for an expired one (`expired`)."""
        if token is None:
            self.fails(response, missing)
        elif not self.live(token):
            self.fails(response, expired)
        else:
            return True
        return False

    def authn_body(self, response: Any, token: dict[str, Any]) -> None:
        body = response.json()
        assert list(body) == ["requestor", "mvpd", "userId", "expires"], body
        assert body["requestor"] == token["requestor"] and body["mvpd"] == token["mvpd"]
        assert body["expires"] == str(token["expires"])
        assert token["userId"] is None or body["userId"] == token["userId"]

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES))
    def tokens_authn(self, requestor: str, device: str) -> None:
        response, refused = self.get("/api/v1/tokens/authn", requestor, device)
        if refused:
            return
        token = self.token(requestor, device)
        if self.authenticated(response, token, "authn-token-not-found", "authn-token-gone"):
            assert response.status_code == 200 and token is not None, response.text
            self.authn_body(response, token)

    def by_code(self, requestor: str, code: str) -> dict[str, Any] | None:
        device = self.logged_in.get((requestor, code))
        return self.token(requestor, device) if device is not None else None

    @rule(code=codes, requestor=st.sampled_from(REQUESTORS))
    def checkauthn_code(self, code: str, requestor: str) -> None:
        query = {"requestor": requestor}
        response, refused = self.call("GET", f"/api/v1/checkauthn/{code}", DEVICES[0], params=query)
        if refused:
            return
        if self.live(self.by_code(requestor, code)):
            assert response.status_code == 200, response.text
        else:
            self.fails(response, "checkauthn-forbidden")

    @rule(code=codes, requestor=st.sampled_from(REQUESTORS))
    def authenticate_code(self, code: str, requestor: str) -> None:
        query = {"requestor": requestor}
        response, refused = self.call("GET", f"/api/v1/authenticate/{code}", DEVICES[0], params=query)
        if refused:
            return
        token = self.by_code(requestor, code)
        if self.live(token):
            assert response.status_code == 200, response.text
            assert token is not None
            self.authn_body(response, token)
        else:
            self.fails(response, "authn-token-not-found")

    def denied(self, token: dict[str, Any], resource: str) -> bool:
        return resource == "denied-resource" or (resource == "premium-channel" and token["user"] == "limited-user")

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES), resource=st.sampled_from(RESOURCES),
          path=st.sampled_from(["/api/v1/authorize", "/api/v1/mediatoken", "/api/v1/tokens/media"]))
    def authorize(self, requestor: str, device: str, resource: str, path: str) -> None:
        response, refused = self.get(path, requestor, device, resource=resource)
        if refused:
            return
        token = self.token(requestor, device)
        if not self.authenticated(response, token, "not-authenticated", "authn-token-expired"):
            return
        assert token is not None
        if self.denied(token, resource):
            self.fails(response, "authorization-denied")
        else:
            assert response.status_code == 200, response.text
            expires = self.now() + AUTHZ_S * 1000
            self.authz[(requestor, device, resource)] = (expires, token["mvpd"])
            body = response.json()
            assert body["resource"] == resource and body["requestor"] == requestor
            if path == "/api/v1/authorize":
                assert body == {"mvpd": token["mvpd"], "resource": resource, "requestor": requestor,
                                "expires": str(expires)}

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES), resource=st.sampled_from(RESOURCES))
    def tokens_authz(self, requestor: str, device: str, resource: str) -> None:
        response, refused = self.get("/api/v1/tokens/authz", requestor, device, resource=resource)
        if refused:
            return
        token = self.token(requestor, device)
        grant = self.authz.get((requestor, device, resource))
        if not self.live(token):
            self.fails(response, "authz-not-authenticated")
        elif grant is None:
            self.fails(response, "authz-token-not-found")
        elif grant[0] <= self.now():
            self.fails(response, "authz-token-expired")
        else:  # the authZ token keeps the MVPD it was granted by, whatever authenticated since
            assert response.status_code == 200, response.text
            assert response.json() == {"mvpd": grant[1], "resource": resource, "requestor": requestor,
                                       "expires": str(grant[0])}

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES),
          resources=st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    def preauthorize(self, requestor: str, device: str, resources: list[str]) -> None:
        response, refused = self.get("/api/v1/preauthorize", requestor, device, resource=",".join(resources))
        if not refused:
            self.decisions(response, self.token(requestor, device), resources)

    @rule(code=codes, requestor=st.sampled_from(REQUESTORS),
          resources=st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    def preauthorize_code(self, code: str, requestor: str, resources: list[str]) -> None:
        query = {"requestor": requestor, "resource": ",".join(resources)}
        response, refused = self.call("GET", f"/api/v1/preauthorize/{code}", DEVICES[0], params=query)
        if not refused:
            self.decisions(response, self.by_code(requestor, code), resources)

    def decisions(self, response: Any, token: dict[str, Any] | None, resources: list[str]) -> None:
        if not self.live(token):
            self.fails(response, "preauthorize-precondition-failed")
            return
        assert token is not None and response.status_code == 200, response.text
        decisions = response.json()["resources"]
        assert [d["id"] for d in decisions] == resources
        assert [d["authorized"] for d in decisions] == [not self.denied(token, r) for r in resources]

    @rule(requestor=st.sampled_from(REQUESTORS), device=st.sampled_from(DEVICES))
    def usermetadata(self, requestor: str, device: str) -> None:
        response, refused = self.get("/api/v1/tokens/usermetadata", requestor, device)
        if refused:
            return
        token = self.token(requestor, device)
        if not self.live(token):
            self.fails(response, "usermetadata-invalid-authn")
        elif token is not None and token["user"] == "":
            self.fails(response, "usermetadata-not-found")
        else:
            assert response.status_code == 200 and response.json()["data"]["zip"] == ["12345"], response.text

    @rule(requestor=st.one_of(st.none(), st.sampled_from(REQUESTORS)), device=st.sampled_from(DEVICES))
    def logout(self, requestor: str | None, device: str) -> None:
        query = {"deviceId": device, **({"requestor": requestor} if requestor else {})}
        response, refused = self.call("DELETE", "/api/v1/logout", device, params=query)
        if refused:
            return
        assert response.status_code == 204 and response.content == b"", response.text
        for key in [k for k in self.authn if k[1] == device and requestor in (None, k[0])]:
            del self.authn[key]
        for grant in [k for k in self.authz if k[1] == device and requestor in (None, k[0])]:
            del self.authz[grant]

    @rule(seconds=st.sampled_from([1, 2, 11, 60, 1800, 3600, 86400, AUTHN_S]))
    def advance(self, seconds: int) -> None:
        self.mock.advance(seconds)

    # -- invariants and the end of an example ----------------------------------------------------
    @invariant()
    def codes_are_unique(self) -> None:
        assert len(self.seen_codes) == len(self.regcodes)

    def teardown(self) -> None:
        self.mock.finish()


class ThrottledClientlessModel(ClientlessModel):
    scenarios = THROTTLING
    throttled = True


TestClientlessModel = ClientlessModel.TestCase
TestClientlessModel.settings = SETTINGS
TestThrottledClientlessModel = ThrottledClientlessModel.TestCase
TestThrottledClientlessModel.settings = SETTINGS

