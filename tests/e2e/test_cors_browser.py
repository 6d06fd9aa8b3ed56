"""Browser clients from another origin, in a real headless browser: what a page's fetch() can read.

The page is the mock's own health route reached as http://localhost:PORT; the APIs are called as
http://127.0.0.1:PORT, another origin, so every call is a CORS request (with a preflight when it
sends JSON or an Authorization header), and the browser, not the mock, decides what the page sees.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import browser, needs_browser

pytestmark = [pytest.mark.slow, *needs_browser]
__all__ = ["browser"]  # the fixture, used by name

FETCH = """
const [url, init, done] = arguments;
fetch(url, init)
  .then(async r => done({status: r.status, body: await r.text(), requestId: r.headers.get('x-request-id'),
                         retryAfter: r.headers.get('retry-after'), edge: r.headers.get('x-adobe-edge')}))
  .catch(e => done({error: String(e)}));
"""


@pytest.fixture
def page(browser: Any, start_server: Any) -> Any:
    server = start_server()
    port = server.url.rsplit(":", 1)[1]
    browser.get(f"http://localhost:{port}/__admin/health")
    browser.set_script_timeout(20)
    return browser, f"http://127.0.0.1:{port}"


def fetch(page: Any, path: str, **init: Any) -> dict[str, Any]:
    driver, api = page
    return driver.execute_async_script(FETCH, api + path, init)  # type: ignore[no-any-return]


def test_a_page_reads_reactor_errors_after_a_preflight(page):
    headers = {"Authorization": "Bearer t", "x-api-key": "Activation-DTM", "Accept": "application/vnd.api+json"}
    found = fetch(page, "/reactor/properties/PR1", headers=headers)
    assert found["status"] == 404 and '"code":"not-found"' in found["body"]
    refused = fetch(page, "/reactor/properties/PR1?__error=too-many-requests", headers=headers)
    assert refused["status"] == 429


def test_a_page_reads_edge_problems_with_its_cookies(page):
    answer = fetch(page, "/edge/ee/v2/interact?datastreamId=ds-1", method="POST", credentials="include",
                   headers={"Content-Type": "application/json"}, body="{not json")
    assert answer["status"] == 400 and "EXEG-0" in answer["body"]
    assert answer["requestId"] is None  # not exposed: the page reads the body, not that header
    busy = fetch(page, "/edge/ee/v2/interact?datastreamId=ds-1&__error=EXEG-0000-503", method="POST",
                 credentials="include", headers={"Content-Type": "text/plain"}, body='{"event": {}}')
    # What the Web SDK reads: its wait before a retry, the region id.
    assert (busy["status"], busy["retryAfter"], busy["edge"]) == (503, "1", "OR2;35")


def test_a_page_reads_dcs_codes_with_its_cookies(page):
    answer = fetch(page, "/dcs/event?d_rtbd=json&d_site=%esid!", credentials="include")
    assert answer["status"] == 200 and '"code":311' in answer["body"]


def test_a_page_cannot_read_braze_whose_rest_api_is_for_servers(page):
    answer = fetch(page, "/braze/campaigns/list", headers={"Authorization": "Bearer k"})
    assert "error" in answer and "Failed to fetch" in answer["error"]


def active_modes(api: str) -> list[Any]:
    import httpx

    return httpx.get(f"{api}/__admin/modes").json()["active"]  # type: ignore[no-any-return]


def test_a_page_of_another_origin_cannot_switch_an_outage_on(page):
    """The attack of Mockoon's GHSA-rqx4-3f6q-3x2v: a simple request (text/plain, no preflight), a no-cors
    fetch and a form all reach the server; before, each one switched the outage on."""
    driver, api = page
    body = '{"mode": "outage", "api": "braze"}'
    simple = fetch(page, "/__admin/modes", method="POST", body=body, headers={"Content-Type": "text/plain"})
    blind = fetch(page, "/__admin/modes", method="POST", body=body, mode="no-cors")
    assert "error" in simple and blind["status"] == 0  # the page learns nothing either way ...
    driver.execute_script("""
      const form = Object.assign(document.createElement('form'), {method: 'POST', enctype: 'text/plain',
                                                                   action: arguments[0]});
      form.appendChild(Object.assign(document.createElement('input'), {name: '{"mode":"outage","x":"', value: '"}'}));
      document.body.appendChild(form); form.submit();""", api + "/__admin/reset")
    assert '"status":403' in driver.find_element("tag name", "pre").text
    assert active_modes(api) == []  # ... and nothing changed


def test_a_page_whose_name_dns_rebinds_to_the_mock_changes_nothing(start_server, tmp_path):
    """rebind.test resolves to 127.0.0.1 (Chromium's resolver rules stand in for the attacker's DNS): its
    page is same-origin with the mock, so only the Host header tells it from the mock's own page."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    from tests.browser import ARGS, CHROMEDRIVER, CHROMIUM

    server = start_server()
    port = server.url.rsplit(":", 1)[1]
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in [*ARGS, "--host-resolver-rules=MAP rebind.test 127.0.0.1", f"--user-data-dir={tmp_path}"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_script_timeout(20)
        driver.get(f"http://rebind.test:{port}/__admin/health")  # typed: answered (Sec-Fetch-Site: none)
        assert '"status":"ok"' in driver.page_source
        rebound = (driver, f"http://rebind.test:{port}")
        switched = fetch(rebound, "/__admin/modes", method="POST", body='{"mode": "outage"}')
        reset = fetch(rebound, "/__admin/reset", method="POST")
        assert (switched["status"], reset["status"]) == (403, 403), (switched, reset)
        assert "urn:mockserver:problem:misuse" in switched["body"] and active_modes(server.url) == []
        # left open (admin_guard.py): its same-origin GET carries no Origin nor Sec-Fetch-Site
        assert fetch(rebound, "/__admin/health")["status"] == 200
    finally:
        driver.quit()
