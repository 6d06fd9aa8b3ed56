"""DCS options a file could give and the module could only read as something else: refused at load.

The loader checks each option's kind and sign against the bundled value (`org_ids: x`, `namespace_limit: -1`);
what it cannot know is checked here: a format that is no regular expression (every call naming an org, or a
device id of that data source, was the mock's 500, or the format silently checked nothing). Each is a problem
with the file, line and field that gave it, naming the values that are valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from mockserver.apis import OptionProblems, options_check, unknown_key
from mockserver.engine.match import REGEX_ERRORS

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits: an id as the DCS reads one from the request
_COUNTRY = re.compile(r"[A-Za-z]{2}")  # what X-Mock-Country takes (dcs._mock_headers), either case
# What the module reads of a partner (dcs.py, dcs_ids.py, dcs_view.py): the PID of its messages, the Referer hosts
# it allows (109), the countries it blocks (198), the data sources it owns (302).
PARTNER_KEYS = ("id", "referers", "blocked_countries", "data_sources")
LIST_SAMPLES = {"referers": "[example.com, '*.example.com']", "blocked_countries": "[AQ]",
                "data_sources": "[39217, 123]"}
# The IAB TCF plug-in's needs (`tcf`): a vendor id of the TC string's 16-bit vendor fields, the purposes TCF v2.2
# defines (1 to 11; the string's 24 purpose bits past 11 are reserved); aam-iab-plugin: vendor 565, purposes 1, 10.
TCF_KEYS = ("vendor_id", "purposes")
MAX_VENDOR_ID = 65535
MAX_CMP_ID = 4095  # a TC string's CmpId is 12 bits
PURPOSES = range(1, 12)
MONITORING_KEYS = ("max_requests", "window_s")
MIN_WINDOW_S = 0.001  # a millisecond: finer than one client's calls are apart; 1e-320 s made the window's number inf
LIST_NONE = {"referers": "any referer", "blocked_countries": "none blocked", "data_sources": "any data source"}


@lru_cache(maxsize=64)
def pattern(text: str) -> re.Pattern[str]:
    """A format of the options, compiled once: the loader refused one that does not compile (`regex_problem`)."""
    return re.compile(text)


def deleted_at(value: Any) -> float | None:
    """A Global CMP List `deletedDate` as an instant (null: not deleted); ValueError for text that is no ISO 8601
    date and time (the loader refuses it: `_gcl_problems`), or a YAML date or timestamp. Without an offset it is
    UTC, as the IAB list writes its dates (`2020-08-15T00:00:00Z`), not the machine's time zone."""
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads an unquoted timestamp as one
        moment = value
    elif isinstance(value, date):  # and an unquoted date: its midnight
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"{value!r} is not text")
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def regex_problem(text: str) -> str | None:
    """Why `text` is no regular expression, or None. `a{4294967296}` is an OverflowError, a deep nesting of
    groups a RecursionError: neither is `re.error`, and each was a 500 on the request that met it."""
    try:
        re.compile(text)
    except REGEX_ERRORS as exc:
        return f"not a regular expression: {exc}"
    return None


@options_check("dcs")
def option_problems(options: Mapping[str, Any], bundled: Mapping[str, Any],
                    error_ids: Collection[str]) -> OptionProblems:
    """Each check below names what the module reads; a value of the wrong kind where the bundled file has one is
    the loader's (`_kind_problems`), not told twice."""
    found = _pattern_problems(options) + _default_partner_problems(options, bundled)
    partners = options.get("partners")
    for name, partner in partners.items() if isinstance(partners, Mapping) else ():
        found += [(("partners", str(name), *path), message) for path, message in _partner_problems(partner)]
    found += [(("blocked_countries", *path), message)
              for path, message in _country_problems(options.get("blocked_countries"))]
    found += [(("tcf", *path), message) for path, message in _tcf_problems(options.get("tcf"))]
    found += _region_problems(options.get("regions"))
    found += _gcl_problems(options.get("gcl"))
    found += [(("id_monitoring", *path), message)
              for path, message in _monitoring_problems(options.get("id_monitoring"))]
    return found


