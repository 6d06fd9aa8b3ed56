"""DCS over HTTP: the transport of codes (X-Error, JSON, JSONP, pixel), every catalog code by flag,
the documentation's example URLs, determinism, and raw queries that must never break the parser."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.app import build_app
from mockserver.scenario.load import load_catalog
from mockserver.settings import Settings
from tests.apis.test_dcs_parsers import properly_encoded
from tests.apis.test_dcs_support import asgi_call
from tests.conftest import asgi_client

CATALOG = load_catalog().apis["dcs"].errors
DCS_CODES = sorted((e for e in CATALOG.values() if "code" in e.fields), key=lambda e: e.fields["code"])
HTTP_ONLY = [e for e in CATALOG.values() if "code" not in e.fields]
DOCUMENTED = {
    0,
    1,
    2,
    10,
    100,
    101,
    102,
    104,
    109,
    111,
    171,
    172,
    173,
    198,
    199,
    200,
    201,
    202,
    203,
    204,
    205,
    300,
    301,
    302,
    303,
    304,
    306,
    307,
    309,
    310,
    311,
    312,
    313,
    314,
    315,
}
BAD_EXAMPLE = (
    "/event?d_event=imp&d_rtbd=json&d_src=38454&d_site=%esid!&d_creative=%ecid!&d_adgroup=%eaid!"
    "&d_placement=%epid!&d_campaign=%ebuy!&d_adsrc=48123"
)
GOOD_EXAMPLE = BAD_EXAMPLE.replace("=%e", "=%25e")
PARTNER = {"host": "partner.demdex.net"}
APP = build_app(Settings())
APP.runtime.ready = True


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    """One app for the read-only parametrized tests: building an app per case costs most of their time."""
    with asgi_client(build_app(Settings())) as client:
        yield client


def codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    header = response.headers.get("x-error")
    return header.split(",") if header else []


def test_the_catalog_holds_every_documented_code_with_its_message():
    assert {e.fields["code"] for e in DCS_CODES} == DOCUMENTED
    for error in DCS_CODES:
        assert error.status == 200 and error.id == str(error.fields["code"])
        assert (
            error.fields["msg"] and isinstance(error.fields["fatal"], bool) and error.trigger and error.fields["reason"]
        )


@pytest.mark.parametrize("error", DCS_CODES, ids=lambda e: e.id)
def test_every_code_by_flag_in_the_body_and_in_x_error(shared, error):
    response = shared.get(f"/dcs/event?d_rtbd=json&__error={error.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-error"] == error.id
    body = response.json()
    assert body["errors"][0]["code"] == error.fields["code"]
    assert body["errors"][0]["msg"] and "{" not in body["errors"][0]["msg"]
    assert ("uuid" in body) is (not error.fields["fatal"])  # warnings keep the profile, the others drop it


@pytest.mark.parametrize("error", DCS_CODES, ids=lambda e: e.id)
def test_without_d_rtbd_json_the_code_is_in_the_header_of_a_pixel(shared, error):
    response = shared.get("/dcs/event", headers={"prefer": f"error={error.id}"})
    assert response.status_code == 200
    assert response.headers["x-error"] == error.id
    assert response.headers["content-type"] == "image/gif" and response.content.startswith(b"GIF89a")


@pytest.mark.parametrize("error", HTTP_ONLY, ids=lambda e: e.id)
def test_the_http_level_answers_by_flag(shared, error):
    response = shared.get(f"/dcs/event?d_rtbd=json&__error={error.id}")
    assert response.status_code == error.status
    assert "x-error" not in response.headers and response.text == error.title


def test_several_codes_are_all_reported_in_order(client):
    response = client.get("/dcs/event?d_rtbd=json&__error=101&__error=102")
    assert response.headers["x-error"] == "101,102"
    assert response.json()["errors"] == [
        {"code": 101, "msg": "Invalid Experience Cloud id passed in"},
        {"code": 102, "msg": "Invalid AAM ID passed in request"},
    ]  # the page's "Sample DCS Error Code and Message", with the table's spelling of 102 (AAM ID, not aam id)
    natural = client.get("/dcs/event?d_rtbd=json&d_mid=not-an-ecid&d_uuid=nor-this")
    assert natural.headers["x-error"] == "101,102"
    assert natural.json() == {"errors": [
        {"code": 101, "msg": "Invalid Experience Cloud id passed in not-an-ecid"},
        {"code": 102, "msg": "Invalid AAM ID passed in request nor-this"},
    ]}  # the sample's shape: both ids checked, then the call refused ("no data": no uuid, stuff or tid)
    assert "set-cookie" not in natural.headers
    # the profile-store-degraded mode's codes come by number as the DCS's own do (it answered 200,204,10)
    degraded = client.get("/dcs/event?d_rtbd=json&__mode=profile-store-degraded")
    assert degraded.headers["x-error"] == "10,200,204"
    assert [e["code"] for e in degraded.json()["errors"]] == [10, 200, 204]


def test_a_malformed_ecid_stops_the_call_where_a_bad_customer_id_does_not(client):
    # 101/102 are Integration *Error* Codes (the sample body has the errors alone); 312 "ignores the invalid ID"
    refused = client.get("/dcs/event?d_rtbd=json&d_mid=12a&d_cid=20915%01a53cc5a2-6aa1-4210-8ded-a88b29b6212z")
    assert codes(refused) == ["101"] and list(refused.json()) == ["errors"]
    ignored = client.get("/dcs/event?d_rtbd=json&d_mid=12&d_cid=20915%01a53cc5a2-6aa1-4210-8ded-a88b29b6212z")
    assert codes(ignored) == ["104", "300", "312"] and ignored.json()["uuid"] and "set-cookie" in ignored.headers
    pixel = client.get("/dcs/event?d_uuid=abc")
    assert pixel.headers["x-error"] == "102" and pixel.headers["content-type"] == "image/gif"


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        ("109", "Referer https://www.example.com/ is not allowed for partner 1352"),
        ("309", "Customer id 456 was discarded because it exceeded the limit of declared customer ids per request"),
        (
            "310",
            "Customer id was discarded because it exceeded the limit for a given namespace. "
            "Namespace id is 123, customer id is 456.",
        ),
        ("301", "Maximum number of customer ids exceeded. Maximum allowed is 10. Found is 11."),
        ("2", "Invalid d_orgid value (could not find a config for this org id): UNKNOWNORG@AdobeOrg"),
        ("201", "Cannot read device ids from profile cache for customer id: 456"),
        ("300", "Invalid customer id"),  # an ID that ends the sentence is dropped, as the page's sample does
    ],
)
def test_a_flag_asked_message_stays_a_sentence_when_the_request_names_no_id(shared, code, msg):
    """Asked by flag on a bare call, an ID inside the sentence gets a sample, never an empty gap."""
    response = shared.get(f"/dcs/event?d_rtbd=json&__error={code}")
    assert response.json()["errors"] == [{"code": int(code), "msg": msg}]


def test_a_flag_asked_message_names_the_ids_the_request_sent(shared):
    response = shared.get("/dcs/event?d_rtbd=json&d_cid=77%01abc&__error=310&__error=309")
    assert [e["msg"] for e in response.json()["errors"]] == [
        "Customer id was discarded because it exceeded the limit for a given namespace. "
        "Namespace id is 77, customer id is abc.",
        "Customer id abc was discarded because it exceeded the limit of declared customer ids per request",
    ]


def test_ecid_and_aam_uuid_are_ascii_digits(client):
    assert codes(client.get("/dcs/event?d_rtbd=json&d_mid=%D9%A1%D9%A2&d_uuid=" + "1" * 39)) == ["101", "102"]


def test_code_200_asks_for_the_catch_all(client):
    response = client.get("/dcs/event?d_rtbd=json&__code=200")
    assert response.headers["x-error"] == "0"
    assert client.get("/dcs/event?__code=429").status_code == 429


def test_success_body_as_documented(client):
    body = client.get("/dcs/event?d_rtbd=json").json()
    assert list(body) == ["stuff", "uuid", "dcs_region", "tid"]
    assert body["stuff"] == [] and body["dcs_region"] == 7
    assert re.fullmatch(r"\d{38}", body["uuid"]) and re.fullmatch(r"[A-Za-z0-9+/]{11}=", body["tid"])
    extended = client.get("/dcs/event?d_rtbd=json&d_dst=1&d_cts=2&dcs_region=9").json()
    assert list(extended) == ["stuff", "uuid", "dcs_region", "traits", "segments", "tid", "dests"]
    assert extended["dcs_region"] == 9


def test_a_click_call_redirects_to_d_rd_with_its_macros_filled(client):
    # click-data-pixels.md: "The response redirects the browser to the URL specified in the d_rd parameter",
    # `%d_creative%` taking the call's d_creative (its Request Sample).
    rd = "http%3A%2F%2Fadobe.com%2Fcallback%3Fcreative%3D%25d_creative%25"
    click = client.get(f"/dcs/event?d_event=click&d_creative=123&d_rd={rd}", follow_redirects=False)
    assert click.status_code == 302 and click.headers["location"] == "http://adobe.com/callback?creative=123"
    assert "x-error" not in click.headers and click.headers["set-cookie"].startswith("demdex=")
    macros = "%25d_campaign%25-%25d_site%25-%25d_id%25-%25d_uuid%25-%25unknown%25"
    query = f"d_event=click&d_campaign=4709&d_dpid=5&d_uuid=77&d_rd=https%3A%2F%2Fx.test%2F{macros}"
    sent = client.get(f"/dcs/event?{query}", follow_redirects=False)
    assert sent.headers["location"] == "https://x.test/4709--5-77-%unknown%"  # absent: empty; not a macro: kept
    four = "&".join(["d_cid_ic=one"] * 4)
    warned = client.get(f"/dcs/event?d_event=click&{four}&d_rd={rd}", follow_redirects=False)
    assert warned.status_code == 302 and warned.headers["x-error"] == "310"  # a warning: the click still lands
    assert warned.headers["location"] == "http://adobe.com/callback?creative="
    refused = client.get(f"/dcs/event?d_event=click&d_mid=bad&d_rd={rd}", follow_redirects=False)
    assert refused.status_code == 200 and refused.headers["x-error"] == "101" and "location" not in refused.headers
    stopped = client.get(f"/dcs/event?d_event=click&d_rd={rd}&__error=0", follow_redirects=False)
    assert stopped.status_code == 200 and "location" not in stopped.headers  # a code that stops the call
    evil = "https%3A%2F%2Fx.test%2F%C3%A9%20a%0D%0AX-Evil%3A%201"  # not ASCII, a CR LF: escaped, no header injected
    raw = client.get(f"/dcs/event?d_event=click&d_rd={evil}", follow_redirects=False)
    assert raw.headers["location"] == "https://x.test/%C3%A9%20a%0D%0AX-Evil:%201" and "x-evil" not in raw.headers
    assert client.get(f"/dcs/event?d_rd={rd}", follow_redirects=False).status_code == 200  # not a click
    assert client.get("/dcs/event?d_event=click", follow_redirects=False).status_code == 200  # nowhere to go


def test_jsonp_with_d_cb_and_a_bad_callback_is_plain_json(client):
    response = client.get("/dcs/event?d_rtbd=json&d_cb=acme_callback&__error=300")
    assert response.headers["content-type"] == "application/javascript"
    assert re.fullmatch(r'acme_callback\(\{"stuff":\[\],.*"errors":\[\{"code":300,.*\}\]\}\)', response.text)
    refused = client.get("/dcs/event?d_rtbd=json&d_cb=acme_callback&d_mid=x")
    assert refused.text == 'acme_callback({"errors":[{"code":101,"msg":"Invalid Experience Cloud id passed in x"}]})'
    plain = client.get("/dcs/event?d_rtbd=json&d_cb=alert(1)")
    assert plain.headers["content-type"] == "application/json" and plain.json()["uuid"]


def test_the_uuid_comes_back_as_sent_or_from_the_demdex_cookie(client):
    sent = "12345678901234567890123456789012345678"
    assert client.get(f"/dcs/event?d_rtbd=json&d_uuid={sent}").json()["uuid"] == sent
    assert client.cookies.get("demdex") == sent
    assert client.get("/dcs/event?d_rtbd=json").json()["uuid"] == sent  # the cookie jar sends it back
    assert "set-cookie" not in client.get("/dcs/event?d_rtbd=json&d_coppa=true").headers


def test_a_declared_id_keeps_its_aam_uuid(client):
    found = []
    for url in (
        "/dcs/event?d_rtbd=json&d_cid=123%01crm-1",
        "/dcs/event?d_rtbd=json&d_cid=123%01crm-1",
        "/dcs/event?d_rtbd=json&d_cid=123%01crm-2",
    ):
        client.cookies.clear()  # no demdex cookie: only the declared id can name the user
        found.append(client.get(url).json()["uuid"])
    assert found[0] == found[1] != found[2]


def test_the_documentations_two_example_urls(client):
    bad = client.get("/dcs" + BAD_EXAMPLE)
    assert bad.status_code == 200 and codes(bad) == ["311"]
    assert bad.json() == {"errors": [{"code": 311, "msg": "Request contains invalid parameters"}]}
    good = client.get("/dcs" + GOOD_EXAMPLE)
    assert good.status_code == 200 and "x-error" not in good.headers and good.json()["uuid"]


@pytest.mark.parametrize("piece", ["d_site=%esid!", "d_creative=%ecid!", "d_adgroup=%eaid!", "d_placement=%epid!",
                                   "d_campaign=%ebuy!"])
def test_each_of_the_examples_badly_encoded_parameters_alone_is_311(client, piece):
    # The page calls every `%e...` of its example wrong and re-encodes all five; three are hex escapes
    # (%ec, %ea, %eb) whose bytes are not UTF-8.
    bad = client.get(f"/dcs/event?d_rtbd=json&{piece}")
    assert codes(bad) == ["311"]
    assert bad.json() == {"errors": [{"code": 311, "msg": "Request contains invalid parameters"}]}
    assert codes(client.get("/dcs/event?d_rtbd=json&" + piece.replace("%e", "%25e"))) == []
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert codes(client.post("/dcs/event?d_rtbd=json", content=piece.encode(), headers=form)) == ["311"]


def test_311_disregards_the_whole_request(client):
    response = client.get("/dcs/event?d_rtbd=json&d_mid=bad&d_orgid=unknown&c_x=%zz")
    assert codes(response) == ["311"]


def test_the_example_urls_sent_verbatim_to_a_real_server(start_server):
    server = start_server("--api", "dcs")
    for target, expected in ((BAD_EXAMPLE, "311"), (GOOD_EXAMPLE, None)):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("GET", target, skip_host=True)
        connection.putheader("Host", "partner.demdex.net")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("X-Error") == expected
        connection.close()


def test_same_seed_same_session_same_bytes(make_client):
    answers = []
    for _ in range(2):
        client = make_client(seed=7)
        answers.append(
            [
                client.get(url).content
                for url in (
                    "/dcs/event?d_rtbd=json",
                    "/dcs/event?d_rtbd=json&d_cid=1%01x",
                    "/dcs/event?d_rtbd=json&__error=200",
                )
            ]
        )
    assert answers[0] == answers[1]


def test_post_form_body_carries_the_same_keys(client):
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = b"c_likes=famous%20popstar&d_rtbd=json&d_uuid=12345678901234567890123456789012345678"
    response = client.post("/dcs/event", content=body, headers=form)
    assert response.json()["uuid"] == "12345678901234567890123456789012345678"
    assert codes(client.post("/dcs/event", content=body + b"&d_mid=x", headers=form)) == ["101"]
    assert codes(client.post("/dcs/event?d_rtbd=json", content=b"c_a=%esid!", headers=form)) == ["311"]
    ignored = client.post(
        "/dcs/event?d_rtbd=json", content=b'{"d_mid": "x%"}', headers={"content-type": "application/json"}
    )
    assert "x-error" not in ignored.headers


def test_size_limits_of_get_and_post(client):
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert client.get("/dcs/event?d_rtbd=json&c_x=" + "a" * 8000).status_code == 200
    assert client.get("/dcs/event?d_rtbd=json&c_x=" + "a" * 8200).status_code == 414
    assert client.post("/dcs/event", content=b"d_rtbd=json&c_x=" + b"a" * 32000, headers=form).status_code == 200
    assert client.post("/dcs/event", content=b"d_rtbd=json&c_x=" + b"a" * 33000, headers=form).status_code == 413
    # At the limits exactly (dcs.yaml's triggers): the target /event?QUERY of 8192 bytes (QUERY of 8185) and a body
    # of 32768 bytes pass; one byte more is over.
    query = "d_rtbd=json&c_x="
    assert client.get("/dcs/event?" + query + "a" * (8185 - len(query))).status_code == 200
    assert client.get("/dcs/event?" + query + "a" * (8186 - len(query))).status_code == 414
    body = query.encode()
    assert client.post("/dcs/event", content=body + b"a" * (32768 - len(body)), headers=form).status_code == 200
    assert client.post("/dcs/event", content=body + b"a" * (32769 - len(body)), headers=form).status_code == 413


# -- raw queries through ASGI, bytes exactly as sent ------------------------------------------
raw_piece = st.binary(max_size=24).filter(lambda b: b"&" not in b and not b.startswith(b"__"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pieces=st.lists(raw_piece, max_size=6), json_answer=st.booleans())
def test_random_queries_never_crash_and_311_exactly_when_not_properly_encoded(pieces, json_answer):
    query = b"&".join(pieces + ([b"d_rtbd=json"] if json_answer else []))
    status, headers, _ = asgi_call(APP, "GET", "/dcs/event", query, [(b"host", b"127.0.0.1:8080")])
    assert status == 200 and b"x-mockserver-internal-error" not in headers
    assert ("311" in headers.get(b"x-error", b"").decode().split(",")) == (not properly_encoded(query))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=8).filter(lambda k: not k.startswith("__")), st.text(max_size=12)),
        max_size=6,
    )
)
def test_a_correctly_encoded_request_never_gets_311(items):
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items).encode()
    status, headers, _ = asgi_call(APP, "GET", "/dcs/event", query, [(b"host", b"127.0.0.1:8080")])
    assert status == 200 and "311" not in headers.get(b"x-error", b"").decode().split(",")


header_value = st.binary(max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.sampled_from(["/dcs/event", "/dcs/demoptout.jpg", "/dcs/demoptout"]),
    query=st.binary(max_size=80).filter(lambda b: b"__" not in b),
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"host",
                    b"referer",
                    b"authorization",
                    b"cookie",
                    b"content-type",
                    b"x-mock-country",
                    b"x-mock-cookies",
                ]
            ),
            header_value,
        ),
        max_size=5,
    ),
    body=st.binary(max_size=120),
)
def test_garbage_never_gives_a_traceback(method, path, query, headers, body):
    status, response_headers, content = asgi_call(APP, method, path, query, headers, body)
    assert b"x-mockserver-internal-error" not in response_headers, content
    assert status in (200, 400, 413, 414)


def test_an_http_level_error_asked_after_a_dcs_code_is_left_out(client):
    response = client.get("/dcs/event?d_rtbd=json&__error=101&__error=rate-limited")
    assert codes(response) == ["101"] and [e["code"] for e in response.json()["errors"]] == [101]
    assert client.get("/dcs/event?d_rtbd=json&__error=rate-limited&__error=101").status_code == 429
