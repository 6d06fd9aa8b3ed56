"""Audit events: what Reactor records of each change, for `GET /audit_events` and callbacks.

audit-events.md: an event is `{RESOURCE_TYPE}.{EVENT}` (`rule.created`), for properties,
extensions, data elements, rules, rule components, libraries, builds, environments and hosts,
and `created`, `updated` or `deleted`. Its `entity` attribute is the resource's JSON:API document
as a string, as it was when the change was made; `relationships.entity` points at the resource.
"""

from __future__ import annotations

import json

from mockserver.apis import reactor_docs as docs
from mockserver.apis.reactor_store import Record, Store

# the user the session acts as (endpoints/profile.md, and the audit events' `attributed_to_*`)
USER_NAME = "John Smith"
USER_EMAIL = "jsmith@example.com"
AUDITED = {"properties": "property", "extensions": "extension", "data_elements": "data_element", "rules": "rule",
           "rule_components": "rule_component", "libraries": "library", "builds": "build",
           "environments": "environment", "hosts": "host"}
EVENTS = ("created", "updated", "deleted")


async def audit(store: Store, record: Record, event: str) -> None:
    """Record `{type}.{event}` for a change just made (types the docs do not list make none)."""
    if record["type"] not in AUDITED:
        return
    company = await store.company()
    if company is None:
        return
    prop_id = record["id"] if record["type"] == "properties" else record["rel"].get("property")
    prop = await store.get(prop_id, "properties", deleted=True) if isinstance(prop_id, str) else None
    entity = {"data": docs.resource(record, store.ctx.base_url)}
    name = record["attributes"].get("name") or record["attributes"].get("token") or record["id"]
    await store.create("audit_events", company["id"], {
        "attributed_to_display_name": USER_NAME, "attributed_to_email": USER_EMAIL, "display_name": name,
        "type_of": f"{AUDITED[record['type']]}.{event}", "entity": json.dumps(entity, separators=(",", ":"))},
        {"property": prop["id"] if prop else None, "entity": record["id"]},
        meta={"property_name": prop["attributes"].get("name")} if prop else {})


async def audit_events(store: Store) -> list[Record]:
    """The company's events, newest first (as the docs' list shows them)."""
    company = await store.company()
    return list(reversed(await store.children(company["id"], "audit_events"))) if company else []
