"""DCS natural triggers over HTTP: each code the request itself earns, with the bundled options or a
user's override file (how a user configures partners, org ids, tokens, lists and limits)."""

from __future__ import annotations

import json

import pytest

from mockserver.app import build_app
from mockserver.settings import Settings
from tests.apis.test_dcs_support import asgi_call, jwt, tc_string

UUID = "12345678901234567890123456789012345678"
IDFA = "AEBE52E7-03EE-455A-B3C4-E57283966239"


def codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    header = response.headers.get("x-error")
    return header.split(",") if header else []


def overridden(make_client, tmp_path, **options):  # type: ignore[no-untyped-def]
    (tmp_path / "dcs-mine.json").write_text(json.dumps({"api": "dcs", "options": options}))
    return make_client(scenarios=(str(tmp_path),))


# -- host, partner, encoding ----------------------------------------------------------------------
def test_no_host_header_is_100():
    app = build_app(Settings())
    app.runtime.ready = True
    status, headers, body = asgi_call(app, "GET", "/dcs/event", b"d_rtbd=json", [])
    assert status == 200 and headers[b"x-error"] == b"100"
    assert json.loads(body) == {"errors": [{"code": 100, "msg": "Could not retrieve host name for the request"}]}


def test_an_empty_host_header_is_100_too(client):
    response = client.get("/dcs/event?d_rtbd=json", headers={"host": ""})
    assert codes(response) == ["100"]
    assert response.json() == {"errors": [{"code": 100, "msg": "Could not retrieve host name for the request"}]}


def test_an_unconfigured_partner_host_is_1_and_a_configured_one_is_served(client):
    unknown = client.get("/event?d_rtbd=json", headers={"host": "nobody.demdex.net"})
    assert codes(unknown) == ["1"]
    assert unknown.json()["errors"][0]["msg"] == "Could not find config for hostname: nobody.demdex.net"
    for alias in ("partner", "yourcompany", "acme_aam_domain", "foo"):
        assert codes(client.get("/event?d_rtbd=json", headers={"host": f"{alias}.demdex.net:443"})) == []


def test_the_partner_host_also_reaches_the_dcs_through_the_prefix(client):
    # A client whose base URL is .../dcs and that sends the partner's Host (GUIDE: users point their
    # base URL at the prefix) gets the DCS's own answers, not a misuse 400. An alias the file does not list is
    # the default partner there (issue 5), not code 1 on every call of a server-side client sending its own.
    own = client.get("/dcs/event?d_rtbd=json", headers={"host": "mycompany.demdex.net"})
    assert own.status_code == 200 and codes(own) == [] and "uuid" in own.json()
    host = {"host": "yourcompany.demdex.net"}
    refused = client.get("/dcs/event?d_rtbd=json", headers={**host, "referer": "https://evil.example/page"})
    assert codes(refused) == ["109"]
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=777%01x", headers=host)) == ["104", "302"]
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"host": "partner.demdex.net"})) == []
    assert client.get("/dcs/demoptout.jpg", headers={"host": "partner.demdex.net"}).status_code == 200


def test_a_users_partner_list_replaces_the_bundled_one(make_client, tmp_path):
    client = overridden(make_client, tmp_path, partners={"mine": {"id": 77}}, default_partner="mine")
    assert codes(client.get("/event?d_rtbd=json", headers={"host": "mine.demdex.net"})) == []
    assert codes(client.get("/event?d_rtbd=json", headers={"host": "partner.demdex.net"})) == ["1"]
    assert codes(client.get("/dcs/event?d_rtbd=json")) == []


# -- access: 2, 109, 111 ----------------------------------------------------------------------------
def test_an_org_id_that_cannot_be_one_is_2(client):
    response = client.get("/dcs/event?d_rtbd=json&d_orgid=invalid-org")
    assert codes(response) == ["2"]
    assert response.json()["errors"][0]["msg"] == (
        "Invalid d_orgid value (could not find a config for this org id): invalid-org"
    )
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=1234%40AdobeOrg")) == ["2"]
    # the bundled example, and any org of Adobe's form: a real client's own org is served
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=5DC5123F5245B1D20A490D46%40AdobeOrg")) == []
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=53A16ACB5CC1D3760A495C99%40AdobeOrg")) == []


