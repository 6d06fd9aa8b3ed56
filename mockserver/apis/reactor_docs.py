"""Reactor records as JSON:API documents: attributes, relationships with links, meta, pagination.

Every link is absolute and built from the request's base URL (prefix included), so a client that
follows `links` or `relationships.*.links.related` stays on this server. The relationship table
follows the endpoint docs (help/tags/api/endpoints/*.md) member by member.
"""

from __future__ import annotations

from typing import Any

from mockserver.apis.reactor_store import REVISABLE, TYPE_OF_PREFIX, Record

# kind of a relationship: which of links.related, links.self and data it shows
MANY, MANY_SELF, ONE, ONE_SELF, SELF_ONE, DATA_ONE = "many", "many_self", "one", "one_self", "self_one", "data_one"
_REVISED = [("libraries", MANY), ("revisions", MANY), ("notes", MANY), ("property", ONE), ("origin", ONE)]
RELATIONSHIPS: dict[str, list[tuple[str, str]]] = {
    "companies": [("properties", MANY)],
    "properties": [("company", ONE), ("callbacks", MANY), ("hosts", MANY), ("environments", MANY),
                   ("libraries", MANY), ("data_elements", MANY), ("extensions", MANY), ("rules", MANY),
                   ("notes", MANY)],
    "libraries": [("builds", MANY), ("environment", SELF_ONE), ("data_elements", MANY_SELF),
                  ("extensions", MANY_SELF), ("notes", MANY), ("rules", MANY_SELF), ("upstream_library", DATA_ONE),
                  ("property", ONE), ("last_build", ONE)],
    "builds": [("data_elements", MANY), ("extensions", MANY), ("rules", MANY), ("environment", ONE),
               ("library", ONE), ("property", ONE)],
    "environments": [("library", ONE), ("builds", MANY), ("host", ONE_SELF), ("property", ONE)],
    "hosts": [("property", ONE)],
    "extensions": [*_REVISED, ("extension_package", ONE)],
    "data_elements": [*_REVISED, ("extension", ONE)],
    "rules": [*_REVISED, ("rule_components", MANY)],
    # rule-components.md shows no `revisions` or `libraries`: a component is revised with its rule
    "rule_components": [("updated_with_extension_package", ONE), ("updated_with_extension", ONE),
                        ("extension", ONE), ("notes", MANY), ("origin", ONE), ("property", ONE), ("rules", MANY)],
    "callbacks": [("property", ONE)],
    "audit_events": [("property", ONE), ("entity", ONE)],
    "extension_packages": [],
}
TOP_LINKS: dict[str, list[str]] = {
    "companies": ["properties"],
    "properties": ["company", "data_elements", "environments", "extensions", "rules"],
    "libraries": ["property"],
    "builds": ["environment", "library"],
    "environments": ["property"],
    "hosts": ["property"],
    "extensions": ["property", "origin", "extension_package"],
    "data_elements": ["property", "origin", "extension"],
    "rules": ["property", "origin", "rule_components"],
    "rule_components": ["extension", "origin", "rules"],
    "callbacks": ["property"],
    "audit_events": ["entity", "property"],
    "extension_packages": [],
}
DEFAULT_PAGE_SIZE = 25  # guides/pagination.md: "The default page size is 25 elements."
# The pagination guide states no maximum. 100 is the one maximum the API documents anywhere (its
# search guide: `size` "Default 100. Maximum 100."), and the page size Reactor clients ask for to list
# everything (`page[size]=100`); a larger ask gets 100 with `next_page` set, so a client that follows
# `meta.pagination` still reads every record, and one that trusts a bigger page is caught here.
MAX_PAGE_SIZE = 100


def identifier(resource_id: str | None) -> dict[str, str] | None:
    """`{"id", "type"}` for an id; the type follows from Reactor's 2-letter prefix."""
    if not resource_id:
        return None
    return {"id": resource_id, "type": TYPE_OF_PREFIX.get(resource_id[:2], "unknown")}


def resource_url(base: str, resource_id: str) -> str:
    return f"{base}/{TYPE_OF_PREFIX.get(resource_id[:2], 'unknown')}/{resource_id}"


