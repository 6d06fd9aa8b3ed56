"""One DCS request as its checks and the scenario's templates read it (`dcs` in templates).

Built by the API's hook before routing, so answers asked by flag render the same way as natural
ones: the transport (JSON with `d_rtbd=json`, JSONP with `d_cb`, else the pixel), the documented
success body, and the placeholders of error messages filled from the request.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mockserver.apis.dcs_ids import CustomerId, declared
from mockserver.apis.dcs_query import Params, pairs
from mockserver.engine.fastexpr import trust

if TYPE_CHECKING:
    from mockserver.engine.context import RequestContext

DEMDEX = ".demdex.net"
# The 1x1 transparent GIF answered when the client did not ask for JSON ("a pixel").
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# AAM UUID and ECID: numeric, 38 digits in the documentation (39 is invalid: 101 / 102); shorter ones
# pass, as dcs-s2s-calls.md's own example sends d_uuid=123456789.
_AAM_ID = re.compile(r"[0-9]{1,38}")
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.\[\]]{0,127}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FORM = "application/x-www-form-urlencoded"
# What an error asked by flag names inside its sentence when the request holds no such value: the
# declared id of cid.md's example `d_cid=123%01456`, a page the partner's list does not hold, and an
# org id that is neither in options.org_ids nor of Adobe's form.
SAMPLES = {
    "customer": "456",
    "namespace": "123",
    "referer": "https://www.example.com/",
    "orgid": "UNKNOWNORG@AdobeOrg",
}

# click-data-pixels.md "Supported Macros": `%macro%` in a click call's d_rd takes the call's value of its key
# (absent: empty; gdpr and gdpr_consent "Default value is 0"); d_region, r_rand and d_uuid are the DCS's own.
CLICK_MACROS = {"d_adgroup": "d_adgroup", "d_bu": "d_bu", "d_campaign": "d_campaign", "d_creative": "d_creative",
                "d_id": "d_dpid", "d_dpuuid": "d_dpuuid", "d_mid": "d_mid", "d_placement": "d_placement",
                "d_site": "d_site", "d_src": "d_src", "gdpr_applies": "gdpr", "gdpr_consent": "gdpr_consent"}
_MACRO = re.compile(r"%(\w+)%")
_TCF_MACRO = re.compile(r"\$\{(GDPR|GDPR_CONSENT_[0-9]+)\}")  # the IAB TCF v2.2 macros of URL destinations
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # a Location header: ASCII, no space or control character


def _fill_tcf(value: Any, gdpr: tuple[str, str]) -> Any:
    """A URL destination with `${GDPR}` and `${GDPR_CONSENT_<vendor>}` filled, in its strings."""
    if isinstance(value, str):
        return _TCF_MACRO.sub(lambda m: gdpr[0 if m.group(1) == "GDPR" else 1], value)
    if isinstance(value, Mapping):
        return {key: _fill_tcf(item, gdpr) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_tcf(item, gdpr) for item in value]
    return value


def valid_aam_id(value: str) -> bool:
    return _AAM_ID.fullmatch(value) is not None


class DcsRequest:
    """Parsed once per request by the API's hook; values computed on first use."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.options: Mapping[str, Any] = ctx.options
        self.form = ctx.body if ctx.method == "POST" and ctx.content_type in ("", _FORM) else b""
        self.params = Params(pairs(ctx.raw_query) + pairs(self.form))
        self.host_header = ctx.header("host")
        self.alias, self.partner = self._partner()
        self.mapped_uuid: str | None = None  # the AAM UUID a declared id already maps to (profile check)
        self.cache: dict[str, Any] = {}  # what one check computes and a later one reads
        self._customer_ids: list[CustomerId] | None = None
        self._uuid: str | None = None
        self._tid: str | None = None

    def _partner(self) -> tuple[str, Mapping[str, Any] | None]:
        """`<alias>.demdex.net` names the partner; any other host is the default one. Through the /dcs prefix an
        alias the file does not list is the default partner too (issue 5: "requests through the /dcs prefix count
        as the default partner"): a server-side client sends its own `Host: <alias>.demdex.net`, which would be
        code 1 on every call; a listed alias still picks its partner there (109, 302). Code 1 is for a Host that
        reaches the DCS without the prefix (`Host: nobody.demdex.net`, GET /event)."""
        partners = self.options.get("partners")
        partners = partners if isinstance(partners, Mapping) else {}
        host = self.ctx.host
        default = str(self.options.get("default_partner", ""))
        alias = host[: -len(DEMDEX)] if host.endswith(DEMDEX) else default
        if alias not in partners and self._through_prefix():
            alias = default
        if alias not in partners:
            return alias, None
        found = partners[alias]
        return alias, found if isinstance(found, Mapping) else {}

    def _through_prefix(self) -> bool:
        """The request came through the API's prefix (`/dcs/event`), not mounted by its Host alone."""
        prefix = self.ctx.api.prefix
        return bool(prefix) and self.ctx.base_url.endswith(prefix)

    # -- what the request says -------------------------------------------------------------
    @property
    def customer_ids(self) -> list[CustomerId]:
        if self._customer_ids is None:
            self._customer_ids = declared(self.params)
        return self._customer_ids

    def cookie(self, name: str) -> str | None:
        for header in self.ctx.headers.get("cookie", []):
            for piece in header.split(";"):
                key, _, value = piece.strip().partition("=")
                if key == name:
                    return value
        return None

    @property
    def json(self) -> bool:
        return self.params.first("d_rtbd") == "json"

    @property
    def callback(self) -> str | None:
        name = self.params.first("d_cb")
        return name if name and _CALLBACK.match(name) else None

    @property
    def uuid(self) -> str:
        """The AAM UUID: as sent (d_uuid, then the demdex cookie), as mapped, or a new one."""
        if self._uuid is None:
            for candidate in (self.params.first("d_uuid"), self.cookie("demdex"), self.mapped_uuid):
                if candidate and valid_aam_id(candidate):
                    self._uuid = candidate
                    break
            else:
                self._uuid = str(self.ctx.generator.integer(1, 9)) + self.ctx.generator.digits(37)
        return self._uuid

    @property
    def tid(self) -> str:
        """The 12-character transaction id of every /event answer, e.g. `31ZpxW5bQGc=`."""
        if self._tid is None:
            self._tid = base64.b64encode(self.ctx.generator.randbytes(8)).decode()
        return self._tid

    @property
    def region(self) -> int:
        asked = self.params.first("dcs_region") or ""
        regions = {str(r) for r in self.options.get("regions") or {}}
        return int(asked) if asked in regions else int(self.options.get("region", 7))

    # -- what templates use ----------------------------------------------------------------
    @property
    def profile(self) -> dict[str, Any]:
        """The documented success body: stuff, uuid, dcs_region, [traits, segments,] tid[, dests]."""
        body: dict[str, Any] = {
            "stuff": list(self.options.get("stuff") or []),
            "uuid": self.uuid,
            "dcs_region": self.region,
        }
        if self.params.first("d_cts") in ("1", "2"):
            body["traits"] = list(self.options.get("traits") or [])
            body["segments"] = list(self.options.get("segments") or [])
        body["tid"] = self.tid
        if self.params.first("d_dst") == "1":
            dests = self.options.get("dests") or []
            gdpr = self.gdpr("") if dests else ("0", "")
            body["dests"] = [_fill_tcf(dest, gdpr) for dest in dests]
        return body

    def gdpr(self, consent_default: str) -> tuple[str, str]:
        """(gdpr applies, consent string) as the macros give them: as sent, and "0" and "" once the IAB TCF
        plug-in discarded the string (313, 314: "the ${GDPR} macro is set to 0 and the ${GDPR_CONSENT_XXX}
        macro is empty")."""
        from mockserver.apis.dcs import consent  # dcs.py reads this module's requests

        if any(e.id in ("313", "314") for e in consent(self)[1]):
            return "0", ""
        # into a URL: percent-encoded (a TC string is base64url, unchanged; anything else stays one parameter)
        return (quote(self.params.first("gdpr") or "0", safe=""),
                quote(self.params.first("gdpr_consent") or consent_default, safe=""))

    @property
    def redirect(self) -> str | None:
        """Where a click call (`d_event=click`) sends the browser: `d_rd`, its macros filled (click-data-pixels.md)."""
        if "redirect" not in self.cache:
            target = self.params.first("d_rd") if self.params.first("d_event") == "click" else None
            self.cache["redirect"] = quote(_MACRO.sub(self._macro, target), safe=_URL_SAFE) if target else None
        found: str | None = self.cache["redirect"]
        return found

    def _macro(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "d_region":
            return str(self.region)
        if name == "r_rand":
            return self.ctx.generator.digits(10)
        if name == "d_uuid":
            return self.uuid
        if name not in CLICK_MACROS:
            return match.group(0)
        if name.startswith("gdpr"):
            return self.gdpr("0")[0 if name == "gdpr_applies" else 1]  # "Default value is 0", both
        return self.params.first(CLICK_MACROS[name]) or ""

    @property
    def content_type(self) -> str:
        if not self.json:
            return "image/gif"
        return "application/javascript" if self.callback else "application/json"

    @property
    def pixel(self) -> bytes:
        return PIXEL

    def encode(self, value: Any) -> Any:
        """The body in the transport the client asked for: the pixel, JSONP, or the value as JSON."""
        if not self.json:
            return PIXEL
        callback = self.callback
        if callback:
            return f"{callback}({json.dumps(value, separators=(',', ':'), ensure_ascii=False)})"
        return value

    @property
    def set_cookie(self) -> str | None:
        """The demdex cookie with the AAM UUID; none when `d_coppa` turns third-party cookies off."""
        if (self.params.first("d_coppa") or "").lower() in ("true", "1"):
            return None
        return f"demdex={self.uuid}; Path=/; Max-Age=15552000"

    def message(self, error: Mapping[str, Any]) -> str:
        """The error's documented message, `{name}` placeholders filled (occurrence first, then request)."""
        text = str(error.get("msg", error.get("title", "")))
        if "{" not in text:
            return text.strip()
        defaults: dict[str, Any] = {}
        out = []
        for literal, name, sample in _pieces(text):
            out.append(literal)
            if name is None:
                continue
            if name in error:
                out.append(str(error[name]))
                continue
            if not defaults:  # the request's values, only when a message names one
                defaults.update(self.placeholders())
            value = str(defaults.get(name, ""))
            # Nothing in the request names it: a sample where the sentence goes on ("Customer id 456 was
            # discarded ..."); an ID that ends the sentence is dropped, as the page's sample does.
            out.append(value or (SAMPLES.get(name, "") if sample else ""))
        return "".join(out).strip()

    def placeholders(self) -> dict[str, Any]:
        """What an error asked by flag names when no check found a specific id."""
        first = self.customer_ids[0] if self.customer_ids else None
        mid = self.params.first("d_mid") or ""
        codes = self.options.get("integration_codes") or {}
        return {
            "hostname": self.ctx.host,
            "partner_id": (self.partner or {}).get("id", self.alias),
            "referer": self.ctx.header("referer") or "",
            "orgid": self.params.first("d_orgid") or "",
            "mid": mid,
            "sent_uuid": self.params.first("d_uuid") or "",
            "uuid": self.uuid,
            "device": self.params.first("d_uuid") or mid or self.uuid,
            "opted_out": self.params.first("d_uuid") or "",
            "customer": first.user_id if first else "",
            "namespace": first.namespace if first else "",
            "data_source": (first.data_source(codes) or first.namespace) if first else "",
            "allowed": self.options.get("customer_id_limit", 10),
            # 301 means more ids than allowed: asked by flag with fewer, one past the limit
            "found": max(len(self.customer_ids), int(self.options.get("customer_id_limit", 10)) + 1),
            "from_id": mid or self.uuid,
            "to_id": self.uuid,
            "failed_id": mid or self.uuid,
        }


@lru_cache(maxsize=256)
def _pieces(text: str) -> tuple[tuple[str, str | None, bool], ...]:
    """A message cut once into (text before, placeholder name or None, whether a sample may fill it): a
    placeholder inside the sentence, or after a colon, takes a sample ("Invalid Experience Cloud id passed
    in" ends with one, so it goes)."""
    found, start = [], 0
    for match in _PLACEHOLDER.finditer(text):
        goes_on = bool(text[match.end() :].strip()) or text[: match.start()].rstrip().endswith(":")
        found.append((text[start : match.start()], match.group(1), goes_on))
        start = match.end()
    found.append((text[start:], None, False))
    return tuple(found)


for _method in (DcsRequest.message, DcsRequest.encode):  # called by every DCS answer's templates
    trust(_method)