def _monitoring_problems(monitoring: Any) -> OptionProblems:
    """ID monitoring counts an id's calls in fixed windows (`now // window_s`): a window under a millisecond made
    that number infinite (1e-320: a 500 on every declared id), one of 0 s silently turned monitoring off (which is
    max_requests: 0's to say), and max_requests is read as an integer (1.5 was 1). null, .nan and .inf are the
    loader's."""
    if not isinstance(monitoring, Mapping):
        return []
    found: OptionProblems = []
    for key, value in monitoring.items():
        key = str(key)
        if key not in MONITORING_KEYS:
            found.append(((key,), unknown_key(key, MONITORING_KEYS, "id_monitoring")))
        elif not _number(value) or not math.isfinite(value):
            continue  # another kind, null, .nan or .inf: the loader's
        elif key == "window_s" and value < MIN_WINDOW_S:
            found.append(((key,), f"{value!r} is no window: seconds, {MIN_WINDOW_S} (a millisecond) or more "
                                  "(max_requests: 0 turns ID monitoring off)"))
        elif key == "max_requests" and not isinstance(value, int):
            found.append(((key,), f"{value!r} is not a number of requests: a whole number, without a decimal point "
                                  "(0 turns ID monitoring off)"))
    return found


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _gcl_problems(gcl: Any) -> OptionProblems:
    """The Global CMP List: a key is a CMP id as a TC string holds it (the module looks up `str(cmp_id)`: `010`
    or `abc` was never listed, 313), an entry a mapping or null (listed), its `deletedDate` a date the module
    parses (`not a date` was never deleted, silently: no 314). Other keys of an IAB list entry (name,
    isCommercial ...) are taken and not read."""
    if not isinstance(gcl, Mapping):  # another kind is the loader's; null: no CMP listed
        return []
    found: OptionProblems = []
    for key, entry in gcl.items():
        at: tuple[str, ...] = ("gcl", str(key))
        if not (_DIGITS.fullmatch(str(key)) and not str(key).startswith("0") and int(str(key)[:5]) <= MAX_CMP_ID):
            found.append((at, f"{str(key)!r} is not a CMP id: a whole number from 1 to {MAX_CMP_ID} (a TC string's "
                              "12-bit CmpId), without leading zeros"))
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            found.append((at, f"{entry!r} where a CMP takes a mapping, {{}} or {{deletedDate: ...}} (or nothing: "
                              "listed, not deleted)"))
            continue
        try:
            deleted_at(entry.get("deletedDate"))
        except ValueError:
            found.append(((*at, "deletedDate"), f"{entry.get('deletedDate')!r} is not a date: ISO 8601, as "
                                                 "2020-08-15T00:00:00Z (UTC without an offset; null: not deleted)"))
    return found


def _region_problems(regions: Any) -> OptionProblems:
    """A key of `regions` is a dcs_region, the number a call sends (`dcs_region=3`) and the answer names: the
    module compares the call's value with the key as written, then reads it as an integer, so `abc: x` was a 500
    on the call sending `dcs_region=abc` (and `3.5`, `-1`, `true` as much; past 4,300 digits, Python's `int()`
    refuses even digits); the value, the region's host name, is not read."""
    if not isinstance(regions, Mapping):  # another kind is the loader's; null: none known
        return []
    return [(("regions", str(key)), f"{str(key)!r} is not a region id: a whole number of 1 to 9 digits (ASCII, as "
                                    "7), the dcs_region a call sends and the answer names")
            for key in regions if not (_DIGITS.fullmatch(str(key)) and len(str(key)) <= 9)]