def test_a_strict_org_list_refuses_a_well_formed_unknown_org(make_client, tmp_path):
    client = overridden(make_client, tmp_path, org_ids=["0123456789ABCDEF01234567@AdobeOrg"], org_id_pattern=None)
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=53A16ACB5CC1D3760A495C99%40AdobeOrg")) == ["2"]
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=0123456789ABCDEF01234567%40AdobeOrg")) == []


def test_a_referer_the_partner_does_not_allow_is_109(client):
    host = {"host": "yourcompany.demdex.net"}
    refused = client.get("/event?d_rtbd=json", headers={**host, "referer": "https://evil.example/page"})
    assert codes(refused) == ["109"]
    assert refused.json()["errors"][0]["msg"] == "Referer https://evil.example/page is not allowed for partner 1353"
    allowed = client.get("/event?d_rtbd=json", headers={**host, "referer": "https://www.yourcompany.com/a"})
    assert codes(allowed) == []
    assert (
        codes(client.get("/event?d_rtbd=json", headers={"host": "partner.demdex.net", "referer": "https://x.y/"})) == []
    )


@pytest.mark.parametrize(
    ("authorization", "valid"),
    [
        ("Bearer " + jwt({"type": "access_token", "created_at": "1700000000000", "expires_in": "86400000"}), False),
        ("Bearer " + jwt({"type": "access_token", "created_at": "4000000000000", "expires_in": "86400000"}), True),
        ("Bearer " + jwt({"exp": 1}), False),
        ("Bearer " + jwt({"exp": 4_000_000_000}), True),
        ("Bearer not-a-jwt", False),
        ("Basic dXNlcjpwYXNz", False),
        ("Bearer ", False),
    ],
)
def test_an_invalid_ims_token_is_111(client, authorization, valid):
    response = client.get("/dcs/event?d_rtbd=json", headers={"authorization": authorization})
    assert codes(response) == ([] if valid else ["111"])


def test_a_users_ims_token_list(make_client, tmp_path):
    client = overridden(make_client, tmp_path, ims_tokens=["token-1"])
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"authorization": "Bearer token-1"})) == []
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"authorization": "Bearer token-2"})) == ["111"]


def test_access_codes_come_together(client):
    four = "&".join(["d_cid_ic=one"] * 4)  # 310 when the ids are read: a later stage
    response = client.get(f"/dcs/event?d_rtbd=json&d_orgid=x&d_mid=bad&{four}", headers={"authorization": "Bearer x"})
    assert codes(response) == ["2", "101", "111"]  # the stage stops the call: the ids are never read


# -- privacy: 171, 172, 198, 199, 315 -------------------------------------------------------------
@pytest.mark.parametrize(
    ("country", "expected"),
    [("IR", ["199"]), ("cu", ["199"]), ("KP", ["199"]), ("SD", ["199"]), ("SY", ["199"]), ("AQ", ["198"]), ("FR", [])],
)
def test_countries(client, country, expected):
    response = client.get("/dcs/event?d_rtbd=json", headers={"x-mock-country": country})
    assert codes(response) == expected
    if expected:
        assert "uuid" not in response.json()


def test_blocked_cookies_is_172(client):
    response = client.get("/dcs/event?d_rtbd=json", headers={"x-mock-cookies": "blocked"})
    assert codes(response) == ["172"] and response.json()["errors"][0]["msg"] == "Blocked cookies"


def test_the_notarget_cookie_and_d_optout_are_171(client):
    client.cookies.set("demdex", "NOTARGET")
    response = client.get(f"/dcs/event?d_rtbd=json&d_uuid={UUID}")
    assert codes(response) == ["171"]
    assert response.json() == {"errors": [{"code": 171, "msg": f"Encountered opt out tag for id {UUID}"}]}
    client.cookies.clear()
    assert codes(client.get("/dcs/event?d_rtbd=json&d_optout=1")) == ["171"]


