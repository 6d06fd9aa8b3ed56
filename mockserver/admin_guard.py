"""Which `/__admin` requests a web page sent, and is refused (anchors §3 item 9: a page reached a
localhost admin API; MockServer CVE-2021-32827, Mockoon GHSA-rqx4-3f6q-3x2v).

A page on any site may `fetch()` the mock on 127.0.0.1 with a *simple* request (POST, text/plain: no
preflight) or submit a form to it: the answer is unreadable, but the outage or the reset it asked for
happened. And a page of a name the attacker's DNS rebinds to 127.0.0.1 is same-origin with the mock;
its POST carries `Origin: http://rebind.example:PORT`, a name that is neither an IP address nor
localhost. Clients, test fixtures, curl and health checks send no `Origin` and no `Sec-Fetch-Site`,
so nothing changes for them; a browser sends one of the two on every request that changes state
(Origin on every POST, PUT, DELETE; Sec-Fetch-Site to 127.0.0.1 and localhost), and a URL typed in
the address bar is `Sec-Fetch-Site: none`, still answered.

Left open: a rebound page's same-origin GET carries neither header (Sec-Fetch-* go only to secure
origins, http://rebind.example is not one), so it can read `/__admin/requests`, secrets redacted; only
a list of allowed Host names or a token would refuse it, and either would break a CI service
container reached by its own name (README, Admin API).
"""

from __future__ import annotations

import ipaddress
from typing import Any

READS = frozenset({"GET", "HEAD"})
_READ = (b"origin", b"sec-fetch-site", b"host")


def refusal(scope: dict[str, Any]) -> str | None:
    """Why a browser's page may not make this admin request, or None when it may (or no page sent it)."""
    headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in _READ}
    site, origin, host = headers.get("sec-fetch-site"), headers.get("origin"), headers.get("host", "")
    if site is None and origin is None or site == "none":
        return None
    same_origin = (site is None or site == "same-origin") and (origin is None or _authority(origin) == host.lower())
    if not same_origin:
        if scope["method"] in READS:  # a cross-origin page cannot read the answer: no CORS on /__admin
            return None
        return f"a page of {origin or 'another site'} may not change the mock's state (Sec-Fetch-Site: {site})"
    if not _loopback_or_ip(host):
        return (f"a page served as {host!r} may not use the admin API (DNS rebinding): "
                "open it as http://127.0.0.1, http://localhost or the server's IP address")
    return None


def _authority(origin: str) -> str:
    """`http://127.0.0.1:8080` -> `127.0.0.1:8080` (the Host a same-origin request carries); `null` stays."""
    scheme, sep, rest = origin.partition("://")
    if not sep:
        return origin
    authority = rest.lower().rstrip("/")
    default = {"http": ":80", "https": ":443"}.get(scheme.lower())
    return authority[: -len(default)] if default and authority.endswith(default) else authority


def _loopback_or_ip(host: str) -> bool:
    """An IP literal or a name browsers resolve to loopback themselves: no DNS answer can rebind it."""
    name = host.lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