def relationship(record: Record, name: str, kind: str, self_url: str) -> dict[str, Any]:
    member: dict[str, Any] = {}
    links = {}
    if kind in (MANY, MANY_SELF, ONE, ONE_SELF):
        links["related"] = f"{self_url}/{name}"
    if kind in (MANY_SELF, ONE_SELF, SELF_ONE):
        links["self"] = f"{self_url}/relationships/{name}"
    if links:
        member["links"] = links
    if kind in (ONE, ONE_SELF, SELF_ONE, DATA_ONE):
        member["data"] = identifier(record["rel"].get(name))
    return member


def meta_of(record: Record) -> dict[str, Any]:
    """What Reactor puts in each type's `meta` (rights, build status, revision numbers ...)."""
    kind = record["type"]
    meta: dict[str, Any] = {}
    if kind == "companies":
        rights = ["develop_extensions", "manage_properties"]
        meta = {"rights": rights, "platform_rights": {"web": rights, "mobile": rights}}
    elif kind == "properties":
        meta = {"rights": ["approve", "develop", "manage_environments", "manage_extensions", "publish"]}
    elif kind == "libraries":
        meta = {"build_status": record.get("build_status"),
                "build_required_detail": "No build found since last state change"
                if record["attributes"].get("build_required") else None}
    elif kind == "environments":
        meta = {"archive_encrypted": False}
    elif kind in REVISABLE:
        meta = {"latest_revision_number": record.get("latest_revision_number", 0)}
    meta.update(record.get("meta") or {})
    return meta


def resource(record: Record, base: str, documented_links: bool = False) -> dict[str, Any]:
    """One resource object, as the endpoint docs show it.

    The docs' resource `links` also name related resources (`property`, `library` ...); the
    official JSON:API 1.0 schema allows `self` alone there, so those only come with
    `documented_links` (option `documented_resource_links`). The same URLs are always in
    `relationships.*.links.related`.
    """
    self_url = f"{base}/{record['type']}/{record['id']}"
    document: dict[str, Any] = {"id": record["id"], "type": record["type"], "attributes": record["attributes"]}
    table = RELATIONSHIPS.get(record["type"], [])
    if table:
        document["relationships"] = {name: relationship(record, name, kind, self_url) for name, kind in table}
    links = {}
    for name in TOP_LINKS.get(record["type"], []) if documented_links else []:
        target = record["rel"].get(name)
        if isinstance(target, str):
            links[name] = resource_url(base, target)
        elif name not in record["rel"] or isinstance(target, list):
            links[name] = f"{self_url}/{name}"
    links["self"] = self_url
    document["links"] = links
    meta = meta_of(record)
    if meta:
        document["meta"] = meta
    return document


# A page number over this is read as this one: past the end of any list a session can hold (its records are
# bounded long before), so the same empty page, and a `current_page` that stays a short JSON number (a number of
# thousands of digits was echoed, and str() refuses one of over 4,300: the mock's 500).
PAGE_NUMBER_LIMIT = 10**9


