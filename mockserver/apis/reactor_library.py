"""Libraries: their relationships, publishing transitions and builds (asynchronous work).

The rules are the ones the error reference names: an environment serves one library at a time
(environment-in-use), a library holds one revision of each resource (multiple-revisions) and no
deleted resource (deleted-resources), a build needs an environment (environment-required) whose
host exists (host-required), and fails when polled if the library lacks the extension of one of
its data elements or rule components (extension-not-found). Only a library in development may
change its resources (read-only).
"""

from __future__ import annotations

from typing import Any

from mockserver.apis import handler
from mockserver.apis import reactor_docs as docs
from mockserver.apis.reactor import _syntax, fail, no_content, not_found, ok, one, reading, render_errors
from mockserver.apis.reactor_audit import audit
from mockserver.apis.reactor_store import Record, Store
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Failure, Outcome

TO_ONE_TYPES = {"environment": "environments", "host": "hosts"}
# action -> (states it may start from, state it leads to); publishing-flow.md
TRANSITIONS = {
    "submit": (("development",), "submitted"),
    "approve": (("submitted",), "approved"),
    "reject": (("submitted", "approved"), "rejected"),
    "develop": (("submitted", "rejected"), "development"),
}
UNASSIGNING = ("submit", "reject")


@handler("reactor.relationships")
async def relationships(ctx: RequestContext) -> Outcome:
    """`/{type}/{id}/relationships/{kind}`: read or change the linkage itself."""
    kind, name = ctx.path_params["type"], ctx.path_params["kind"]
    store = Store(ctx)
    record = await store.get(ctx.path_params["id"], kind)
    shape = dict(docs.RELATIONSHIPS.get(kind, [])).get(name)
    if record is None or shape not in (docs.MANY_SELF, docs.ONE_SELF, docs.SELF_ONE):
        return not_found()
    self_url = f"{ctx.base_url}/{kind}/{record['id']}"
    links = {"related": f"{self_url}/{name}", "self": f"{self_url}/relationships/{name}"}
    if shape == docs.MANY_SELF:
        return await to_many(ctx, store, record, name, self_url)
    if reading(ctx):
        return ok({"data": docs.identifier(record["rel"].get(name)), "links": links})
    if ctx.method == "DELETE":
        await link_one(store, record, name, None)
        return no_content()
    data = ctx.json.get("data") if isinstance(ctx.json, dict) else None
    if not isinstance(data, dict) or data.get("type") != TO_ONE_TYPES[name] or not isinstance(data.get("id"), str):
        return Failure(_syntax("/data", f"`data` must identify one of the `{TO_ONE_TYPES[name]}`."))
    target = await store.get(data["id"], TO_ONE_TYPES[name])
    if target is None or target["rel"].get("property") != record["rel"].get("property"):
        return not_found()
    if name == "environment" and target["rel"].get("library") not in (None, record["id"]) \
            and await store.get(target["rel"]["library"], "libraries") is not None:
        return fail("environment-in-use", "/data")
    await link_one(store, record, name, target)
    return ok({"data": docs.identifier(target["id"]), "links": links})


async def link_one(store: Store, record: Record, name: str, target: Record | None) -> None:
    """Set a to-one linkage; a library and its environment point at each other."""
    previous = record["rel"].get(name)
    record["rel"][name] = target["id"] if target else None
    if record["type"] == "libraries":
        record["attributes"]["build_required"] = True
        old = await store.get(previous, "environments") if previous else None
        if old is not None and old["rel"].get("library") == record["id"]:
            old["rel"]["library"] = None
            await store.put(old)
        if target is not None:
            target["rel"]["library"] = record["id"]
            await store.put(target)
    await store.touch(record)


