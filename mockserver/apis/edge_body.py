"""Edge request bodies: which input error a parsed body earns, and what it asks for.

The shapes are the API reference's: v2 interact takes one `event`, v1 interact and both collects
take `events[]`, set-consent takes `consent[]`, identity/acquire takes only optional `xdm` and `query`.
Each function reads the parsed JSON only; the caller (apis/edge.py) decides when they run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from mockserver.engine.outcome import ErrorRef

CONSENT = "privacy/set-consent"
ACQUIRE = "identity/acquire"
# The report line of a wrong version for a standard configured without its own `bad_version` message.
BAD_VERSION = "Unsupported version '{version}' for standard '{standard}' at index {index}"


def events_of(body: dict[str, Any], endpoint: str, version: int) -> list[Any]:
    """The events a body carries: one for v2 interact, `events[]` otherwise, none for consent or acquire."""
    if endpoint in (CONSENT, ACQUIRE):
        return []
    if endpoint == "interact" and version == 2:
        return [body.get("event")]
    events = body.get("events")
    return events if isinstance(events, list) else []


def shape_error(body: dict[str, Any], endpoint: str, version: int) -> ErrorRef | None:
    """EXEG-0103 (missing) or EXEG-0102 (wrong type) for the first field out of shape."""
    kind: type
    if endpoint == ACQUIRE:
        return _acquire_shape_error(body)
    if endpoint == CONSENT:
        key, kind = "consent", list
    elif endpoint == "interact" and version == 2:
        key, kind = "event", dict
    else:
        key, kind = "events", list
    value = body.get(key)
    if value is None or (kind is list and value == []):
        return ErrorRef("EXEG-0103-400", {"fieldPath": key})
    if not isinstance(value, kind):
        return ErrorRef("EXEG-0102-400", {"fieldPath": key})
    if endpoint == CONSENT:
        return None
    # the API reference's request schemas: a request's own `query` (EventQuery) and, in a v1 batch, `xdm`
    # (XdmContextData) are objects, as an event's are
    for part in ("query", "xdm") if version == 1 else ("query",):
        if body.get(part) is not None and not isinstance(body[part], dict):  # null: not given, as `meta`
            return ErrorRef("EXEG-0102-400", {"fieldPath": part})
    for index, event in enumerate(events_of(body, endpoint, version)):
        path = key if kind is dict else f"{key}[{index}]"
        if not isinstance(event, dict):
            return ErrorRef("EXEG-0102-400", {"fieldPath": path})
        for part in ("xdm", "data", "query"):
            if part in event and not isinstance(event[part], dict):
                return ErrorRef("EXEG-0102-400", {"fieldPath": f"{path}.{part}"})
    return None


def _acquire_shape_error(body: dict[str, Any]) -> ErrorRef | None:
    """identity/acquire (IdentityAcquireRequest): nothing required; `xdm` and `query` are objects."""
    for key in ("xdm", "query"):
        if key in body and not isinstance(body[key], dict):
            return ErrorRef("EXEG-0102-400", {"fieldPath": key})
    return None


def overrides_error(body: dict[str, Any]) -> ErrorRef | None:
    """EXEG-0113: `meta.configOverrides` (the Web SDK's datastream overrides) must be an object."""
    meta = body.get("meta")
    if meta is not None and not isinstance(meta, dict):
        return ErrorRef("EXEG-0102-400", {"fieldPath": "meta"})
    if isinstance(meta, dict) and "configOverrides" in meta and not isinstance(meta["configOverrides"], dict):
        return ErrorRef("EXEG-0113-400")
    return None


def consent_report(consent: list[Any], standards: Mapping[str, Any], unknown: str, not_object: str) -> list[str]:
    """The report lines of EXEG-0104 for a consent array, in the doc's order (version, then value)."""
    lines: list[str] = []
    for index, entry in enumerate(consent):
        if not isinstance(entry, dict):
            lines.append(not_object.format(index=index))
            continue
        standard = entry.get("standard")
        rule = standards.get(standard) if isinstance(standard, str) else None
        if not isinstance(rule, Mapping):
            lines.append(unknown.format(index=index, standard=standard))
            continue
        value = entry.get("value")
        if str(entry.get("version")) not in [str(v) for v in rule.get("versions") or []] or not _value_fits(
                (rule.get("value_keys") or {}).get(str(entry.get("version"))), value):
            lines.append(str(rule.get("bad_version", BAD_VERSION)).format(index=index, standard=standard,
                                                                          version=entry.get("version")))
        if "empty_value" in rule and (not isinstance(value, str) or not value.strip()):
            lines.append(str(rule["empty_value"]).format(index=index))
    return lines


def _value_fits(keys: Any, value: Any) -> bool:
    """A version whose value must name one of its own purposes (Adobe 2.0: collect, share, ...) gets one."""
    if not isinstance(keys, list):
        return True
    return isinstance(value, dict) and any(key in value for key in keys)


def consent_choice(consent: Any) -> str | None:
    """"out" or "in" from Adobe consent entries (1.0: value.general; 2.0: value.collect.val)."""
    choice = None
    for entry in consent if isinstance(consent, list) else []:
        if not isinstance(entry, dict) or entry.get("standard") != "Adobe":
            continue
        value = entry.get("value")
        value = value if isinstance(value, dict) else {}
        collect = value.get("collect")
        general = value.get("general") or (collect.get("val") if isinstance(collect, dict) else None)
        if general in ("out", "n"):
            choice = "out"
        elif general in ("in", "y"):
            choice = "in"
    return choice


def _is_primary(item: Any) -> bool:
    flag = item.get("primary") if isinstance(item, dict) else None
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def _has_primary(*identity_maps: Any) -> bool:
    return any(
        _is_primary(item)
        for identity_map in identity_maps
        if isinstance(identity_map, dict)
        for items in identity_map.values()
        if isinstance(items, list)
        for item in items
    )


def missing_primary(body: dict[str, Any], events: list[Any]) -> ErrorRef | None:
    """EXEG-0306 for the first event whose identityMap (or the batch's xdm.identityMap) has no primary."""
    shared = body.get("xdm", {}).get("identityMap") if isinstance(body.get("xdm"), dict) else None
    for index, event in enumerate(events):
        xdm = event.get("xdm") if isinstance(event, dict) else None
        own = xdm.get("identityMap") if isinstance(xdm, dict) else None
        if not _has_primary(own, shared):
            return ErrorRef("EXEG-0306-400", {"index": index})
    return None


def sent_identity(body: dict[str, Any], events: list[Any], namespace: str) -> str | None:
    """The first id of `namespace` in an identityMap of the request (its own, as set-consent carries it,
    its xdm, then its events' xdm)."""
    holders = [body, body.get("xdm"), *(event.get("xdm") if isinstance(event, dict) else None for event in events)]
    for xdm in holders:
        identity_map = xdm.get("identityMap") if isinstance(xdm, dict) else None
        items = identity_map.get(namespace) if isinstance(identity_map, dict) else None
        for item in items if isinstance(items, list) else []:
            value = item.get("id") if isinstance(item, dict) else None
            if isinstance(value, str) and value:
                return value
    return None


def fpid_ecid(org: str, fpid: str) -> str:
    """The ECID an FPID is "deterministically translated into" (visitor-identification-fpid.md): the
    same for the same org and FPID, in every session and process (a hash, not the seeded generator)."""
    digest = hashlib.blake2b(f"{org}\n{fpid}".encode(), digest_size=16).digest()
    return str(int.from_bytes(digest, "big") % 10**38).zfill(38)


def fetched_namespaces(body: dict[str, Any], events: list[Any]) -> list[str]:
    """Namespaces asked in `query.identity.fetch`, of the request and of its events, in order."""
    found: list[str] = []
    for holder in [body, *events]:
        query = holder.get("query") if isinstance(holder, dict) else None
        identity = query.get("identity") if isinstance(query, dict) else None
        fetch = identity.get("fetch") if isinstance(identity, dict) else None
        for name in fetch if isinstance(fetch, list) else []:
            if isinstance(name, str) and name not in found:
                found.append(name)
    return found


def streaming_framing(body: Any) -> tuple[str, str] | None:
    """(recordSeparator, lineFeed) when `meta.konductorConfig.streaming` asks for a streamed answer.

    Adobe's mobile SDKs ask it on every request ({"enabled": true, "recordSeparator": "\\u0000",
    "lineFeed": "\\n"}) and read a 200/207 body as records `<separator><JSON><line feed>`: Android
    drops the first len(separator) characters of each record before parsing it, so an unframed body
    loses its opening brace. Their functional tests' captured answers have that framing."""
    meta = body.get("meta") if isinstance(body, dict) else None
    config = meta.get("konductorConfig") if isinstance(meta, dict) else None
    streaming = config.get("streaming") if isinstance(config, dict) else None
    if not isinstance(streaming, dict) or streaming.get("enabled") is not True:
        return None
    separator, line_feed = streaming.get("recordSeparator"), streaming.get("lineFeed")
    if isinstance(separator, str) and separator and isinstance(line_feed, str) and line_feed:
        return separator, line_feed
    return None


def stored_entry(body: Any, cookie_header: str | None, suffix: str) -> str | None:
    """The value of the kndctr_<org>_<suffix> entry the client sends back: in its Cookie header (a browser on a
    first-party domain), read first, else in `meta.state.entries` (the cookie of an earlier answer, as a server
    client returns it); None when the client brings none."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name.startswith("kndctr_") and name.endswith(suffix):
            return unquote(value)
    meta = body.get("meta") if isinstance(body, dict) else None
    state = meta.get("state") if isinstance(meta, dict) else None
    entries = state.get("entries") if isinstance(state, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        key = entry.get("key") if isinstance(entry, dict) else None
        if isinstance(key, str) and key.startswith("kndctr_") and key.endswith(suffix):
            value = entry.get("value")
            return value if isinstance(value, str) else ""
    return None


def stored_identity(body: Any, cookie_header: str | None = None) -> str | None:
    """The identity entry the client brings back; None for a visitor Edge has not identified yet."""
    return stored_entry(body, cookie_header, "_identity")
