"""Braze's options that a file could give and the module could only read as something else: refused at load.

The loader checks each option's kind and sign against the bundled value (`limit: five`, `window_s: -3`); what it
cannot know is checked here: a window of 0 s (a limit never reached), a non-integer limit (read as the integer
below it), a group no `rate_limit.NAME` defines (the default limit instead), a time zone no database knows (UTC
instead). Each is a problem with the file, line and field that gave it, naming the values that are valid.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mockserver.apis import OptionProblems, options_check

RATE_LIMIT = "rate_limit."  # `rate_limit.GROUP: {limit, window_s}`, one option per endpoint group
LIMIT_KEYS = ("limit", "window_s")
GROUP_KEYS = ("group", "broadcast")  # a path's group as a mapping: {group, broadcast: the broadcast calls' group}


@options_check("braze", own_shapes=("api_keys", "rate_limit_groups"))
def option_problems(options: Mapping[str, Any], bundled: Mapping[str, Any],
                    error_ids: Collection[str]) -> OptionProblems:
    found: OptionProblems = _key_problems(options.get("api_keys"))
    for name, spec in options.items():
        if name.startswith(RATE_LIMIT):
            found += _limit_problems(name, spec, bundled.get(name))
    groups = sorted(name.removeprefix(RATE_LIMIT) for name in options if name.startswith(RATE_LIMIT))
    found += _group_problems(options.get("rate_limit_groups"), groups)
    found += _zone_problems(options.get("company_time_zone"))
    return found


def _limit_problems(name: str, spec: Any, before: Any) -> OptionProblems:
    """`{limit, window_s}`: a whole number of requests (0: every one refused) per a window of more than 0 s.

    A file's value replaces the one before it whole, as every option does; one that gives `limit` alone is refused
    rather than completed with the bundled window: the windows go from 3 s to a day, and a test counting to its
    limit has to know which one it runs in (to freeze the clock, or advance it past the window's end), so the file
    says it. The problem names the bundled value to copy.
    """
    if spec is None:  # null says nothing: the group counts against rate_limit.default, as one without an option
        return []
    if not isinstance(spec, Mapping):
        return [((name,), f"{spec!r} where the option takes a mapping {{limit: N, window_s: SECONDS}}")]
    found: OptionProblems = []
    for key in spec:
        if key not in LIMIT_KEYS:
            close = difflib.get_close_matches(str(key), LIMIT_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            found.append(((name, str(key)), f"unknown key ({hint}a limit takes: limit, window_s)"))
    missing = [key for key in LIMIT_KEYS if key not in spec]
    if missing:
        bundled = (f"; the bundled one is {{limit: {before['limit']}, window_s: {before['window_s']}}}"
                   if isinstance(before, Mapping) and all(k in before for k in LIMIT_KEYS) else "")
        found.append(((name,), f"needs {' and '.join(missing)}: a file's value replaces the one before it whole, and "
                               f"a limit is `limit` requests per `window_s` seconds{bundled}"))
    limit, window = spec.get("limit"), spec.get("window_s")
    if "limit" in spec and not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0):
        # 5.0 too, as every option a module reads as an integer (load._integer_problems): written without a point
        found.append(((name, "limit"), f"{limit!r} is not a whole number of requests (0 or more, without a decimal "
                                       "point; 0: every request is refused)"))
    if "window_s" in spec and not (_number(window) and math.isfinite(window) and window > 0):
        found.append(((name, "window_s"), f"{window!r} is no window: seconds, a finite number more than 0 (in a "
                                          "window of 0 s the limit is never reached)"))
    return found


def _key_problems(keys: Any) -> OptionProblems:
    """`api_keys`, in either form braze.yaml gives: {KEY: [permission, ...] or "*"}, or a plain list of keys (every
    permission). The loader does not hold it to the bundled mapping (`apis.options_check(own_shapes=...)`): the
    list form was refused as "a list where the option takes a mapping". null: none listed."""
    if keys is None or isinstance(keys, list) and all(isinstance(key, str | int) for key in keys):
        return []
    if not isinstance(keys, Mapping):
        return [(("api_keys",), f"{keys!r} where api_keys takes {{KEY: [permission, ...] or '*'}}, or a list of "
                                "keys (each with every permission)")]
    return [(("api_keys", str(key)), f"{value!r} where a key takes a list of permissions, or '*' for all")
            for key, value in keys.items() if not (value is None or value == "*" or _texts(value))]


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _group_problems(paths: Any, groups: list[str]) -> OptionProblems:
    """Each path's group, a name or {group, broadcast}, must be one a `rate_limit.GROUP` option defines: another
    counted against the default limit, silently. Either form is taken over the bundled one's (own_shapes)."""
    if paths is None:  # none: every path counts against the default limit
        return []
    if not isinstance(paths, Mapping):
        return [(("rate_limit_groups",), f"{paths!r} where rate_limit_groups takes {{PATH: group}} (or {{PATH: "
                                         "{group, broadcast}}})")]
    found: OptionProblems = []
    known = ", ".join(groups)
    for path, spec in paths.items():
        at: tuple[str, ...] = ("rate_limit_groups", str(path))
        if isinstance(spec, str):
            named = {at: spec}
        elif isinstance(spec, Mapping):
            named = {(*at, str(key)): group for key, group in spec.items()}
        else:
            found.append((at, f"{spec!r} where a group name or {{group, broadcast}} is wanted (groups: {known})"))
            continue
        for where, group in named.items():
            if len(where) > len(at) and where[-1] not in GROUP_KEYS:
                found.append((where, "unknown key (a path's groups take: group, broadcast)"))
            elif not isinstance(group, str) or group not in groups:
                close = difflib.get_close_matches(str(group), groups, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                found.append((where, f"unknown group {group!r} ({hint}the groups are those of the rate_limit.GROUP "
                                     f"options: {known})"))
    return found


def _zone_problems(name: Any) -> OptionProblems:
    """An IANA name the time zone database knows (`Europe/Paris`); `UTC` needs no database. null: UTC."""
    if name is None or name == "UTC":
        return []
    if isinstance(name, str):
        try:
            ZoneInfo(name)
            return []
        except (ZoneInfoNotFoundError, ValueError, OSError):  # `America`: a folder of the database, not a zone
            pass
    known = available_timezones()
    if not known:
        return [(("company_time_zone",), f"unknown time zone {name!r}: this machine has no time zone database "
                                         "(install the tzdata package), so only UTC is known")]
    close = difflib.get_close_matches(str(name), sorted(known), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return [(("company_time_zone",), f"unknown time zone {name!r} ({hint}an IANA name such as Europe/Paris, "
                                     "America/New_York or UTC)")]


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