def test_partner_level_opt_out_then_171_for_that_declared_id(client):
    assert codes(client.get("/event?d_rtbd=json&d_cid=123%01987", headers={"host": "partner.demdex.net"})) == []
    client.cookies.clear()  # the declared id alone (with the cookie, its AAM UUID is opted out too: below)
    opt_out = client.get("/demoptout.jpg?d_cid=123%01987", headers={"host": "partner.demdex.net"})
    assert opt_out.status_code == 200 and opt_out.headers["content-type"] == "image/gif"
    assert "set-cookie" not in opt_out.headers  # partner level: no NOTARGET cookie
    response = client.get("/event?d_rtbd=json&d_cid=123%01987", headers={"host": "partner.demdex.net"})
    assert response.json() == {"errors": [{"code": 171, "msg": "Encountered opt out tag for id 987"}]}
    other_partner = client.get("/event?d_rtbd=json&d_cid=123%01987", headers={"host": "foo.demdex.net"})
    assert codes(other_partner) == []


def test_partner_level_opt_out_by_ecid_then_171_for_that_ecid(client):
    # opt-out-management's device-ID call, literally: `demoptout.jpg?d_mid=123&d_orgid=IMSoRGid`
    host = {"host": "yourcompany.demdex.net"}
    opt_out = client.get("/demoptout.jpg?d_mid=123&d_orgid=IMSoRGid", headers=host)
    assert opt_out.status_code == 200 and "set-cookie" not in opt_out.headers  # partner level, not global
    response = client.get("/event?d_rtbd=json&d_mid=123", headers=host)
    assert response.json() == {"errors": [{"code": 171, "msg": "Encountered opt out tag for id 123"}]}
    assert codes(client.get("/event?d_rtbd=json&d_mid=123", headers={"host": "foo.demdex.net"})) == []
    assert codes(client.get("/event?d_rtbd=json&d_mid=456", headers=host)) == []


OTHER = "22345678901234567890123456789012345678"


def test_partner_level_opt_out_of_a_declared_id_opts_out_its_last_device(client):
    # opt-out-management: "The last device ID ... linked to the CRM ID is opted out of data collection";
    # declared-ids: "stored for the latest mapping of this [declared id] to an AAM UUID".
    host = {"host": "partner.demdex.net"}
    assert client.get(f"/event?d_rtbd=json&d_cid=123%01987&d_uuid={UUID}", headers=host).json()["uuid"] == UUID
    client.cookies.clear()  # the link, not the cookie, names the device
    client.get("/demoptout.jpg?d_cid=123%01987", headers=host)
    response = client.get(f"/event?d_rtbd=json&d_uuid={UUID}", headers=host)
    assert response.json() == {"errors": [{"code": 171, "msg": f"Encountered opt out tag for id {UUID}"}]}
    assert codes(client.get(f"/event?d_rtbd=json&d_uuid={UUID}", headers={"host": "foo.demdex.net"})) == []


def test_partner_level_opt_out_of_an_unmapped_declared_id_opts_out_the_cookies_device(client):
    # declared-ids: "If there is no previously existing mapping, Audience Manager checks whether the request
    # contains an AAM UUID in the cookie, and if it does, uses that for storing the opt-out."
    host = {"host": "partner.demdex.net", "cookie": f"demdex={UUID}"}
    client.get("/demoptout.jpg?d_cid=123%01987", headers=host)
    assert codes(client.get("/event?d_rtbd=json", headers=host)) == ["171"]


