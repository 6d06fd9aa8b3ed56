"""Reactor (Adobe Experience Platform Tags) API: gateway checks, resources, JSON:API documents.

The errors themselves are data in scenarios/reactor.yaml; this module decides which of them apply
(unknown ids, duplicate names, malformed documents ...) and keeps the session's resources in the
state store. Creating resources lives in reactor_create.py, changing one in reactor_edit.py,
library rules and builds in reactor_library.py, extension packages in reactor_packages.py.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from mockserver.apis import OptionProblems, before, check, handler, options_check
from mockserver.apis import reactor_docs as docs
from mockserver.apis.edge_auth import decode_jwt, expired  # Adobe IMS tokens, as Edge reads them
from mockserver.apis.reactor_audit import USER_EMAIL, USER_NAME, audit_events
from mockserver.apis.reactor_store import REVISABLE, SEEDED, SOFT_DELETED, TYPE_OF_PREFIX, Record, Store
from mockserver.engine.context import RequestContext, loads_encodable, template_context
from mockserver.engine.generate import Generator
from mockserver.engine.outcome import ErrorRef, Failure, Outcome, Success

JSONAPI = "application/vnd.api+json"
SYNTAX = "invalid-settings-syntax"
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
CHILD_KINDS = ("libraries", "environments", "hosts", "extensions", "data_elements", "rules", "rule_components",
               "callbacks")
EMPTY_KINDS = ("notes",)
# callbacks.md creates a callback with no `type` in `data`, and so does Adobe's SDK integration test
# (adobe/reactor-sdk-javascript test/integration/callbacks.test.js): Reactor must accept it
TYPE_OPTIONAL = ("callbacks",)
# The options read as integers (int_option), with their defaults: the loader refuses a file giving one anything
# else (apis.before's integer_options), as `polls_before_done: 1.5` or `3.0` passed validate and was then ignored.
INT_OPTIONS = {"polls_before_done": 1}


def ok(document: Any, status: int = 200) -> Success:
    return Success(body=document, status=status, headers=[("Content-Type", JSONAPI)])


def one(ctx: RequestContext, record: Record | None, status: int = 200) -> Success:
    """A single-resource document (`data` null when there is none)."""
    documented = bool(ctx.options.get("documented_resource_links"))
    return ok({"data": docs.resource(record, ctx.base_url, documented) if record else None}, status)


def many(ctx: RequestContext, records: list[Record]) -> Success:
    """A page of a collection, as `page[number]` and `page[size]` ask."""
    documented = bool(ctx.options.get("documented_resource_links"))
    return ok(docs.collection(records, ctx.base_url, ctx.query, documented))


def fail(error_id: str, pointer: str | None = None, **params: Any) -> Failure:
    if pointer is not None:
        params["pointer"] = pointer
    return Failure([ErrorRef(error_id, params)])


def not_found(pointer: str = "/data") -> Failure:
    return fail("not-found", pointer)


def no_content() -> Success:
    return Success(status=204)


@options_check("reactor")
def check_options(options: Mapping[str, Any], bundled: Mapping[str, Any], error_ids: Collection[str]) -> OptionProblems:
    """The Core package a session's seeding starts with: null, or a mapping without a name, was a 500 on the first
    request of every session (another kind is the loader's)."""
    core = options.get("core_extension_package")
    if core is None or isinstance(core, Mapping) and not (isinstance(core.get("name"), str) and core["name"]):
        return [(("core_extension_package",), f"{'null' if core is None else repr(core)} is no package: a mapping "
                 "with a name, as {name: core, display_name: Core, version: 3.4.2, platform: web}")]
    return []


# -- the Adobe I/O gateway in front of Reactor --------------------------------------------------
@before("reactor", integer_options=INT_OPTIONS)
async def gateway(ctx: RequestContext) -> Outcome | None:
    """Seed the session; then the checks the gateway makes before Reactor sees the request."""
    if not ctx.state.peek(ctx.session, SEEDED):  # seeded already: known without a wait in one process
        await Store(ctx).ensure_seeded()
    if ctx.flags.asks_error:
        return None  # errors asked by flag win over the request's own faults
    bearer = _BEARER.match(ctx.header("authorization") or "")
    if not bearer:
        return Failure([ErrorRef("authentication-failure")])
    token = decode_jwt(bearer.group(1)) if bearer.group(1).count(".") == 2 else None
    if token is not None and expired(token.claims, ctx.clock.now()):  # an IMS token past its expires_in: 24 h
        return Failure([ErrorRef("session-timeout")])
    for header, option, error in (("x-api-key", "require_api_key", "api-key-missing"),
                                  ("x-gw-ims-org-id", "require_org_id", "missing-header")):
        if ctx.options.get(option) and not (ctx.header(header) or "").strip():
            return Failure([ErrorRef(error)])  # the gateway's own shape: the entry's `response`
    return None


def int_option(options: Mapping[str, Any], name: str) -> int:
    """An integer setting (one of INT_OPTIONS, which the loader holds to integers, null refused)."""
    value = options.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else INT_OPTIONS[name]


def reading(ctx: RequestContext) -> bool:
    """GET, or HEAD (which routes treat as GET)."""
    return ctx.method in ("GET", "HEAD")


# -- request documents ----------------------------------------------------------------------------
def _syntax(pointer: str, occurrence: str) -> list[ErrorRef]:
    """invalid-settings-syntax: the reference's sentence, then what went wrong this time (error_item)."""
    return [ErrorRef(SYNTAX, {"pointer": pointer, "occurrence": occurrence})]


# The JSON type of each attribute a client may send (the endpoint docs' attribute tables and examples). null is
# "not given" for an optional one; a required one (`required_attributes`) may not be set to null or "".
ATTRIBUTE_KINDS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("name", "platform", "privacy", "type_of", "server", "path", "username", "encrypted_private_key",
                     "stage", "archive_passphrase", "delegate_descriptor_id", "default_value", "storage_duration",
                     "url"), (str,)),
    **dict.fromkeys(("development", "enabled", "ssl_enabled", "undefined_vars_return_empty",
                     "rule_component_sequencing_enabled", "archive", "include_debug_library", "force_lower_case",
                     "clean_text", "delay_next", "negate", "skip_symlinks"), (bool,)),
    **dict.fromkeys(("port", "order", "timeout"), (int,)),
    "rule_order": (int, float),
    **dict.fromkeys(("domains", "subscriptions"), (list,)),
}
_KIND_NAMES = {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "an array"}


