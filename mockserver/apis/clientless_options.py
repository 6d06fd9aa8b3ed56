"""Clientless options that a file could give and the module could only read as something else: refused at load.

The loader checks each option's kind and sign against the bundled value (`throttle_rate: fast`, `authn_ttl_s: -1`)
and that an integer option is written as one; what it cannot know is checked here: a value outside the few the
module knows (`default_format: yaml` was answered as JSON), or a number the module cannot work with
(`regcode_length: 0` spun the server forever). Each is a problem with the file, line and field that gave it, naming
the values that are valid. Kinds the loader tells (a string where the bundled value is a number) are not told again.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

from mockserver.apis import OptionProblems, options_check
from mockserver.apis.clientless_format import JSON, XML
from mockserver.apis.clientless_state import PRODUCTION, STAGING

THROTTLE_STATUSES = (403, 429)  # the seed's answer, and the newer throttling page's
# A reg code is typed by a person on a second screen: the pages' codes have 7 characters (IYQD5JQ). Under 4, a
# session soon holds every code of the length (36 of one character: the 37th request spun forever); over 32, no
# one types it.
REGCODE_LENGTHS = range(4, 33)
ENVIRONMENTS = (PRODUCTION, STAGING)  # as `clientless.environment` reads them: in any case
USER_ENVIRONMENTS = ("any", *ENVIRONMENTS)  # a test account's, as `clientless_mvpd.login_error` reads them
# Lives in seconds, each made an `expires` in epoch milliseconds (max_regcode_ttl_s through the `ttl` it lets a
# request ask). Ten years is longer than any token of the pages lives (authN: 30 days by default) and keeps
# `expires` a 13-digit number of milliseconds, as clients read it: `authn_ttl_s: 10**30` answered a 34-digit one,
# past JavaScript's exact integers and any 64-bit field.
TTL_OPTIONS = ("regcode_ttl_s", "max_regcode_ttl_s", "authn_ttl_s", "authz_ttl_s", "temp_pass_ttl_s",
               "media_token_ttl_s", "dcr_token_ttl_s")
MAX_TTL_S = 10 * 365 * 86400


@options_check("clientless")
def check_options(options: Mapping[str, Any], bundled: Mapping[str, Any], error_ids: Collection[str]) -> OptionProblems:
    """Each option read as one of a few values, or as a number in a range: anything else was taken by `validate`
    and then answered as the default (`default_format: yaml` gave JSON, `throttle_status: 500` gave 403), or broke
    the server (`regcode_length: 0` never finished its request)."""
    found: OptionProblems = []
    if options.get("default_format", JSON) not in (JSON, XML):
        found.append((("default_format",), f"{options['default_format']!r} is not a format of the API (one of: "
                      f"{JSON}, {XML})"))
    status = options.get("throttle_status", 403)
    if isinstance(status, bool) or status not in THROTTLE_STATUSES:
        found.append((("throttle_status",), f"{status!r} is not a throttled answer's status (one of: "
                      f"{', '.join(map(str, THROTTLE_STATUSES))})"))
    environment = options.get("environment", PRODUCTION)
    if isinstance(environment, str) and environment.lower() not in ENVIRONMENTS:  # `stage`, "": production
        found.append((("environment",), f"{environment!r} is not an environment (one of: {', '.join(ENVIRONMENTS)}; "
                      "a Host that is neither real host stands for it)"))
    length = options.get("regcode_length", 7)
    if _whole(length) and length not in REGCODE_LENGTHS:
        found.append((("regcode_length",), f"{length} is not a reg code's length: {REGCODE_LENGTHS.start} to "
                      f"{REGCODE_LENGTHS.stop - 1} characters (the pages' codes have 7)"))
    for name in TTL_OPTIONS:
        ttl = options.get(name)
        if _number(ttl) and MAX_TTL_S < ttl < math.inf:  # inf and nan are the loader's to tell; 10**400 no float
            found.append(((name,), f"{ttl!r} seconds is more than ten years ({MAX_TTL_S}): an expiry would be no "
                          "13-digit epoch-millisecond time"))
    found += _user_problems(options.get("users"))
    found += _secret_problems(options.get("requestor_secrets"))
    return found


def _user_problems(users: Any) -> OptionProblems:
    """A test account's `environment`: another one than any, production or staging (`nowhere`) locked the account out
    of both, as the wrong environment's login, silently. null is as if not given: any. Kinds are the loader's."""
    found: OptionProblems = []
    for index, user in enumerate(users if isinstance(users, list) else []):
        environment = user.get("environment") if isinstance(user, Mapping) else None
        if isinstance(environment, str) and environment.lower() not in USER_ENVIRONMENTS:
            found.append((("users", index, "environment"), f"{environment!r} is not an account's environment (one "
                          f"of: {', '.join(USER_ENVIRONMENTS)}): no Host could sign it in"))
    return found


def _secret_problems(secrets: Any) -> OptionProblems:
    """requestor id -> non-empty text. A null or empty secret turned the requestor's signature check off without a
    word (the YAML comment: checked "when set"); a list was checked against its Python text. To take a requestor's
    signatures unchecked, leave it out. (A key is text as written: `12345:` is the requestor "12345".)"""
    if not isinstance(secrets, Mapping):  # its kind is the loader's; null: none
        return []
    found: OptionProblems = []
    for requestor, secret in secrets.items():
        if not isinstance(secret, str) or not secret:
            shown = "null" if secret is None else repr(secret)
            found.append((("requestor_secrets", requestor), f"{shown} is not a secret: the requestor's HMAC-SHA1 "
                          "secret is non-empty text (quote a number); leave the requestor out to take its signatures "
                          "unchecked"))
    return found


def _whole(value: Any) -> bool:
    """An integer, not true or false: another kind is the loader's to tell (`_integer_problems`)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
