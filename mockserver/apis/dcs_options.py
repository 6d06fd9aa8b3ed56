"""DCS options a file could give and the module could only read as something else: refused at load.

The loader checks each option's kind and sign against the bundled value (`org_ids: x`, `namespace_limit: -1`);
what it cannot know is checked here: a format that is no regular expression (every call naming an org, or a
device id of that data source, was the mock's 500, or the format silently checked nothing). Each is a problem
with the file, line and field that gave it, naming the values that are valid.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from mockserver.apis import OptionProblems, options_check

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits: an id as the DCS reads one from the request


@lru_cache(maxsize=64)
def pattern(text: str) -> re.Pattern[str]:
    """A format of the options, compiled once: the loader refused one that does not compile (`regex_problem`)."""
    return re.compile(text)


def regex_problem(text: str) -> str | None:
    """Why `text` is no regular expression, or None. `a{4294967296}` is an OverflowError, a deep nesting of
    groups a RecursionError: neither is `re.error`, and each was a 500 on the request that met it."""
    try:
        re.compile(text)
    except (re.error, OverflowError, RecursionError) as exc:
        return f"not a regular expression: {exc}"
    return None


@options_check("dcs")
def option_problems(options: Mapping[str, Any], bundled: Mapping[str, Any],
                    error_ids: Collection[str]) -> OptionProblems:
    """Each check below names what the module reads; a value of the wrong kind where the bundled file has one is
    the loader's (`_kind_problems`), not told twice."""
    return _pattern_problems(options) + _default_partner_problems(options, bundled)


def _default_partner_problems(options: Mapping[str, Any], bundled: Mapping[str, Any]) -> OptionProblems:
    """`default_partner` names a partner of `partners`: every call through /dcs, or to a host that is not
    `<alias>.demdex.net`, is that partner's, and one the file does not list answered code 1 to each of them. Told
    at `partners` when the user's own list left out the bundled default, at `default_partner` otherwise."""
    partners, default = options.get("partners"), options.get("default_partner")
    names = [str(name) for name in partners] if isinstance(partners, Mapping) else []
    if isinstance(default, str) and default in names:
        return []
    listed = ", ".join(names) or "none"
    why = "every call through /dcs, and to a host that is not <alias>.demdex.net, would answer code 1"
    if partners != bundled.get("partners") and default == bundled.get("default_partner"):  # a list of one's own
        return [(("partners",), f"default_partner {default!r} is not one of them ({listed}): {why} (set "
                                "default_partner to one of yours)")]
    shown = "null" if default is None else repr(default)
    return [(("default_partner",), f"{shown} is not one of partners ({listed}): {why}")]


def _pattern_problems(options: Mapping[str, Any]) -> OptionProblems:
    """`org_id_pattern` and the formats of `global_device_ids`: regular expressions matched against a whole value
    (`re.fullmatch`), compiled at load rather than on the first request that needs one."""
    found: OptionProblems = []
    org = options.get("org_id_pattern")
    if isinstance(org, str):  # another kind is the loader's; null or '': only org_ids are known
        why = regex_problem(org)
        if why is not None:
            found.append((("org_id_pattern",), f"{why} (a Python regular expression, matched against the whole "
                                               "d_orgid; null for none: only org_ids are known)"))
    formats = options.get("global_device_ids")
    for source, text in formats.items() if isinstance(formats, Mapping) else ():
        at: tuple[str, ...] = ("global_device_ids", str(source))
        if not _DIGITS.fullmatch(str(source)):  # DSID_20915 is an integration code: the key is the id it names
            found.append((at, f"{source!r} is not a data source id: its digits, as '20915' (the IDFA's), which "
                              "d_cid sends and DSID_20915 or an integration_codes entry names"))
        if text is None:
            continue  # no format: the data source's ids are not checked
        why = regex_problem(text) if isinstance(text, str) else f"{text!r} where a format takes text"
        if why is not None:
            found.append((at, f"{why} (a Python regular expression, matched against the whole id; null for no "
                              "format)"))
    return found