def _tcf_problems(tcf: Any) -> OptionProblems:
    """What the IAB TCF plug-in needs consent for: read as whole numbers (`int()`), so `565.5` was vendor 565,
    `purposes: [1.5]` purpose 1, a string a 500 on every `gdpr=1` call, a vendor or purpose no TC string can
    hold a 315 on every one."""
    if not isinstance(tcf, Mapping):  # another kind is the loader's; null: the bundled needs
        return []
    found: OptionProblems = []
    for key, value in tcf.items():
        key = str(key)
        if key not in TCF_KEYS:
            found.append(((key,), unknown_key(key, TCF_KEYS, "tcf")))
        elif key == "vendor_id":
            if not (_whole(value) and 1 <= value <= MAX_VENDOR_ID):
                found.append(((key,), f"{_shown(value)} is not a vendor id: a whole number from 1 to {MAX_VENDOR_ID} "
                                      "(a TC string's vendor fields are 16 bits; Audience Manager is 565)"))
        elif not isinstance(value, list):
            found.append(((key,), f"{_shown(value)} where purposes takes a list of purpose numbers, as [1, 10] ([] "
                                  "for the vendor's consent alone)"))
        else:
            found += [((key, i), f"{_shown(purpose)} is not a purpose: a whole number from 1 to {PURPOSES[-1]} "
                                 "(TCF v2.2's purposes; the plug-in needs 1 and 10)")
                      for i, purpose in enumerate(value) if not (_whole(purpose) and purpose in PURPOSES)]
    return found


def _partner_problems(partner: Any) -> OptionProblems:
    """One partner's settings: a mapping of PARTNER_KEYS, each null (as if left out) or of its kind, or nothing at
    all. The loader checks a key's kind only where the bundled partner of that name has the key: `referers: x` on
    `partner` (which has none) or on a new partner was read one character at a time, `data_sources: 123` was a 500
    on every declared id, and a misspelt key (`referer`) silently allowed every page."""
    if partner is None:
        return []  # `mine:`, a partner that exists with no settings
    if not isinstance(partner, Mapping):
        return [((), f"{partner!r} where a partner takes a mapping of {', '.join(PARTNER_KEYS)} (or nothing: a "
                     "partner with no settings)")]
    found: OptionProblems = []
    for key, value in partner.items():
        key = str(key)
        if key not in PARTNER_KEYS:
            found.append(((key,), unknown_key(key, PARTNER_KEYS, "a partner")))
        elif key == "id":
            if not _whole(value):  # null too: the messages would name partner None (left out, they name the alias)
                found.append(((key,), f"{_shown(value)} where a partner's id (its PID, which code 109 names) is a "
                                      "whole number, as 1352 (leave it out to name the partner by its alias)"))
        elif value is None:
            continue  # as if left out: any referer, no country blocked, any data source
        elif not isinstance(value, list):
            found.append(((key,), f"{value!r} where {key} takes a list, as {LIST_SAMPLES[key]} (null or left out: "
                                  f"{LIST_NONE[key]})"))
        elif key == "referers":
            found += [((key, i), f"{host!r} where a referer is a host name or pattern (text, as '*.example.com')")
                      for i, host in enumerate(value) if not isinstance(host, str)]
        elif key == "blocked_countries":
            found += [((key, *path), message) for path, message in _country_problems(value)]
        else:  # data_sources
            found += [((key, i), f"{source!r} where a data source is its id, a whole number (as 39217)")
                      for i, source in enumerate(value) if not _whole(source)]
    return found


def _country_problems(countries: Any) -> OptionProblems:
    """Country codes as X-Mock-Country carries them: two letters of ISO 3166-1 (`Iran` or `IRN` never matched)."""
    if not isinstance(countries, list):  # another kind is the loader's (top level) or _partner_problems'
        return []
    return [((i,), f"{code!r} is not a country code: two letters of ISO 3166-1, as IR (what X-Mock-Country sends)")
            for i, code in enumerate(countries) if not (isinstance(code, str) and _COUNTRY.fullmatch(code.strip()))]


def _whole(value: Any) -> bool:
    """A whole number of 0 or more, written without a point (YAML's `yes` is no number)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _shown(value: Any) -> str:
    return "null" if value is None else repr(value)


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
    return [(("default_partner",), f"{_shown(default)} is not one of partners ({listed}): {why}")]


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
