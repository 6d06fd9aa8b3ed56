"""Edge authentication: which EXEG-05xx error a request's credentials earn, if any.

Adobe's authentication page lists the cases; a mock cannot verify Adobe's signatures or
entitlements, so it judges what the request itself shows: the header's form, the token's form
(a JWT), an unsigned token, the token's expiry against the mock's clock, a technical account's scope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from mockserver.engine.clock import as_float
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef

_BEARER = re.compile(r"^\s*Bearer[ \t]+(\S+)\s*$", re.IGNORECASE)
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
SERVICE_ACCOUNT_SUFFIX = "@techacct.adobe.com"
REQUIRED_SCOPE = "acp.foundation"


@dataclass(frozen=True)
class Jwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signature: str


def _segment(text: str) -> dict[str, Any] | None:
    """A base64url JSON object, or None."""
    if not _B64URL.fullmatch(text):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def decode_jwt(token: str) -> Jwt | None:
    """The parts of a compact JWT (header.claims.signature), or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, claims = _segment(parts[0]), _segment(parts[1])
    if header is None or claims is None:
        return None
    if parts[2] and not _B64URL.fullmatch(parts[2]):
        return None
    return Jwt(header, claims, parts[2])


def _number(value: Any) -> float | None:
    """JWT and IMS times come as numbers or as digit strings (IMS: "1690000000000")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return as_float(value)  # an exp of 400 digits: infinitely far, not an OverflowError
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def expired(claims: dict[str, Any], now_s: float) -> bool:
    """`exp` (seconds, RFC 7519), else Adobe IMS's `created_at` + `expires_in` (milliseconds)."""
    exp = _number(claims.get("exp"))
    if exp is not None:
        return exp <= now_s
    created, lifetime = _number(claims.get("created_at")), _number(claims.get("expires_in"))
    if created is None or lifetime is None:
        return False
    return (created + lifetime) / 1000 <= now_s


def lacks_service_scope(claims: dict[str, Any]) -> bool:
    """A technical account's token without acp.foundation (EXEG-0505: service accounts only)."""
    user = claims.get("user_id") or claims.get("sub")
    if not isinstance(user, str) or not user.endswith(SERVICE_ACCOUNT_SUFFIX):
        return False
    scope = claims.get("scope")
    scopes = set(re.split(r"[,\s]+", scope)) if isinstance(scope, str) else set()
    return REQUIRED_SCOPE not in scopes


AUTH_ERRORS = ("EXEG-0500-401", "EXEG-0502-401", "EXEG-0503-401", "EXEG-0505-401", "EXEG-0501-401")  # auth_errors's


def auth_errors(ctx: RequestContext) -> list[ErrorRef]:
    """The first authentication error of the request, as the authentication page orders them."""
    found = _BEARER.match(ctx.header("authorization") or "")
    token = decode_jwt(found.group(1)) if found else None
    if token is None or not ctx.header("x-api-key") or not ctx.header("x-gw-ims-org-id"):
        return [ErrorRef("EXEG-0500-401")]
    if not token.signature or str(token.header.get("alg", "")).lower() == "none":
        return [ErrorRef("EXEG-0502-401")]
    if expired(token.claims, ctx.clock.now()):
        return [ErrorRef("EXEG-0503-401")]
    if lacks_service_scope(token.claims):
        return [ErrorRef("EXEG-0505-401", {"scope": REQUIRED_SCOPE})]
    user_token = ctx.header("x-user-token")
    if user_token is not None and decode_jwt(user_token.strip()) is None:
        return [ErrorRef("EXEG-0501-401", {"headerName": "x-user-token"})]
    return []
