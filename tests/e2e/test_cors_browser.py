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