def attribute_errors(attributes: Mapping[str, Any], required: list[Any], creating: bool) -> list[ErrorRef]:
    """A required attribute missing (or emptied by an update), or one of the wrong JSON type."""
    for name in required:
        if (creating or name in attributes) and attributes.get(name) in (None, "", []):
            return _syntax(f"/data/attributes/{name}", f"The attribute `{name}` is required.")
    for name, value in attributes.items():
        kinds = ATTRIBUTE_KINDS.get(name)
        if kinds is not None and value is not None and (
                not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds):
            return _syntax(f"/data/attributes/{name}",
                           f"The attribute `{name}` must be {' or '.join(_KIND_NAMES[k] for k in kinds)}.")
    return []


def settings_error(attributes: Mapping[str, Any]) -> list[ErrorRef]:
    """`settings` is a string holding a JSON object; anything else is invalid-settings-syntax."""
    if "settings" not in attributes or attributes["settings"] is None:
        return []
    value = attributes["settings"]
    try:
        parsed = loads_encodable(value) if isinstance(value, str) else None  # NaN and Infinity are not JSON
    except (ValueError, RecursionError):
        parsed = None
    return [] if isinstance(parsed, dict) else [ErrorRef(SYNTAX)]


def relationship_errors(data: Mapping[str, Any], kind: str) -> list[ErrorRef]:
    """Each relationship given with `data`: a resource identifier (a string `id` and `type`) or null for a to-one, an
    array of them for a to-many (JSON:API 1.0, resource linkage). A malformed one was taken for no relationship at
    all: an environment made without its host, found out only by a build's host-required. A member without `data`
    (the `links` or `meta` of a resource read back and sent again) says nothing, and is let be."""
    relationships = data.get("relationships")
    if relationships is None:
        return []
    if not isinstance(relationships, dict):
        return _syntax("/data/relationships", "`relationships` must be an object.")
    shapes = dict(docs.RELATIONSHIPS.get(kind, []))
    for name, member in relationships.items():
        pointer = "/data/relationships/" + str(name).replace("~", "~0").replace("/", "~1")
        if not isinstance(member, dict):
            return _syntax(pointer, f"The relationship `{name}` must be an object.")
        if "data" not in member:
            continue
        linkage = member["data"]
        many = shapes.get(name) in (docs.MANY, docs.MANY_SELF)
        if name in shapes and isinstance(linkage, list) != many and not (linkage is None and not many):
            return _syntax(f"{pointer}/data", f"`{name}` takes {'an array of' if many else 'one'} resource "
                                              f"identifier{'s' if many else ' or null'}.")
        for index, item in enumerate(linkage if isinstance(linkage, list) else [] if linkage is None else [linkage]):
            if not (isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("type"), str)):
                where = f"{pointer}/data/{index}" if isinstance(linkage, list) else f"{pointer}/data"
                return _syntax(where, "A resource identifier is an object with a string `id` and a string `type`.")
    return []