async def to_many(ctx: RequestContext, store: Store, library: Record, name: str, self_url: str) -> Outcome:
    current = list(library["rel"].get(name) or [])
    if reading(ctx):
        return ok(docs.linkage([r for r in [await store.get(i) for i in current] if r], self_url, name))
    if library["attributes"].get("state") != "development":
        return fail("read-only", "/data", occurrence="Only a library in development can change its resources.")
    items = ctx.json.get("data") if isinstance(ctx.json, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        return Failure(_syntax("/data", "`data` must be an array of resource identifiers."))
    ids = list(dict.fromkeys(str(i["id"]) for i in items))
    if ctx.method == "DELETE":
        kept = [i for i in current if i not in ids]
    else:
        kept = ids if ctx.method == "PATCH" else list(dict.fromkeys([*current, *ids]))
        errors = await resource_errors(store, library, name, items, [] if ctx.method == "PATCH" else current)
        if errors:
            return Failure(errors)
    library["rel"][name] = kept
    await store.touch(library, build_required=True)
    return ok(docs.linkage([r for r in [await store.get(i) for i in kept] if r], self_url, name))


async def resource_errors(store: Store, library: Record, name: str, items: list[dict[str, Any]],
                          present: list[str]) -> list[ErrorRef]:
    """Every item's problem: unknown, deleted, or a second revision of a resource."""
    errors: list[ErrorRef] = []
    origins: dict[str, str] = {}
    for resource_id in present:
        if (found := await store.get(resource_id, name, deleted=True)) is not None:
            origins[found["rel"].get("origin", resource_id)] = resource_id
    for index, item in enumerate(items):
        pointer = f"/data/{index}"
        found = await store.get(item["id"], name, deleted=True)
        if item.get("type") != name or found is None or found["rel"].get("property") != library["rel"]["property"]:
            errors.append(ErrorRef("not-found", {"pointer": pointer}))
        elif found["deleted"]:
            errors.append(ErrorRef("deleted-resources", {"pointer": pointer}))
        elif origins.setdefault(found["rel"].get("origin", found["id"]), found["id"]) != found["id"]:
            errors.append(ErrorRef("multiple-revisions", {"pointer": pointer}))
    # An id that names nothing is a 404 before any 422 (Rails finds the records, then validates them): one
    # document of one status, as each error's status is the answer's.
    missing = [e for e in errors if e.id == "not-found"]
    return missing or errors


async def transition(store: Store, library: Record, action: Any) -> Record | Failure:
    """`meta.action` on PATCH /libraries/{id}: develop, submit, approve, reject.

    Submit and reject unassign the library's environment, freeing it for another library:
    publishing-flow.md ("Submit for Approval: Unassign the library from the development environment",
    "Reject: Unassign the library from the staging environment"), and libraries.md's transition example
    answers a submitted library with a `last_build` (so it had an environment) and `environment.data` null.
    """
    if not isinstance(action, str) or action not in TRANSITIONS:  # an array or an object: not hashable either
        return Failure(_syntax("/data/meta/action", "`meta.action` must be develop, submit, approve or reject."))
    sources, target = TRANSITIONS[action]
    state = library["attributes"].get("state")
    if state not in sources:
        return fail("read-only", "/data/meta/action", occurrence=f"A library in state {state} cannot {action}.")
    if action in UNASSIGNING and library["rel"].get("environment"):
        await link_one(store, library, "environment", None)
    library["build_status"] = None
    return await store.touch(library, state=target, build_required=True)


@handler("reactor.create_build")
async def create_build(ctx: RequestContext) -> Outcome:
    """POST /libraries/{id}/builds: `pending` at once; errors asked by flag show when polled."""
    store = Store(ctx)
    library = await store.get(ctx.path_params["id"], "libraries")
    if library is None:
        return not_found()
    environment = await store.get(library["rel"].get("environment") or "", "environments")
    if environment is None:
        return fail("environment-required")
    host = await store.get(environment["rel"].get("host") or "", "hosts")
    # host-required: "does not have a valid Host", none or one whose verification failed (or will, when polled)
    if host is None or host["attributes"].get("status") == "failed" or host.get("failure"):
        return fail("host-required")
    token = ctx.generator.hex(12)
    artifact = f"https://assets.adobedtm.com/{environment['attributes']['library_path']}"
    name = environment["attributes"]["library_name"]
    build = await store.create(
        "builds", library["id"], {"status": "pending", "token": token},
        {**{k: list(library["rel"].get(k) or []) for k in ("data_elements", "extensions", "rules")},
         "environment": environment["id"], "library": library["id"], "property": library["rel"]["property"]},
        meta={"artifact_url": f"{artifact}/{name}", "direct_artifact_url": f"{artifact}/{token}/{name}",
              "archive": environment["attributes"].get("archive", False),
              "host_type_of": host["attributes"]["type_of"]},
        polls=0, failure=render_errors(ctx, [*ctx.async_errors, *await missing_extensions(store, library)]))
    await store.append_child(environment["id"], "builds", build["id"])
    library["rel"]["last_build"] = build["id"]
    library["build_status"] = "pending"
    await store.touch(library, build_required=False)
    await audit(store, build, "created")
    return one(ctx, build, 201)


async def missing_extensions(store: Store, library: Record) -> list[ErrorRef]:
    """extension-not-found, one per data element or rule component whose extension the library lacks.

    The reference: "The extension that defines a data element or rule component is not included in
    the library." Reactor finds it while building, so it shows on the build when polled (as the
    catalog's other build failures do); any revision of the extension counts as the extension. A data
    element or rule deleted since it joined is not built (the library's lists no longer show it), so it
    needs no extension.
    """
    held = set()
    for extension_id in library["rel"].get("extensions") or []:
        if (extension := await store.get(extension_id, "extensions", deleted=True)) is not None:
            held.add(extension["rel"].get("origin", extension["id"]))
    components = [r for r in [await store.get(i, "data_elements")
                              for i in library["rel"].get("data_elements") or []] if r is not None]
    for rule_id in library["rel"].get("rules") or []:
        rule = await store.get(rule_id, "rules")
        for owner in {rule_id, rule["rel"].get("origin", rule_id)} if rule is not None else set():
            components.extend(c for c in await store.children(owner, "rule_components") if c not in components)
    errors: list[ErrorRef] = []
    for component in components:
        extension = await store.get(component["rel"].get("extension") or "", "extensions", deleted=True)
        if extension is not None and extension["rel"].get("origin", extension["id"]) not in held:
            name = component["attributes"].get("name") or component["id"]
            errors.append(ErrorRef("extension-not-found", {
                "occurrence": f"{name} ({component['id']}) needs extension {extension['attributes'].get('name')} "
                          f"({extension['id']}), which is not in the library."}))
    return errors