def whole_number(text: str, limit: int) -> int | None:
    """ASCII digits read as a number, at most `limit` (a larger one is `limit`, however many digits); None for
    anything else. str.isdigit(), str.isdecimal() and int() also take other scripts' digits (`２`, U+FF12), which
    no client writes for a page: they are not numbers here."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    return limit if len(digits) > len(str(limit)) else min(int(digits or "0"), limit)


def page_numbers(query: dict[str, list[str]]) -> tuple[int, int]:
    """`page[number]` and `page[size]`; a value that is not a positive integer means the default. A number past
    the end (however large) is an empty page; a size over MAX_PAGE_SIZE (however large) is MAX_PAGE_SIZE."""

    def positive(name: str, default: int, limit: int) -> int:
        values = query.get(name) or []
        number = whole_number(values[0].strip() if values else "", limit)
        return number if number else default  # None (not a number) or 0 (not positive)

    return positive("page[number]", 1, PAGE_NUMBER_LIMIT), positive("page[size]", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def pagination(total: int, number: int, size: int) -> dict[str, Any]:
    pages = max(1, -(-total // size))
    return {
        "current_page": number,
        "next_page": number + 1 if number < pages else None,
        "prev_page": number - 1 if 1 < number <= pages + 1 else None,
        "total_pages": pages,
        "total_count": total,
    }


# guides/filtering.md: `filter[{ATTRIBUTE}]={OPERATOR} {VALUE}`, several values comma-separated
OPERATORS = ("EQ", "NOT", "LT", "GT", "BETWEEN", "CONTAINS")
Condition = tuple[str, list[tuple[str, str]]]  # attribute, [(operator, value), ...]


def filter_conditions(query: dict[str, list[str]]) -> list[Condition] | None:
    """The filters a list request asks for; None when one is malformed.

    The guide: "if the structure of your filters is incorrect, no filters are applied and the
    full result set is returned", and of one attribute filtered twice "only the last provided
    filter for that attribute will be applied" (hence `values[-1]`). A value may repeat its
    operator, as Adobe's SDK writes it (`CONTAINS Detroit,CONTAINS Barstow`); otherwise it takes
    the one before it (`EQ a,b`).
    """
    conditions: list[Condition] = []
    for name, values in query.items():
        if not (name.startswith("filter[") and name.endswith("]")) or not values:
            continue
        attribute = name[len("filter["):-1]
        terms: list[tuple[str, str]] = []
        operator = ""
        for piece in values[-1].split(","):
            head, _, rest = piece.strip().partition(" ")
            if head in OPERATORS:
                operator, piece = head, rest
            elif not operator:
                return None
            terms.append((operator, piece.strip()))
        if not attribute or (terms[0][0] == "BETWEEN" and len(terms) != 2):
            return None
        conditions.append((attribute, terms))
    return conditions


def _text(value: Any) -> str:
    """An attribute as the query string writes it (JSON for booleans and null)."""
    return value if isinstance(value, str) else "null" if value is None else str(value).lower() \
        if isinstance(value, bool) else str(value)


def _compare(value: Any, other: str) -> int:
    """-1, 0 or 1: numbers as numbers, anything else (ISO timestamps included) as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(other)
        except ValueError:
            return -2
        return (value > number) - (value < number)
    text = _text(value)
    return (text > other) - (text < other)


def matches(record: Record, attribute: str, terms: list[tuple[str, str]]) -> bool:
    """Whether one record passes one filter; an attribute the type lacks filters nothing out."""
    attributes = record["attributes"]
    if attribute not in attributes:
        return True
    value = attributes[attribute]
    if terms[0][0] == "BETWEEN":
        return _compare(value, terms[0][1]) in (0, 1) and _compare(value, terms[1][1]) in (-1, 0)
    if all(operator == "NOT" for operator, _ in terms):
        return all(_text(value) != wanted for _, wanted in terms)
    for operator, wanted in terms:
        if operator == "EQ" and _text(value) == wanted:  # "an exact, case-sensitive match"
            return True
        # the guide makes only EQ case-sensitive; CONTAINS ignores case (a search, as ILIKE)
        if operator == "CONTAINS" and wanted.casefold() in _text(value).casefold():
            return True
        if operator in ("LT", "GT") and _compare(value, wanted) == (-1 if operator == "LT" else 1):
            return True
        if operator == "NOT" and _text(value) != wanted:
            return True
    return False


def filtered(records: list[Record], query: dict[str, list[str]]) -> list[Record]:
    conditions = filter_conditions(query)
    if not conditions:
        return records
    return [r for r in records if all(matches(r, attribute, terms) for attribute, terms in conditions)]


def collection(records: list[Record], base: str, query: dict[str, list[str]],
               documented_links: bool = False) -> dict[str, Any]:
    """A list document with `meta.pagination`, default page size 25 (guides/pagination.md).

    Filters apply before the pages are cut, so `total_count` counts what matched.
    """
    records = filtered(records, query)
    number, size = page_numbers(query)
    chosen = records[(number - 1) * size : number * size]
    return {"data": [resource(r, base, documented_links) for r in chosen],
            "meta": {"pagination": pagination(len(records), number, size)}}


def linkage(records: list[Record], self_url: str, name: str) -> dict[str, Any]:
    """A relationship document: identifiers plus the relationship's own links."""
    return {
        "data": [{"id": r["id"], "type": r["type"]} for r in records],
        "links": {"related": f"{self_url}/{name}", "self": f"{self_url}/relationships/{name}"},
    }
