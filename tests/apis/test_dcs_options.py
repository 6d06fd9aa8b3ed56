"""DCS options a user's file sets: the values refused at load (each passed validate, then answered the mock's 500 or
silently did something else), and the good ones that still load and act."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.apis.test_dcs_support import tc_string
from tests.apis.test_dcs_triggers import codes, overridden

IDFA = "AEBE52E7-03EE-455A-B3C4-E57283966239"

BAD = [
    # -- formats: compiled at load (a request naming the org, or the data source, was the mock's 500) ----------
    ('org_id_pattern: "[0-9"', "options.org_id_pattern",
     "not a regular expression: unterminated character set at position 0 (a Python regular expression, matched "
     "against the whole d_orgid; null for none: only org_ids are known)"),
    ('org_id_pattern: "a{4294967296}"', "options.org_id_pattern",  # OverflowError, not re.error
     "not a regular expression: the repetition number is too large (a Python regular expression, matched against "
     "the whole d_orgid; null for none: only org_ids are known)"),
    ('global_device_ids: {"20915": "a{4294967296}"}', "options.global_device_ids.20915",
     "not a regular expression: the repetition number is too large (a Python regular expression, matched against "
     "the whole id; null for no format)"),
    ('global_device_ids: {"20915": "[A-Z"}', "options.global_device_ids.20915",  # was: checked nothing, no 312
     "not a regular expression: unterminated character set at position 0 (a Python regular expression, matched "
     "against the whole id; null for no format)"),
    ('global_device_ids: {"123": 5}', "options.global_device_ids.123",  # a new data source: no bundled kind
     "5 where a format takes text (a Python regular expression, matched against the whole id; null for no format)"),
    ('global_device_ids: {DSID_20915: "[A-Z]+"}', "options.global_device_ids.DSID_20915",  # never met a source
     "'DSID_20915' is not a data source id: its digits, as '20915' (the IDFA's), which d_cid sends and DSID_20915 "
     "or an integration_codes entry names"),
    # -- default_partner: every call through /dcs answered code 1 ----------------------------------------------
    ("default_partner: nobody", "options.default_partner",
     "'nobody' is not one of partners (partner, yourcompany, acme_aam_domain, foo): every call through /dcs, and "
     "to a host that is not <alias>.demdex.net, would answer code 1"),
    ('default_partner: ""', "options.default_partner",
     "'' is not one of partners (partner, yourcompany, acme_aam_domain, foo): every call through /dcs, and to a "
     "host that is not <alias>.demdex.net, would answer code 1"),
    ("default_partner: null", "options.default_partner",
     "null is not one of partners (partner, yourcompany, acme_aam_domain, foo): every call through /dcs, and to a "
     "host that is not <alias>.demdex.net, would answer code 1"),
    ("partners: {mine: {id: 77}}", "options.partners",  # the bundled default left out of one's own list
     "default_partner 'partner' is not one of them (mine): every call through /dcs, and to a host that is not "
     "<alias>.demdex.net, would answer code 1 (set default_partner to one of yours)"),
    ("partners: {}\n  default_partner: mine", "options.default_partner",
     "'mine' is not one of partners (none): every call through /dcs, and to a host that is not <alias>.demdex.net, "
     "would answer code 1"),
    # -- a partner's keys and kinds: the loader knows only those the bundled partner of that name has --------------
    ('partners: {partner: {id: 1352, data_sources: "123"}}', "options.partners.partner.data_sources",  # 1, 2, 3
     "'123' where data_sources takes a list, as [39217, 123] (null or left out: any data source)"),
    ("partners: {partner: {id: 1352, data_sources: 123}}", "options.partners.partner.data_sources",  # was a 500
     "123 where data_sources takes a list, as [39217, 123] (null or left out: any data source)"),
    ("partners: {partner: {id: 1352, referers: x}}", "options.partners.partner.referers",  # allowed the host `x`
     "'x' where referers takes a list, as [example.com, '*.example.com'] (null or left out: any referer)"),
    ("partners: {partner: {id: 1352, referer: [a.com]}}", "options.partners.partner.referer",  # allowed any
     "unknown key; did you mean 'referers'? (a partner takes: id, referers, blocked_countries, data_sources)"),
    ("partners: {partner: {id: 1352, bogus: 1}}", "options.partners.partner.bogus",
     "unknown key; (a partner takes: id, referers, blocked_countries, data_sources)"),
    ("partners: {partner: {id: 1352}, mine: {id: x}}", "options.partners.mine.id",
     "'x' where a partner's id (its PID, which code 109 names) is a whole number, as 1352 (leave it out to name the "
     "partner by its alias)"),
    ("partners: {partner: {id: 1352}, mine: {id: 1.5}}", "options.partners.mine.id",
     "1.5 where a partner's id (its PID, which code 109 names) is a whole number, as 1352 (leave it out to name the "
     "partner by its alias)"),
    ("partners: {partner: {id: 1352}, mine: [1]}", "options.partners.mine",
     "[1] where a partner takes a mapping of id, referers, blocked_countries, data_sources (or nothing: a partner "
     "with no settings)"),
    ("partners: {partner: {id: 1352}, mine: {referers: [1]}}", "options.partners.mine.referers[0]",
     "1 where a referer is a host name or pattern (text, as '*.example.com')"),
    ("partners: {partner: {id: 1352}, mine: {data_sources: [\"39217\"]}}", "options.partners.mine.data_sources[0]",
     "'39217' where a data source is its id, a whole number (as 39217)"),
    ("partners: {partner: {id: 1352}, mine: {blocked_countries: [Iran]}}",
     "options.partners.mine.blocked_countries[0]",
     "'Iran' is not a country code: two letters of ISO 3166-1, as IR (what X-Mock-Country sends)"),
    ("blocked_countries: [CU, IRN]", "options.blocked_countries[1]",
     "'IRN' is not a country code: two letters of ISO 3166-1, as IR (what X-Mock-Country sends)"),
    # -- tcf: whole numbers a TC string can hold (565.5 was vendor 565, "x" a 500 on every gdpr=1 call) --------
    ("tcf: {vendor_id: 565.5, purposes: [1, 10]}", "options.tcf.vendor_id",
     "565.5 is not a vendor id: a whole number from 1 to 65535 (a TC string's vendor fields are 16 bits; Audience "
     "Manager is 565)"),
    ("tcf: {vendor_id: 65536, purposes: [1, 10]}", "options.tcf.vendor_id",  # a 315 on every call
     "65536 is not a vendor id: a whole number from 1 to 65535 (a TC string's vendor fields are 16 bits; Audience "
     "Manager is 565)"),
    ("tcf: {vendor_id: 565, purposes: [1.5, 10]}", "options.tcf.purposes[0]",
     "1.5 is not a purpose: a whole number from 1 to 11 (TCF v2.2's purposes; the plug-in needs 1 and 10)"),
    ("tcf: {vendor_id: 565, purposes: [1, x]}", "options.tcf.purposes[1]",
     "'x' is not a purpose: a whole number from 1 to 11 (TCF v2.2's purposes; the plug-in needs 1 and 10)"),
    ("tcf: {vendor_id: 565, purposes: [0, 10]}", "options.tcf.purposes[0]",
     "0 is not a purpose: a whole number from 1 to 11 (TCF v2.2's purposes; the plug-in needs 1 and 10)"),
    ("tcf: {vendor_id: 565, purposes: [1, 12]}", "options.tcf.purposes[1]",
     "12 is not a purpose: a whole number from 1 to 11 (TCF v2.2's purposes; the plug-in needs 1 and 10)"),
    ("tcf: {vendor_id: 565, purposes: null}", "options.tcf.purposes",  # was a 500 on every gdpr=1 call
     "null where purposes takes a list of purpose numbers, as [1, 10] ([] for the vendor's consent alone)"),
    ("tcf: {vendor: 565}", "options.tcf.vendor",
     "unknown key; did you mean 'vendor_id'? (tcf takes: vendor_id, purposes)"),
    # -- regions: keys are dcs_region numbers (dcs_region=abc was a 500) --------------------------------------
    ("regions: {abc: x}", "options.regions.abc",
     "'abc' is not a region id: a whole number of 1 to 9 digits (ASCII, as 7), the dcs_region a call sends and "
     "the answer names"),
    ("regions: {7: use, 3.5: x}", "options.regions.3.5",
     "'3.5' is not a region id: a whole number of 1 to 9 digits (ASCII, as 7), the dcs_region a call sends and "
     "the answer names"),
    ("regions: {-1: x}", "options.regions.-1",
     "'-1' is not a region id: a whole number of 1 to 9 digits (ASCII, as 7), the dcs_region a call sends and "
     "the answer names"),
    ("regions: {1234567890: x}", "options.regions.1234567890",  # 5,000 digits: int() refused dcs_region=999...
     "'1234567890' is not a region id: a whole number of 1 to 9 digits (ASCII, as 7), the dcs_region a call sends "
     "and the answer names"),
    # -- gcl: a CMP id a TC string holds, a deletedDate the module parses (was: never deleted, no 314) -----------
    ('gcl: {"11": {deletedDate: "not a date"}}', "options.gcl.11.deletedDate",
     "'not a date' is not a date: ISO 8601, as 2020-08-15T00:00:00Z (UTC without an offset; null: not deleted)"),
    ('gcl: {"11": {deletedDate: ""}}', "options.gcl.11.deletedDate",
     "'' is not a date: ISO 8601, as 2020-08-15T00:00:00Z (UTC without an offset; null: not deleted)"),
    ('gcl: {"12": {deletedDate: [2020]}}', "options.gcl.12.deletedDate",  # a new CMP: no bundled kind
     "[2020] is not a date: ISO 8601, as 2020-08-15T00:00:00Z (UTC without an offset; null: not deleted)"),
    ("gcl: {abc: {}}", "options.gcl.abc",  # never listed: 313
     "'abc' is not a CMP id: a whole number from 1 to 4095 (a TC string's 12-bit CmpId), without leading zeros"),
    ("gcl: {'010': {}}", "options.gcl.010",
     "'010' is not a CMP id: a whole number from 1 to 4095 (a TC string's 12-bit CmpId), without leading zeros"),
    ("gcl: {'4096': {}}", "options.gcl.4096",
     "'4096' is not a CMP id: a whole number from 1 to 4095 (a TC string's 12-bit CmpId), without leading zeros"),
    ("gcl: {'12': x}", "options.gcl.12",
     "'x' where a CMP takes a mapping, {} or {deletedDate: ...} (or nothing: listed, not deleted)"),
    # -- id_monitoring: a window a count can be kept in (1e-320 was a 500 on every declared id) ------------------
    ("id_monitoring: {max_requests: 5, window_s: 1.0e-320}", "options.id_monitoring.window_s",
     "1e-320 is no window: seconds, 0.001 (a millisecond) or more (max_requests: 0 turns ID monitoring off)"),
    ("id_monitoring: {max_requests: 5, window_s: 0}", "options.id_monitoring.window_s",  # silently off
     "0 is no window: seconds, 0.001 (a millisecond) or more (max_requests: 0 turns ID monitoring off)"),
    ("id_monitoring: {max_requests: 1.5, window_s: 60}", "options.id_monitoring.max_requests",  # read as 1
     "1.5 is not a number of requests: a whole number, without a decimal point (0 turns ID monitoring off)"),
    ("id_monitoring: {max_request: 5, window_s: 60}", "options.id_monitoring.max_request",
     "unknown key; did you mean 'max_requests'? (id_monitoring takes: max_requests, window_s)"),
]


@pytest.mark.parametrize("option, field, message", BAD, ids=[f"{n}-{b[1][8:]}" for n, b in enumerate(BAD)])
def test_a_wrong_option_value_is_refused_at_reload_with_its_line(make_client, tmp_path, option, field, message):
    client = make_client(scenarios=(str(tmp_path),))
    path = tmp_path / "dcs-options.yaml"
    path.write_text(f"api: dcs\noptions:\n  {option}\n")
    answer = client.post("/__admin/reload")
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [f"{path}:{3 + option.count(chr(10))}: {field}: {message}"]
    served = client.get("/dcs/event?d_rtbd=json&d_orgid=invalid")  # the bundled options, still served
    assert served.status_code == 200 and codes(served) == ["2"]


GOOD = [
    "org_id_pattern: null", "org_id_pattern: ''", 'org_id_pattern: "[0-9A-F]{24}@AdobeOrg"',
    'global_device_ids: {"20915": null, "123": "[a-z]+"}', "global_device_ids: {}",
    "default_partner: yourcompany", "partners: {mine: {id: 77}}\n  default_partner: mine",
    "partners: {partner: null, mine: {id: 0, referers: null, blocked_countries: [aq, ' RU'], data_sources: []}}",
    "blocked_countries: []",
    "tcf: {vendor_id: 1, purposes: [11]}", "tcf: {vendor_id: 65535, purposes: []}", "tcf: {purposes: [1]}",
    "regions: {3: apse, '13': mine}", "regions: {}", "regions: null",
    "gcl: {'10': null, '11': {deletedDate: null}, '12': {deletedDate: '2020-08-15'}, '4095': {name: X, id: 4095}}",
    "id_monitoring: {max_requests: 0, window_s: 60}", "id_monitoring: {max_requests: 2, window_s: 0.001}",
    "id_monitoring: {max_requests: 5}",
]


@pytest.mark.parametrize("option", GOOD)
def test_good_option_values_load(make_client, tmp_path, option):
    client = make_client(scenarios=(str(tmp_path),))
    (tmp_path / "dcs-options.yaml").write_text(f"api: dcs\noptions:\n  {option}\n")
    assert client.post("/__admin/reload").json()["loaded"] is True
    assert client.get("/dcs/event?d_rtbd=json").status_code == 200


def test_a_format_of_one_s_own_is_checked(make_client, tmp_path):
    client = overridden(make_client, tmp_path, global_device_ids={"20915": "[A-Z0-9-]+"},
                        org_id_pattern="[0-9]{3}@AdobeOrg")
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid_ic=DSID_20915%01abc")) == ["104", "300", "312"]
    assert codes(client.get(f"/dcs/event?d_rtbd=json&d_cid_ic=DSID_20915%01{IDFA}")) == []
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=123@AdobeOrg")) == []
    assert codes(client.get("/dcs/event?d_rtbd=json&d_orgid=1234@AdobeOrg")) == ["2"]


def test_a_partner_s_own_lists_act(make_client, tmp_path):
    """Given as lists (a string was read one character at a time): each element is a referer, a source."""
    client = overridden(make_client, tmp_path, default_partner="mine", partners={
        "mine": {"id": 7, "referers": ["*.example.com"], "data_sources": [123], "blocked_countries": ["ru"]}})
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"referer": "https://www.example.com/"})) == []
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"referer": "https://e.com/"})) == ["109"]
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=123%01abc")) == []
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=1%01abc")) == ["104", "302"]
    assert codes(client.get("/dcs/event?d_rtbd=json", headers={"x-mock-country": "RU"})) == ["198"]


def test_tcf_needs_of_one_s_own(make_client, tmp_path):
    client = overridden(make_client, tmp_path, tcf={"vendor_id": 755, "purposes": [1, 11]})
    for purposes, vendors, found in [((1, 11), (755,), []), ((1, 10), (755,), ["315"]), ((1, 11), (565,), ["315"])]:
        consent = tc_string(purposes=purposes, vendors=vendors)
        assert codes(client.get(f"/dcs/event?d_rtbd=json&gdpr=1&gdpr_consent={consent}")) == found, purposes


def test_a_region_of_one_s_own_is_answered(make_client, tmp_path):
    client = overridden(make_client, tmp_path, regions={"13": "mine", "7": "use"})
    assert client.get("/dcs/event?d_rtbd=json&dcs_region=13").json()["dcs_region"] == 13
    assert client.get("/dcs/event?d_rtbd=json&dcs_region=abc").json()["dcs_region"] == 7  # not known: the default


@pytest.mark.parametrize("date", ["2020-08-15T00:00:00Z", "2020-08-15", "2020-08-15T02:00:00+02:00"])
def test_a_deleted_date_of_one_s_own_deletes_the_cmp(make_client, tmp_path, date):
    """A date without an offset is UTC (was: the machine's time zone); `"10":` (null) is listed (was: 313)."""
    client = overridden(make_client, tmp_path, gcl={"10": None, "11": {"deletedDate": date}})
    assert codes(client.get(f"/dcs/event?d_rtbd=json&gdpr=1&gdpr_consent={tc_string(cmp_id=10)}")) == []
    assert codes(client.get(f"/dcs/event?d_rtbd=json&gdpr=1&gdpr_consent={tc_string(cmp_id=11)}")) == ["314"]
    assert codes(client.get(f"/dcs/event?d_rtbd=json&gdpr=1&gdpr_consent={tc_string(cmp_id=12)}")) == ["313"]


def test_a_window_of_a_millisecond_counts(make_client, tmp_path):
    client = overridden(make_client, tmp_path, id_monitoring={"max_requests": 1, "window_s": 0.001})
    assert client.post("/__admin/clock", json={"freeze": "2026-01-01T00:00:00Z"}).status_code == 200
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=123%01abc")) == []
    assert codes(client.get("/dcs/event?d_rtbd=json&d_cid=123%01abc")) == ["104", "303"]


def test_validate_exits_1_naming_every_wrong_option(tmp_path):
    path = tmp_path / "dcs.yaml"
    path.write_text(yaml.safe_dump({"api": "dcs", "options": {
        "org_id_pattern": "[0-9", "global_device_ids": {"20915": "[A-Z", "20914": "a{4294967296}"},
        "default_partner": "nobody", "partners": {"partner": {"referers": "x"}, "mine": {"data_sources": 1}},
        "tcf": {"vendor_id": 565.5, "purposes": [1, "x"]}, "regions": {"abc": "x"},
        "gcl": {"11": {"deletedDate": "not a date"}}, "id_monitoring": {"max_requests": 5, "window_s": 1e-320},
    }}))
    run = subprocess.run([sys.executable, "-m", "mockserver", "validate", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    fields = [line.split(": ", 2)[1] for line in run.stdout.splitlines() + run.stderr.splitlines()
              if line.startswith(str(path))]
    assert sorted(fields) == ["options.default_partner", "options.gcl.11.deletedDate",
                              "options.global_device_ids.20914", "options.global_device_ids.20915",
                              "options.id_monitoring.window_s",
                              "options.org_id_pattern", "options.partners.mine.data_sources",
                              "options.partners.partner.referers", "options.regions.abc", "options.tcf.purposes[1]",
                              "options.tcf.vendor_id"]
    assert "Traceback" not in run.stdout + run.stderr