def test_d_uuid_takes_precedence_over_the_declared_ids_device_in_an_opt_out(client):
    # declared-ids: "d_uuid always takes precedence. If the [declared id] maps to another AAM UUID, the
    # opt-out is stored under the AAM UUID passed in the request (d_uuid)."
    host = {"host": "partner.demdex.net"}
    client.get(f"/event?d_rtbd=json&d_cid=123%01987&d_uuid={UUID}", headers=host)
    client.get(f"/demoptout.jpg?d_cid=123%01987&d_uuid={OTHER}", headers=host)
    assert codes(client.get(f"/event?d_rtbd=json&d_uuid={OTHER}", headers=host)) == ["171"]
    assert codes(client.get(f"/event?d_rtbd=json&d_uuid={UUID}", headers=host)) == []


def test_a_declared_id_answers_its_most_recent_aam_uuid(client):
    # declared-ids, Match ID: "The most recent mapping is used if your ID maps to more than one Audience Manager ID."
    def uuid(query: str, cookie: str | None = None) -> str:
        client.cookies.clear()  # a server-to-server client: no cookie jar, only what it sends
        headers = {"cookie": f"demdex={cookie}"} if cookie else {}
        return str(client.get(f"/dcs/event?d_rtbd=json&d_cid=123%01987{query}", headers=headers).json()["uuid"])

    assert [uuid(f"&d_uuid={UUID}"), uuid(f"&d_uuid={OTHER}"), uuid("")] == [UUID, OTHER, OTHER]
    assert [uuid("", cookie=UUID), uuid("")] == [UUID, UUID]  # the AAM UUID a browser sends back maps too


def test_global_opt_out_sets_notarget_cookies(client):
    client.cookies.set("demdex", UUID)
    response = client.get("/dcs/demoptout.jpg")
    assert sorted(response.headers.get_list("set-cookie")) == [
        "demdex=NOTARGET; Path=/; Max-Age=315360000",
        "dextp=NOTARGET; Path=/; Max-Age=315360000",
    ]
    client.cookies.clear()
    assert codes(client.get(f"/dcs/event?d_rtbd=json&d_uuid={UUID}")) == ["171"]  # stored for that uuid too


@pytest.mark.parametrize(
    ("consent", "expected", "fatal"),
    [
        (None, ["315"], True),
        ("", ["315"], True),
        ("garbage!", ["315"], True),
        (tc_string(version=1), ["315"], True),
        (tc_string(cmp_id=10, purposes=(1,), vendors=(565,)), ["315"], True),
        (tc_string(cmp_id=10, purposes=(1, 10), vendors=(564,)), ["315"], True),
        (tc_string(cmp_id=10, purposes=(1, 10), vendors=(565,)), [], False),
        (tc_string(cmp_id=10, purposes=(1, 2, 10), vendors=(1, 565, 700), ranges=True), [], False),
        (tc_string(cmp_id=999, purposes=()), ["313"], False),
        (tc_string(cmp_id=11, purposes=()), ["314"], False),
    ],
)
def test_iab_tcf_consent(client, consent, expected, fatal):
    query = "/dcs/event?d_rtbd=json&gdpr=1" + ("" if consent is None else f"&gdpr_consent={consent}")
    response = client.get(query)
    assert codes(response) == expected
    assert ("uuid" in response.json()) is not fatal


@pytest.mark.parametrize(("cmp_id", "discarded"), [(10, False), (999, True), (11, True)])
def test_a_discarded_tc_string_sets_the_gdpr_macros_to_0_and_empty(make_client, tmp_path, cmp_id, discarded):
    """313 and 314: "The IAB TCF v2.2 ${GDPR} macro is set to 0 and the ${GDPR_CONSENT_XXX} macro is empty",
    in a URL destination and in a click's redirect (%gdpr_applies%, %gdpr_consent%)."""
    dest = {"c": "https://x.example/sync?gdpr=${GDPR}&consent=${GDPR_CONSENT_565}", "y": "img"}
    client = overridden(make_client, tmp_path, dests=[dest])
    consent = tc_string(cmp_id=cmp_id)
    answer = client.get(f"/dcs/event?d_rtbd=json&d_dst=1&gdpr=1&gdpr_consent={consent}")
    applies, string = ("0", "") if discarded else ("1", consent)
    assert answer.json()["dests"] == [{"c": f"https://x.example/sync?gdpr={applies}&consent={string}", "y": "img"}]
    click = client.get(f"/dcs/event?d_event=click&gdpr=1&gdpr_consent={consent}"
                       "&d_rd=http%3A%2F%2Fx.example%2F%3Fg%3D%25gdpr_applies%25%26c%3D%25gdpr_consent%25",
                       follow_redirects=False)
    assert click.headers["location"] == f"http://x.example/?g={applies}&c={string}"
    odd = client.get("/dcs/event?d_rtbd=json&d_dst=1&gdpr=0&gdpr_consent=a%26b%20c").json()["dests"][0]["c"]
    assert odd == "https://x.example/sync?gdpr=0&consent=a%26b%20c"  # one parameter, as sent