@check("reactor.document", args={"type?": str}, errors=(SYNTAX,))
def bad_document(ctx: RequestContext, args: Mapping[str, Any]) -> bool | list[ErrorRef]:
    """Which errors a body that is not a JSON:API resource document of the route's type gets."""
    if ctx.method not in ("POST", "PATCH", "PUT"):
        return False
    kind = str(args.get("type") or ctx.path_params.get("kind") or ctx.path_params.get("type") or "")
    required = ctx.options.get("required_attributes")
    if not isinstance(required, Mapping) or kind not in required:
        return False  # not a type this route creates or updates: the handler answers not-found
    if ctx.json_error is not None or not ctx.body.strip():
        return _syntax("", "The request body could not be parsed as JSON.")
    data = ctx.json.get("data") if isinstance(ctx.json, dict) else None
    if not isinstance(data, dict):
        return _syntax("/data", "The request body must be a JSON:API document with a `data` object.")
    if data.get("type") != kind and not (kind in TYPE_OPTIONAL and "type" not in data):
        return _syntax("/data/type", f"The type of the resource must be `{kind}`.")
    if "id" in data and ctx.method != "POST" and data["id"] != ctx.path_params.get("id"):
        return _syntax("/data/id", "The id in the document does not match the id in the URL.")
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        return _syntax("/data/attributes", "`attributes` must be an object.")
    needed = required[kind] if isinstance(required[kind], list) else []
    return (attribute_errors(attributes, needed, ctx.method == "POST") or settings_error(attributes)
            or relationship_errors(data, kind) or False)


def document_data(ctx: RequestContext) -> dict[str, Any]:
    """`data` of a body the document check already accepted (or an empty one)."""
    data = ctx.json.get("data") if isinstance(ctx.json, dict) else None
    return data if isinstance(data, dict) else {}


def related_id(data: Mapping[str, Any], name: str) -> str | None:
    rel = data.get("relationships")
    member = rel.get(name) if isinstance(rel, dict) else None
    linkage = member.get("data") if isinstance(member, dict) else None
    value = linkage.get("id") if isinstance(linkage, dict) else None
    return value if isinstance(value, str) else None


# -- companies and collections --------------------------------------------------------------------
@handler("reactor.companies")
async def list_companies(ctx: RequestContext) -> Outcome:
    company = await Store(ctx).company()
    return many(ctx, [company]) if company else not_found()  # getting-started.md: no companies, 404


@handler("reactor.heartbeat")
async def heartbeat(ctx: RequestContext) -> Outcome:
    """GET /heartbeat: 200 with no body (adobe/reactor-sdk-javascript test/integration/heartbeat.test.js)."""
    return Success(status=200)


@handler("reactor.profile")
async def profile(ctx: RequestContext) -> Outcome:
    """GET /profile: the signed-in user and the org of the session's company (endpoints/profile.md)."""
    company = await Store(ctx).company()
    if company is None:
        return not_found()
    generator = Generator(ctx.seed, ctx.session, 0, "reactor-profile")  # the same user for the whole session
    org = company["attributes"]["org_id"]
    user = {"id": "UR" + generator.hex(32), "type": "users", "attributes": {
        "active_org": org, "expires_in": 0, "display_name": USER_NAME, "job_function": None,
        "email": USER_EMAIL, "organizations": {org: {
            "name": company["attributes"]["name"], "admin": True, "active": True, "login_companies": [],
            "product_contexts": ["dma_reactor"], "tenant_id": generator.hex(8)}}},
        "links": {"self": f"{ctx.base_url}/profile"}, "meta": {"rights": ["manage_companies"]}}
    return ok({"data": user})


@handler("reactor.audit_events")
async def list_audit_events(ctx: RequestContext) -> Outcome:
    """GET /audit_events: every event of the company's properties (audit-events.md)."""
    return many(ctx, await audit_events(Store(ctx)))


async def related(ctx: RequestContext, record_type: str, kind: str) -> Outcome:
    store = Store(ctx)
    record = await store.get(ctx.path_params["id"], record_type)
    if record is None:
        return not_found()
    found = await related_records(store, record, kind)
    if found is None:
        return not_found()
    if isinstance(found, list):
        return many(ctx, [await as_shown(store, r) for r in found])
    return one(ctx, await as_shown(store, found) if isinstance(found, dict) else None)


