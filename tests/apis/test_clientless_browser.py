"""The fake MVPD login page in a real headless browser (Debian's chromium through chromedriver).

A device gets a reg code over HTTP; the browser opens /api/v1/authenticate as the login web app
would, is redirected to the MVPD page, fills the form and submits; the page auto-posts the SAML
response to Adobe's consumer, which redirects to the app's redirect_url. Failures stay on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.browser import browser, needs_browser

pytestmark = [pytest.mark.slow, *needs_browser]
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture
def server(start_server: Callable[..., Any], tmp_path: Path) -> Any:
    (tmp_path / "clientless.yaml").write_text("api: clientless\noptions: {throttle_enabled: false}\n")
    return start_server("--scenarios", str(tmp_path))


def start_login(server: Any, browser: Any, requestor: str = "sampleRequestorId") -> str:
    """A reg code from the device, then the login web app's /authenticate in the browser."""
    created = httpx.post(f"{server.url}/clientless/reggie/v1/{requestor}/regcode.json",
                         data={"deviceId": "browser-device"}, headers={"Authorization": "Bearer t"})
    assert created.status_code == 201
    code = str(created.json()["code"])
    done = f"{server.url}/clientless/api/v1/checkauthn/{code}?requestor={requestor}&format=json"
    query = urlencode({"requestor_id": requestor, "mso_id": "sampleMvpdId", "reg_code": code,
                       "domain_name": "127.0.0.1", "noflash": "true", "no_iframe": "true", "redirect_url": done})
    browser.get(f"{server.url}/clientless/api/v1/authenticate?{query}")
    assert "/clientless/mvpd/sampleMvpdId/login" in browser.current_url
    assert browser.find_element("id", "reg-code").text == code
    return code


def submit(browser: Any, username: str, password: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element("id", "username").send_keys(username)
    browser.find_element("id", "password").send_keys(password)
    browser.find_element("id", "submit").click()
    WebDriverWait(browser, 20).until(
        lambda b: "/checkauthn/" in b.current_url or b.find_elements("id", "error"))


def test_correct_credentials_complete_authentication(server: Any, browser: Any) -> None:
    code = start_login(server, browser)
    submit(browser, "test-user", "test-pass")
    assert f"/clientless/api/v1/checkauthn/{code}" in browser.current_url
    check = httpx.get(f"{server.url}/clientless/api/v1/checkauthn/{code}", params={"requestor": "sampleRequestorId"})
    assert check.status_code == 200
    token = httpx.get(f"{server.url}/clientless/api/v1/tokens/authn.json",
                      params={"requestor": "sampleRequestorId", "deviceId": "browser-device"})
    assert token.status_code == 200 and token.json()["userId"] == "sampleScrambledUserId"


@pytest.mark.parametrize(("username", "password", "error_id", "words"), [
    ("test-user", "not-the-password", "mvpd-credentials-mismatch", "do not match"),
    ("disabled-user", "test-pass", "mvpd-login-disabled", "disabled"),
    ("staging-user", "test-pass", "mvpd-wrong-environment", "production or staging"),
])
def test_documented_login_failures_show_on_the_page(server: Any, browser: Any, username: str, password: str,
                                                    error_id: str, words: str) -> None:
    code = start_login(server, browser)
    submit(browser, username, password)
    message = browser.find_element("id", "error")
    assert message.get_attribute("data-error") == error_id
    assert words in message.text
    assert browser.find_element("id", "username").get_attribute("value") == username  # the form is kept
    check = httpx.get(f"{server.url}/clientless/api/v1/checkauthn/{code}.json",
                      params={"requestor": "sampleRequestorId"})
    assert check.status_code == 403 and check.json() == {"status": 403, "message": "Forbidden"}
