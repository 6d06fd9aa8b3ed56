"""One resource by id: look up (a poll, for builds and packages), update, revise, delete."""

from __future__ import annotations

from typing import Any

from mockserver.apis import handler
from mockserver.apis.reactor import (
    CHILD_KINDS,
    _syntax,
    as_shown,
    document_data,
    fail,
    no_content,
    not_found,
    one,
    reading,
)
from mockserver.apis.reactor_audit import audit
from mockserver.apis.reactor_create import (
    RULE_COMPONENT_FIELDS,
    callback_error,
    delegate_error,
    delegate_kind,
    name_taken,
    private_key_error,
)
from mockserver.apis.reactor_library import transition
from mockserver.apis.reactor_packages import update_package
from mockserver.apis.reactor_store import PREFIX, REVISABLE, SOFT_DELETED, Record, Store, children_key
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import Failure, Outcome, Success

# attributes a client may set with PATCH, by type (the endpoint docs' "can be updated" lists)
UPDATABLE = {
    "properties": ("name", "domains", "development", "enabled", "privacy", "rule_component_sequencing_enabled",
                   "ssl_enabled", "undefined_vars_return_empty"),
    "libraries": ("name",),
    "environments": ("archive", "archive_passphrase", "include_debug_library", "name", "path"),
    "hosts": ("name", "path", "port", "server", "type_of", "username"),  # and encrypted_private_key, never shown
    "extensions": ("delegate_descriptor_id", "enabled", "settings"),
    "data_elements": ("name", "delegate_descriptor_id", "enabled", "settings", "clean_text", "default_value",
                      "force_lower_case", "storage_duration"),
    "rules": ("name", "enabled"),
    "rule_components": RULE_COMPONENT_FIELDS,
    "callbacks": ("subscriptions", "url"),
}
FIXED = ("companies", "builds", "extension_packages", "audit_events")  # never deleted through the API
DELEGATED = ("data_elements", "rule_components")  # resources whose settings are those of a delegate
READ_ONLY = ("companies", "audit_events")  # audit events are records of changes, never changed themselves


@handler("reactor.resource")
async def resource(ctx: RequestContext) -> Outcome:
    # PUT /callbacks/{id} (callbacks.md) comes by its own route, without a {type}
    kind = ctx.path_params.get("type") or ctx.path.strip("/").split("/")[0]
    store = Store(ctx)
    soft = reading(ctx) and kind in SOFT_DELETED
    record = await store.get(ctx.path_params["id"], kind, deleted=soft) if kind in PREFIX else None
    if record is None:
        return not_found()
    if ctx.method == "DELETE":
        answer = await delete(store, record)
        if isinstance(answer, Success):
            await audit(store, record, "deleted")
        return answer
    if ctx.method in ("PATCH", "PUT"):
        changed = await update(ctx, store, record)
        if isinstance(changed, Failure):
            return changed
        # a revise answers the new revision (see `revise`); what changed is still the head
        await audit(store, record if changed["id"] != record["id"] else changed, "updated")
        return one(ctx, changed)
    return one(ctx, await as_shown(store, record))


async def update(ctx: RequestContext, store: Store, record: Record) -> Record | Failure:
    kind = record["type"]
    if kind == "extension_packages":
        return await update_package(ctx, store, record)
    data = document_data(ctx)
    meta = data.get("meta")
    action = meta.get("action") if isinstance(meta, dict) else None
    if kind in READ_ONLY or (kind == "hosts" and record["attributes"].get("type_of") != "sftp"):
        return fail("read-only")
    if kind == "builds":
        if action != "republish":
            return fail("read-only")
        record.setdefault("meta", {})["republish_status"] = "pending"
        return await store.touch(record)
    if kind == "libraries" and action is not None:
        return await transition(store, record, action)
    if kind == "libraries" and record["attributes"].get("state") == "published":
        return fail("read-only")
    attributes = data.get("attributes")
    changes = {k: v for k, v in (attributes if isinstance(attributes, dict) else {}).items()
               if k in UPDATABLE.get(kind, ())}
    if kind == "hosts" and (refused := host_change_error(attributes if isinstance(attributes, dict) else {})):
        return refused
    if kind == "callbacks" and (refused := callback_error(changes)):
        return refused
    if ("delegate_descriptor_id" in changes or ("settings" in changes and kind in DELEGATED)) \
            and (refused := await descriptor_change_error(store, record, changes)):
        return refused
    if kind == "properties" and "name" in changes and await name_taken(
            store, record["rel"]["company"], "properties", changes["name"], record["id"]):
        return fail("not-unique")
    if kind in REVISABLE and action == "revise":
        return await revise(store, record, changes)
    if kind in REVISABLE:
        changes["dirty"] = True
    for rule_id in record["rel"].get("rules", []) if kind == "rule_components" else []:
        if (rule := await store.get(rule_id, "rules")) is not None:
            await store.touch(rule)  # rule-components.md: "also updates the parent rule's updated_at"
    return await store.touch(record, **changes)