def test_gdpr_0_reads_no_consent(client):
    assert codes(client.get("/dcs/event?d_rtbd=json&gdpr=0&gdpr_consent=garbage")) == []


def test_a_cmp_deleted_later_than_now_is_still_listed(make_client, tmp_path):
    client = overridden(make_client, tmp_path, gcl={"11": {"deletedDate": "2999-01-01T00:00:00Z"}})
    assert codes(client.get(f"/dcs/event?d_rtbd=json&gdpr=1&gdpr_consent={tc_string(cmp_id=11)}")) == []


# -- the ids the DCS keeps ------------------------------------------------------------------------
def test_the_310_example_of_the_page(client):
    response = client.get(
        "/event?d_rtbd=json&d_cid_ic=one&d_cid_ic=one&d_cid_ic=one&d_cid_ic=one", headers={"host": "partner.demdex.net"}
    )
    assert codes(response) == ["310"] and response.json()["uuid"]


def test_the_312_example_of_the_page(client):
    response = client.get(
        "/event?d_rtbd=json&d_cid=20915%01a53cc5a2-6aa1-4210-8ded-a88b29b6212z", headers={"host": "partner.demdex.net"}
    )
    assert "312" in codes(response)
    assert codes(response) == ["104", "300", "312"]  # the id's own error beside 312, and it was the only one
    assert codes(client.get(f"/dcs/event?d_rtbd=json&d_cid=20915%01{IDFA}")) == []
    assert codes(client.get(f"/dcs/event?d_rtbd=json&d_cid_ic=DSID_20914%01{IDFA}")) == ["104", "300", "312"]
    # "An IDFA (DPID 20915) must be an uppercase ID. The ID provided in the request is lowercase.": that alone
    fixed = client.get("/event?d_rtbd=json&d_cid=20915%01A53CC5A2-6AA1-4210-8DED-A88B29B6212Z",
                       headers={"host": "partner.demdex.net"})
    assert codes(fixed) == []


def test_more_than_ten_customer_ids_is_301_once_and_309_for_each_discarded(client):
    query = "&".join(f"d_cid={100 + i}%01user{i}" for i in range(12))
    response = client.get(f"/dcs/event?d_rtbd=json&{query}")
    assert codes(response) == ["301", "309", "309"]
    errors = response.json()["errors"]
    assert errors[0]["msg"] == "Maximum number of customer ids exceeded. Maximum allowed is 10. Found is 12."
    assert [e["msg"].split()[2] for e in errors[1:]] == ["user10", "user11"]


def test_invalid_customer_ids_are_300_and_all_invalid_is_104(client):
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=abc%01x&d_cid=12%01")) == ["104", "300", "300"]
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=abc%01x&d_cid=12%01ok")) == ["300"]


def test_unauthorized_and_denylisted_data_sources(client):
    host = {"host": "yourcompany.demdex.net"}
    assert codes(client.get("/event?d_rtbd=json&d_cid=777%01x&d_cid=39217%01y", headers=host)) == ["302"]
    response = client.get("/dcs/event?d_rtbd=json&d_cid=999999%01x")
    assert codes(response) == ["104", "304"] and response.json()["errors"][1]["msg"] == "Blocked datasource id 999999"


