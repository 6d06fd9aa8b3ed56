"""Documented-error coverage: which of each API's documented errors a client was served.

One report shape (`GET /__admin/coverage`, `mockserver coverage`, the pytest plugin), three
renderings: JSON as is, a text table, JUnit XML for CI dashboards (one test case per documented
error, skipped when never served). The totals count only the APIs "in play", those that were
requested or served an error, so a suite testing one API is not judged on the other four.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree

from mockserver.scenario.model import Api


def build(apis: Mapping[str, Api], served: Mapping[str, set[str]], requests: Mapping[str, int]) -> dict[str, Any]:
    """Per API: documented errors served / total, the ids served and never served, requests seen."""
    report: dict[str, Any] = {}
    for name, api in apis.items():
        hit = sorted(served.get(name, set()) & set(api.errors))
        report[name] = {"served": len(hit), "total": len(api.errors), "requests": requests.get(name, 0),
                        "served_ids": hit, "never_served": [i for i in api.errors if i not in hit]}
    return with_totals({"apis": report})


def with_totals(report: dict[str, Any]) -> dict[str, Any]:
    """Add each API's ratio and the totals over the APIs in play."""
    in_play = [n for n, a in report["apis"].items() if a["requests"] or a["served"]]
    for api in report["apis"].values():
        api["ratio"] = _ratio(api["served"], api["total"])
    served = sum(report["apis"][n]["served"] for n in in_play)
    total = sum(report["apis"][n]["total"] for n in in_play)
    return {**report, "in_play": in_play, "served": served, "total": total, "ratio": _ratio(served, total)}


def merge(reports: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """One report from several (pytest-xdist workers each run their own server)."""
    merged: dict[str, Any] | None = None
    for report in reports:
        if merged is None:
            merged = {"apis": {n: {**a, "served_ids": list(a["served_ids"])} for n, a in report["apis"].items()}}
            continue
        for name, api in report["apis"].items():
            mine = merged["apis"].setdefault(name, {**api, "served_ids": [], "requests": 0})
            mine["served_ids"] = sorted(set(mine["served_ids"]) | set(api["served_ids"]))
            mine["never_served"] = [i for i in mine["never_served"] if i not in mine["served_ids"]]
            mine["served"] = len(mine["served_ids"])
            mine["requests"] += api["requests"]
    return with_totals(merged) if merged is not None else None


def table(report: dict[str, Any]) -> str:
    """A plain text table, then the ids never served per API in play."""
    lines = [f"{'api':<12}{'requests':>9}{'served':>8}{'total':>7}{'ratio':>8}"]
    for name, api in report["apis"].items():
        lines.append(f"{name:<12}{api['requests']:>9}{api['served']:>8}{api['total']:>7}{api['ratio']:>8.0%}")
    lines.append(f"{'in play':<12}{'':>9}{report['served']:>8}{report['total']:>7}{report['ratio']:>8.0%}")
    for name in report["in_play"]:
        never = report["apis"][name]["never_served"]
        if never:
            lines.append(textwrap.fill(", ".join(never), width=110, initial_indent=f"{name} never served: ",
                                       subsequent_indent="    ", break_on_hyphens=False))
    return "\n".join(lines)


def junit(report: dict[str, Any]) -> str:
    """JUnit XML: a suite per API, a test case per documented error, skipped when never served."""
    root = ElementTree.Element("testsuites", name="mockserver documented-error coverage",
                               tests=str(sum(a["total"] for a in report["apis"].values())),
                               skipped=str(sum(a["total"] - a["served"] for a in report["apis"].values())),
                               failures="0", errors="0")
    for name, api in report["apis"].items():
        suite = ElementTree.SubElement(root, "testsuite", name=f"coverage.{name}", tests=str(api["total"]),
                                       skipped=str(api["total"] - api["served"]), failures="0", errors="0")
        for error_id in api["served_ids"]:
            ElementTree.SubElement(suite, "testcase", classname=f"coverage.{name}", name=error_id)
        for error_id in api["never_served"]:
            case = ElementTree.SubElement(suite, "testcase", classname=f"coverage.{name}", name=error_id)
            ElementTree.SubElement(case, "skipped", message="documented error never served")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _ratio(served: int, total: int) -> float:
    return round(served / total, 4) if total else 0.0