async def descriptor_change_error(store: Store, record: Record, changes: dict[str, Any]) -> Failure | None:
    """A new delegate (or new settings of one) must be one the resource's extension provides, in a
    supported custom code language, as at creation."""
    extension = await store.get(record["rel"].get("extension") or "", "extensions")
    if extension is None:
        return None  # its extension is gone: nothing left to resolve the delegate against
    descriptor = changes.get("delegate_descriptor_id", record["attributes"].get("delegate_descriptor_id"))
    return await delegate_error(store, extension, descriptor, delegate_kind(record["type"], descriptor),
                                changes.get("settings", record["attributes"].get("settings")))


def host_change_error(attributes: dict[str, Any]) -> Failure | None:
    """hosts.md lists `encrypted_private_key` and `type_of` among what a PATCH may change."""
    if "type_of" in attributes and attributes["type_of"] not in ("akamai", "sftp"):
        return Failure(_syntax("/data/attributes/type_of", "`type_of` must be `akamai` or `sftp`."))
    if "encrypted_private_key" in attributes:
        return private_key_error(attributes["encrypted_private_key"])
    return None


async def revise(store: Store, head: Record, changes: dict[str, Any]) -> Record:
    """A new revision (its own id, `origin` the head), answered in the head's place.

    What the real API answers, from Adobe's SDK integration tests, which run against reactor.adobe.io
    (adobe/reactor-sdk-javascript test/integration/*.test.js): `reviseExtension(head.id).data.id` is
    not the head's id ("revises an Extension"; rules' makeRuleRevision and data elements' "revises a
    DataElement" likewise, the latter with `attributes.revision_number` 1, then 2 for a second
    revise of the same head); the revision keeps the head's name (rules); `GET /{type}/{head}/revisions`
    holds the head and every revision, and `filter[revision_number]=EQ 1` keeps the first alone;
    `GET /{type}/{revision}/origin` is the head, `revision_number` 0; helpers.js and
    libraries.test.js add the answered id to libraries as the revision. The docs' own examples
    disagree only for the revise answer (data-elements.md and extensions.md "Revise" show the head's
    id with `revision_number` 0), and data-elements.md says in words that the response "returns the
    details of the new revision"; extensions.md's "details of the revised extension" is no word to
    the contrary. So the real API's behaviour is followed. rules.md's revisions example agrees with
    the SDK: the head (`revision_number` 0) then the revision (1), both with `latest_revision_number` 1.
    Status stays 200: nothing in the docs or the SDK says otherwise.
    """
    number = int(head.get("latest_revision_number", 0)) + 1
    head["attributes"].update(changes, dirty=False)
    kept = {k: v for k, v in head["attributes"].items() if k not in ("created_at", "updated_at")}
    revision = await store.create(head["type"], head["parent"], {**kept, "revision_number": number},
                                  {**head["rel"], "origin": head["id"]}, listed=False,
                                  latest_revision_number=number, revisions=[])
    for earlier_id in head.get("revisions", []):  # `latest_revision_number` is the family's, as rules.md shows
        if (earlier := await store.get(earlier_id, deleted=True)) is not None:
            earlier["latest_revision_number"] = number
            await store.put(earlier)
    head["latest_revision_number"] = number
    head["revisions"] = [*head.get("revisions", []), revision["id"]]
    await store.touch(head)
    return revision


async def delete(store: Store, record: Record) -> Outcome:
    kind = record["type"]
    if kind in FIXED:
        return fail("read-only")
    if kind == "hosts":
        users = await store.children(record["rel"]["property"], "environments")
        if any(env["rel"].get("host") == record["id"] for env in users):
            return fail("host-in-use")
    partner = {"libraries": "environment", "environments": "library"}.get(kind)
    if partner and (other := await store.get(record["rel"].get(partner) or "")) is not None:
        other["rel"][{"environment": "library", "library": "environment"}[partner]] = None
        await store.put(other)
    for resource_id in [record["id"], *record.get("revisions", [])]:
        found = await store.get(resource_id, deleted=True)
        if found is not None:
            found["deleted"] = True
            if kind in REVISABLE:
                found["attributes"]["deleted_at"] = store.now()
                found.setdefault("meta", {})["deleted_at"] = found["attributes"]["deleted_at"]
            await store.put(found)
    if kind == "properties":
        await purge_children(store, record["id"])
    return no_content()


async def purge_children(store: Store, prop_id: str) -> None:
    """A deleted property takes its resources with it: each answers not-found, rules and data elements
    too (no `deleted_at` reading). The docs say nothing of it; every resource belongs to its property
    (its `property` relationship), and Adobe's SDK tests never read one after deleting its property."""
    for kind in CHILD_KINDS:
        ids = await store.state.get(store.session, children_key(prop_id, kind), [])
        for child in [c for c in [await store.get(i, deleted=True) for i in ids] if c is not None]:
            owned = [child["id"], *child.get("revisions", [])]
            owned += [b["id"] for b in await store.children(child["id"], "builds")] if kind == "libraries" else []
            for resource_id in owned:
                if (found := await store.get(resource_id, deleted=True)) is not None:
                    found.update(deleted=True, purged=True)
                    await store.put(found)