def test_id_monitoring_deny_lists_ids_sent_too_often(make_client, tmp_path):
    client = overridden(make_client, tmp_path, id_monitoring={"max_requests": 2, "window_s": 60})
    seen = [codes(client.get(f"/dcs/event?d_rtbd=json&d_uuid={UUID}&d_cid=1%01crm")) for _ in range(4)]
    assert seen[:2] == [[], []]
    assert seen[2] == seen[3] == ["104", "303", "306", "307"]  # the one id declared, deny-listed
    client.post("/__admin/clock", json={"advance": "3600s"})
    assert codes(client.get(f"/dcs/event?d_rtbd=json&d_uuid={UUID}")) == ["306", "307"]  # denied for good


@pytest.mark.parametrize("second_minute", [False, True])
def test_id_monitoring_by_default_denies_the_301st_call_of_one_minute(client, second_minute):
    """dcs.yaml, id_monitoring: 300 calls for one device id in a clock minute pass; the 301st is denied.

    The minute is a fixed window: 300 calls at its end and 300 at the next one's start deny nothing.
    """
    client.post("/__admin/clock", json={"freeze": "2026-01-01T00:00:00Z"})
    call = f"/dcs/event?d_rtbd=json&d_uuid={UUID}"
    assert not any(codes(client.get(call)) for _ in range(300))
    if second_minute:
        client.post("/__admin/clock", json={"advance": "60s"})
        assert not any(codes(client.get(call)) for _ in range(300))
    else:
        assert codes(client.get(call)) == ["306", "307"]


def test_a_users_denylist(make_client, tmp_path):
    client = overridden(make_client, tmp_path, denylist={"customer_ids": ["crm-9"], "device_ids": [UUID]})
    response = client.get(f"/dcs/event?d_rtbd=json&d_cid=1%01crm-9&d_mid={UUID}")
    assert [e["msg"] for e in response.json()["errors"]] == [
        "All customer IDs are invalid",  # the one declared: 300's causes include a blocked id
        "Blocked customer id crm-9",
        f"Blocked declared device id {UUID}",
        f"Blocked profile operation for {UUID}",
    ]



def test_a_browser_page_can_read_x_error(client):
    # "error codes ... in an X- header": cross-origin, a page's script reads it only if it is exposed
    response = client.get("/dcs/event?d_rtbd=json&d_mid=bad", headers={"origin": "https://www.yourcompany.com"})
    assert codes(response) == ["101"]
    assert response.headers["access-control-allow-origin"] == "https://www.yourcompany.com"
    exposed = [h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")]
    assert "x-error" in exposed


@pytest.mark.parametrize(("header", "value"), [
    ("x-mock-country", "IRN"), ("x-mock-country", "Iran"), ("x-mock-country", "1R"),
    ("x-mock-cookies", "true"), ("x-mock-cookies", "1"), ("x-mock-cookies", "blocked, x"),
])
def test_a_mock_header_of_another_form_is_misuse_not_a_plain_success(client, header, value):
    """GUIDE §2: a bad value sent to the mock is misuse. `X-Mock-Country: IRN` doing nothing read as a client that
    handled the block it never got."""
    response = client.get("/dcs/event?d_rtbd=json", headers={header: value})
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_mock_headers_valid_forms(client):
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"x-mock-country": " ir "})) == ["199"]
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"x-mock-country": "FR",
                                                                "x-mock-cookies": "Allowed"})) == []


@pytest.mark.parametrize(("cid", "named"), [
    ("abc", "abc"), ("123%2501abc", "123%01abc"), ("123", "123"),  # no %01: the value sent
    ("123%01", ""),  # a blank id after the data source: nothing to name
])
def test_code_300_names_the_customer_id_sent(client, cid, named):
    response = client.get(f"/dcs/event?d_rtbd=json&d_cid=123%01ok&d_cid={cid}")
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == [300]
    assert errors[0]["msg"] == f"Invalid customer id {named}".rstrip()  # a blank id: no trailing space
