"""Declared customer ids (`d_cid`, `d_cid_ic`, the deprecated `d_dpid` + `d_dpuuid`) and their codes.

What the DCS does with them, per the error-code page: an invalid id is discarded with 300 (and 312
when it is a malformed global device id), more than 3 ids in one namespace discards the rest with
310 each, more than 10 in the request gives 301 once and 309 for each id discarded, and 104 when
every id was invalid (300's causes include blocked and unauthorized ids, which 302-304 name).
Which ids and limits apply comes from the API's options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.apis.dcs_options import pattern
from mockserver.apis.dcs_query import Params
from mockserver.engine.outcome import ErrorRef

_DSID = re.compile(r"DSID_([0-9]+)")  # integration code of a global data source: DSID_20915
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class CustomerId:
    key: str  # d_cid, d_cid_ic or d_dpid
    namespace: str  # a data source id (d_cid) or an integration code (d_cid_ic), decoded
    user_id: str
    separated: bool  # `namespace%01id`; the page's own 310 example sends `d_cid_ic=one` alone

    def data_source(self, codes: Mapping[str, Any]) -> str | None:
        """The numeric data source, when the request says which (DPID, DSID_n, a known code)."""
        if self.key != "d_cid_ic":
            return self.namespace if _DIGITS.fullmatch(self.namespace) else None
        if self.namespace in codes:
            return str(codes[self.namespace])
        dsid = _DSID.fullmatch(self.namespace)
        return dsid.group(1) if dsid else None


def declared(params: Params) -> list[CustomerId]:
    """Every declared id in the order sent; a value's third part (auth state) is not an id."""
    found = []
    for pair in params.pairs:
        if pair.key in ("d_cid", "d_cid_ic"):
            parts = pair.parts()
            user_id = parts[1] if len(parts) > 1 else ""
            found.append(CustomerId(pair.key, parts[0], user_id, len(parts) > 1))
    dpid, dpuuid = params.first("d_dpid", "dpid"), params.first("d_dpuuid", "dpuuid")
    if dpid is not None or dpuuid is not None:
        found.append(CustomerId("d_dpid", dpid or "", dpuuid or "", True))
    return found


@dataclass
class Review:
    """The codes found, in the order found, and the ids the DCS keeps."""

    errors: list[ErrorRef] = field(default_factory=list)
    kept: list[CustomerId] = field(default_factory=list)
    invalid: int = 0  # the ids discarded as invalid (not those over a limit, 309 and 310)


def review(ids: list[CustomerId], options: Mapping[str, Any], partner: Mapping[str, Any]) -> Review:
    result = Review()
    codes = options.get("integration_codes") or {}
    formats = options.get("global_device_ids") or {}
    valid: list[CustomerId] = []
    for cid in ids:
        problems = _problems(cid, cid.data_source(codes), formats, options, partner)
        if problems:  # 300's causes name blocked and unauthorized ids too (302, 303, 304 say which)
            result.invalid += 1
        result.errors.extend(problems)
        if not problems:
            valid.append(cid)
    per_namespace: dict[str, int] = {}
    limit = int(options.get("namespace_limit", 3))
    for cid in valid:
        per_namespace[cid.namespace] = per_namespace.get(cid.namespace, 0) + 1
        if per_namespace[cid.namespace] > limit:
            result.errors.append(ErrorRef("310", {"namespace": cid.namespace, "customer": cid.user_id}))
        else:
            result.kept.append(cid)
    allowed = int(options.get("customer_id_limit", 10))
    if len(result.kept) > allowed:
        result.errors.append(ErrorRef("301", {"allowed": allowed, "found": len(result.kept)}))
        result.errors.extend(ErrorRef("309", {"customer": c.user_id}) for c in result.kept[allowed:])
        result.kept = result.kept[:allowed]
    if ids and result.invalid == len(ids):
        result.errors.append(ErrorRef("104"))
    return result


def _problems(
    cid: CustomerId,
    source: str | None,
    formats: Mapping[str, Any],
    options: Mapping[str, Any],
    partner: Mapping[str, Any],
) -> list[ErrorRef]:
    """Why the DCS discards this id: [] when it keeps it."""
    who = {"customer": cid.user_id, "namespace": cid.namespace}
    # a value without %01 (`d_cid=abc`, a double-encoded `123%2501abc`) has no id part: 300 names what was sent
    sent = who if cid.separated else {**who, "customer": cid.namespace}
    if not cid.namespace or (cid.key != "d_cid_ic" and not _DIGITS.fullmatch(cid.namespace)):
        return [ErrorRef("300", sent)]  # missing or malformed data source
    if (cid.separated or cid.key == "d_cid") and not cid.user_id:
        # blank customer id, or none (`d_cid=123`, as `d_dpid=123` without `d_dpuuid`: "missing values for data
        # source"); `d_cid_ic=one` alone is the page's own 310 example, four ids of that namespace, so taken
        return [ErrorRef("300", sent)]
    form = formats.get(source) if source is not None else None  # it compiles: the loader refused one that does not
    if form is not None and pattern(form).fullmatch(cid.user_id) is None:
        return [ErrorRef("300", who), ErrorRef("312", who)]
    denied = options.get("denylist") or {}
    if source is not None and source in {str(s) for s in denied.get("data_sources", [])}:
        return [ErrorRef("304", {**who, "data_source": source})]
    if cid.user_id in {str(c) for c in denied.get("customer_ids", [])}:
        return [ErrorRef("303", who)]
    owned = partner.get("data_sources")
    if owned is not None and source is not None and form is None and source not in {str(s) for s in owned}:
        return [ErrorRef("302", who)]
    return []

