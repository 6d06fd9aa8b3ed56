"""Adobe Pass REST v1 answers in XML or JSON, as the client asked.

The docs name three ways to ask (Accept, `format=`, a `.xml`/`.json` suffix) and warn that
conflicting ones "may result in errors or undesirable output"; we take the most explicit one
(suffix, then `format=`, then Accept). With none, the answer is JSON (`options.default_format`; the
scenario file says why).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape as _html_escape
from typing import Any

from mockserver.engine.render import OMIT

JSON, XML = "json", "xml"
CONTENT_TYPES = {JSON: "application/json;charset=UTF-8", XML: "application/xml;charset=UTF-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
# A list member becomes repeated elements of its own name (<mvpd>...</mvpd><mvpd>...</mvpd>), or, when
# named here, a wrapper element holding items of this name. (Preauthorize's <resource> elements come
# straight under its <resources> root: it names its list `resource` in XML.)
ITEM_NAMES = {"encrypted": "property"}


def split_suffix(path: str) -> tuple[str, str | None]:
    """`/regcode.json` -> (`/regcode`, "json"); a path without one is returned as it is."""
    for fmt in (JSON, XML):
        if path.endswith("." + fmt) and len(path) > len(fmt) + 2:
            return path[: -len(fmt) - 1], fmt
    return path, None


def from_param(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in (JSON, XML) else None


def from_accept(accept: str | None) -> str | None:
    """JSON or XML, whichever the Accept header ranks higher by its q values (RFC 9110 §12.5.1: a
    Spring service negotiates so); the first named on a tie; q=0 is "not acceptable". Wildcards name
    neither."""
    best: tuple[float, str] | None = None
    for media_range in (accept or "").lower().split(","):
        media, *params = (part.strip() for part in media_range.split(";"))
        if media.endswith("/json") or media.endswith("+json"):
            fmt = JSON
        elif media.endswith("/xml") or media.endswith("+xml"):
            fmt = XML
        else:
            continue
        weight = next((_quality(p[2:]) for p in params if p.startswith("q=")), 1.0)
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, fmt)
    return best[1] if best else None


def _quality(text: str) -> float:
    try:
        return min(max(float(text), 0.0), 1.0)
    except ValueError:
        return 1.0


def choose(suffix: str | None, param: str | None, accept: str | None, default: str) -> str:
    return suffix or from_param(param) or from_accept(accept) or default


def encode(fmt: str, root: str, data: Mapping[str, Any], root_attributes: str = "") -> str:
    """One answer body: JSON members in the given order, or XML elements under `root`."""
    if fmt == JSON:
        return _json(data)
    attributes = f" {root_attributes}" if root_attributes else ""
    return f"{XML_DECLARATION}<{root}{attributes}>{_xml_members(data)}</{root}>"


def _json(value: Any) -> str:
    return json.dumps(_drop_omitted(value), ensure_ascii=False, separators=(",", ":"))


def _drop_omitted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_omitted(v) for k, v in value.items() if v is not OMIT}
    if isinstance(value, list | tuple):
        return [_drop_omitted(v) for v in value if v is not OMIT]
    return value


# XML 1.0 has no way to write these (not even as &#1;): a value sent with one comes back with U+FFFD there,
# so the answer stays well-formed XML
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """XML character data (html.escape: xml.sax.saxutils would pull urllib and ssl in at start-up)."""
    return _NOT_XML.sub("\ufffd", _html_escape(text, quote=False))


def _xml_members(data: Mapping[str, Any]) -> str:
    return "".join(_xml_element(str(name), value) for name, value in data.items())


def _xml_element(name: str, value: Any) -> str:
    if value is None or value is OMIT:
        return ""
    if isinstance(value, Mapping):
        return f"<{name}>{_xml_members(value)}</{name}>"
    if isinstance(value, list | tuple):
        item = ITEM_NAMES.get(name, name)
        inner = "".join(_xml_element(item, v) for v in value)
        return inner if item == name else f"<{name}>{inner}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"
