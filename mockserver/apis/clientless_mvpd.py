"""The fake MVPD login page and Adobe's SAML assertion consumer behind it.

The login form checks the configured test users and answers the seed's three "Unable to login to
MVPD page" causes; a good login posts a SAML response (an assertion signed with a key of the
environment it was made for) to `/sp/saml/SAMLAssertionConsumer`, which completes authentication
for the reg code. An assertion that cannot be read or checked there is the seed's
`SAMLAssertionParserException` (400): garbage, a tampered one, or one made for the other environment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any
from urllib.parse import quote, unquote

from mockserver.apis import handler
from mockserver.apis.clientless import params
from mockserver.apis.clientless_state import env_of, find_user, live_regcode, save
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Reply, Success

URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what a Location keeps as sent: ASCII, no space or control character

ASSERTION_FIELDS = ("environment", "requestor", "regCode", "mvpd", "user")
# Not an Adobe figure: the pages state no size for a SAML assertion. The ones this mock issues are a few
# hundred bytes; a posted one over 64 KiB is refused (cannot be decrypted) before base64 and XML parsing.
MAX_ASSERTION = 64 * 1024


def _key(ctx: RequestContext, env: str) -> bytes:
    return f"{ctx.options.get('saml_key', 'mockserver-saml')}:{env}".encode()


def _signature(key: bytes, values: dict[str, str]) -> str:
    canonical = "|".join(values[f] for f in ASSERTION_FIELDS)
    return base64.b64encode(hmac.new(key, canonical.encode(), hashlib.sha256).digest()).decode()


def make_assertion(ctx: RequestContext, values: dict[str, str]) -> str:
    """The SAMLResponse form value: base64 of a small assertion, signed for this environment."""
    # percent-encoded: XML has no way to write most control characters, and reads a tab or line end in an
    # attribute as a space (a requestor id sent with one made an assertion that failed its own signature)
    attributes = " ".join(f'{f}="{quote(values[f], safe="")}"' for f in ASSERTION_FIELDS)
    signature = _signature(_key(ctx, values["environment"]), values)
    xml = f"<Assertion {attributes}><SignatureValue>{signature}</SignatureValue></Assertion>"
    return base64.b64encode(xml.encode()).decode()


def read_assertion(ctx: RequestContext, raw: str) -> dict[str, str] | None:
    """The assertion's fields if it decodes, parses and carries this environment's signature."""
    if not raw or len(raw) > MAX_ASSERTION:
        return None
    try:
        text = base64.b64decode(raw.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if "<!" in text:  # no DTD, no entities: nothing to expand
        return None
    from xml.etree import ElementTree  # only when an assertion arrives: it costs start-up time

    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    values = {f: root.get(f) for f in ASSERTION_FIELDS}
    signature = root.findtext("SignatureValue") or ""
    if root.tag != "Assertion" or any(v is None for v in values.values()):
        return None
    checked = {k: unquote(str(v)) for k, v in values.items()}
    expected = _signature(_key(ctx, env_of(ctx)), checked)
    return checked if hmac.compare_digest(expected, signature.strip()) else None


def login_error(ctx: RequestContext, mso: str, username: str, password: str) -> str | None:
    """Which of the seed's causes keeps this user out, if any."""
    user = find_user(ctx, username)
    if user is None or str(user.get("password", "")) != password:
        return "mvpd-credentials-mismatch"
    if user.get("mvpd") and str(user["mvpd"]) != mso:
        return "mvpd-credentials-mismatch"  # no such account at this MVPD
    if user.get("disabled"):
        return "mvpd-login-disabled"
    environment = str(user.get("environment") or "any").lower()  # null: as if not given (the loader refuses "")
    if environment not in ("any", env_of(ctx)):
        return "mvpd-wrong-environment"
    return None


@handler("clientless.mvpd_login", variables={"saml_response", "relay_state", "consumer_url"})
async def mvpd_login(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    mso = ctx.path_params["mso"]
    refused = login_error(ctx, mso, values.get("username", ""), values.get("password", ""))
    if refused is not None:
        return Failure([ErrorRef(refused)])
    assertion = {"environment": env_of(ctx), "requestor": values.get("requestor_id", ""),
                 "regCode": values.get("reg_code", "").upper(), "mvpd": mso, "user": values["username"]}
    return Success(variables={
        "saml_response": make_assertion(ctx, assertion),
        "relay_state": values.get("redirect_url", ""),
        "consumer_url": f"{ctx.base_url}/sp/saml/SAMLAssertionConsumer",
    })


@handler("clientless.saml_consumer")
async def saml_consumer(ctx: RequestContext) -> Outcome:
    values = params(ctx)
    assertion = read_assertion(ctx, values.get("SAMLResponse", ""))
    if assertion is None:
        return Failure([ErrorRef("saml-assertion-undecryptable")])
    requestor, code = assertion["requestor"], assertion["regCode"]
    found = await live_regcode(ctx, requestor, code)
    if found is None:
        return Failure([ErrorRef("regcode-not-found")])
    user: dict[str, Any] = find_user(ctx, assertion["user"]) or {}
    now = ctx.clock.now_ms()
    token = {
        "requestor": requestor,
        "mvpd": assertion["mvpd"],
        "userId": str(user.get("user_id") or ctx.generator.hex(32)),
        "username": assertion["user"],
        "generated": now,
        "expires": now + int(float(ctx.options.get("authn_ttl_s", 2592000)) * 1000),
    }
    await save(ctx, token, "authn", requestor, found["device"])
    await save(ctx, found["device"], "authn-code", requestor, code)
    relay = values.get("RelayState", "")
    if relay.startswith(("http://", "https://")):  # percent-escaped: a CR/LF in it was no answer at all
        return Reply(302, [("Location", quote(relay, safe=URL_SAFE))])
    return Success()