async def related_records(store: Store, record: Record, kind: str) -> list[Record] | Record | bool | None:
    """A to-many list, a to-one record (False: none), or None when the record has no such relation."""
    names = dict(docs.RELATIONSHIPS.get(record["type"], []))
    if kind not in names:
        return None
    if kind in EMPTY_KINDS:
        return []
    if kind == "revisions":
        return await revisions_of(store, record)
    if kind == "libraries" and record["type"] in REVISABLE:
        return await libraries_using(store, record)
    value = record["rel"].get(kind)
    if isinstance(value, list):
        return [r for r in [await store.get(i) for i in value] if r]
    if kind in record["rel"]:
        soft = isinstance(value, str) and TYPE_OF_PREFIX.get(value[:2]) in SOFT_DELETED
        target = await store.get(value, deleted=soft) if isinstance(value, str) else None
        return target or False
    return await store.children(record["id"], kind)


async def revisions_of(store: Store, record: Record) -> list[Record]:
    """The head and every revision, oldest first, as the real API lists them.

    Adobe's SDK integration tests (adobe/reactor-sdk-javascript test/integration/extensions.test.js
    "lists all revisions", rules.test.js "gets a Rule's revisions", data-elements.test.js "revises a
    DataElement") find the head's own id among its revisions, and rules.md's example lists the head
    (`revision_number` 0) before its revision. A revision's list is its head's: neither source shows
    one, and the family is what `revisions` names.
    """
    origin = record["rel"].get("origin")
    head = await store.get(origin, record["type"]) if isinstance(origin, str) and origin != record["id"] else record
    if head is None:
        return [record]
    found = [await store.get(i, record["type"]) for i in [head["id"], *head.get("revisions", [])]]
    return [r for r in found if r is not None]


async def libraries_using(store: Store, record: Record) -> list[Record]:
    ids = {record["id"], *record.get("revisions", [])}
    libraries = await store.children(record["rel"].get("property") or "", "libraries")
    return [lib for lib in libraries if ids & set(lib["rel"].get(record["type"], []))]


@handler("reactor.related")
async def related_handler(ctx: RequestContext) -> Outcome:
    return await related(ctx, ctx.path_params["type"], ctx.path_params["kind"])


def render_errors(ctx: RequestContext, refs: list[ErrorRef]) -> list[dict[str, Any]]:
    """Error objects for `meta.status_details.errors`, rendered by the API's own `error_item`.

    Rendered once, by the request that started the work, so they carry its request id and stay
    the same however often the resource is polled.
    """
    if not refs:
        return []
    api = ctx.api
    errors = [api.errors[ref.id].as_context(ref.params) for ref in refs]
    if api.error_item is None:
        return [{"status": str(e["status"]), "code": e["id"], "title": e["title"]} for e in errors]
    context = {**template_context(ctx), "errors": errors}
    return [api.error_item.render({**context, "error": error}) for error in errors]


async def advance(store: Store, record: Record) -> Record:
    """One poll of asynchronous work: `pending` until the set number of polls, then done."""
    if record["attributes"].get("status") != "pending":
        return record
    record["polls"] = int(record.get("polls", 0)) + 1
    if record["polls"] < int_option(store.ctx.options, "polls_before_done"):
        await store.put(record)
        return record
    failure = record.get("failure") or []
    if failure:
        record.setdefault("meta", {})["status_details"] = {"errors": failure}
        store.ctx.report(*(str(error.get("code")) for error in failure))  # served now, on this poll
    return await store.touch(record, status="failed" if failure else "succeeded")


async def poll_build(store: Store, build: Record) -> Record:
    """A poll; when the build ends, its library learns it (and is published from production)."""
    was = build["attributes"]["status"]
    build = await advance(store, build)
    status = build["attributes"]["status"]
    if status == was or (library := await store.get(build["rel"]["library"], "libraries")) is None:
        return build
    library["build_status"] = status
    environment = await store.get(build["rel"]["environment"], "environments")
    published = status == "succeeded" and library["attributes"]["state"] == "approved" and (
        environment is not None and environment["attributes"]["stage"] == "production")
    if published:
        await store.touch(library, state="published", published_at=store.now())
    else:
        await store.put(library)
    return build


async def as_shown(store: Store, record: Record) -> Record:
    """A record as a GET shows it: a GET that shows asynchronous work is a poll of it, whichever view it
    reads (the build or package itself, a list holding it, a library's `meta.build_status`), as the real
    work goes on however the client watches it."""
    kind = record["type"]
    if kind == "builds":
        return await poll_build(store, record)
    if kind in ("extension_packages", "hosts"):
        return await advance(store, record)
    if kind == "libraries" and record.get("build_status") == "pending":
        build = await store.get(record["rel"].get("last_build") or "", "builds")
        if build is not None and (await poll_build(store, build))["attributes"]["status"] != "pending":
            return await store.get(record["id"], "libraries") or record
    return record
