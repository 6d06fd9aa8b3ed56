"""Reactor resources kept per session in the state store: records, child lists, ids, timestamps.

Every record is plain JSON-like data under `reactor:r:{id}`, so a shared store (Redis) can hold it;
lists of children live under `reactor:c:{parent}:{type}` and grow by compare-and-set, never by a
blind overwrite. Ids are Reactor's: a 2-letter prefix and 32 hex digits from the seeded generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mockserver.engine.context import RequestContext
from mockserver.engine.generate import Generator

Record = dict[str, Any]

PREFIX = {
    "companies": "CO",
    "properties": "PR",
    "libraries": "LB",
    "builds": "BL",
    "environments": "EN",
    "hosts": "HT",
    "extensions": "EX",
    "data_elements": "DE",
    "rules": "RL",
    "extension_packages": "EP",
    "rule_components": "RC",
    "callbacks": "CB",
    "audit_events": "AE",
}
TYPE_OF_PREFIX = {prefix: kind for kind, prefix in PREFIX.items()}
REVISABLE = ("extensions", "data_elements", "rules", "rule_components")
# Adobe's SDK integration tests read a rule component, a rule and a data element after deleting it,
# and find `deleted_at` (attributes.deleted_at for the component, meta.deleted_at for the others:
# adobe/reactor-sdk-javascript test/integration/{rule-components,rules,data-elements}.test.js): they
# stay readable by id, and leave the lists
SOFT_DELETED = ("rule_components", "rules", "data_elements")
SEEDED = "reactor:seeded"
SEEDED_SINCE = 1577836800  # 2020-01-01T00:00:00Z


def record_key(resource_id: str) -> str:
    return f"reactor:r:{resource_id}"


def children_key(parent_id: str, kind: str) -> str:
    return f"reactor:c:{parent_id}:{kind}"


def iso(seconds: float) -> str:
    """Reactor's timestamps: `2020-12-14T17:44:10.776Z`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Store:
    """The session's Reactor resources, read and written through `ctx.state`."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.session = ctx.session

    def new_id(self, kind: str, generator: Generator | None = None) -> str:
        return PREFIX[kind] + (generator or self.ctx.generator).hex(32)

    def now(self) -> str:
        """created_at, updated_at ...: the session's time line, not the wall (clients only print them)."""
        return iso(self.ctx.clock.stamp(self.ctx.number))

    async def get(self, resource_id: str, kind: str | None = None, deleted: bool = False) -> Record | None:
        """The record, if it exists (and is of `kind`, and not deleted unless asked)."""
        found = await self.state.get(self.session, record_key(resource_id))
        if not isinstance(found, dict):
            return None
        if kind is not None and found.get("type") != kind:
            return None
        if found.get("deleted") and (not deleted or found.get("purged")):  # purged: its property was deleted
            return None
        return found

    async def put(self, record: Record) -> None:
        await self.state.set(self.session, record_key(record["id"]), record)

    async def children(self, parent_id: str, kind: str) -> list[Record]:
        ids = await self.state.get(self.session, children_key(parent_id, kind), [])
        found = [await self.get(i, kind) for i in ids]
        return [r for r in found if r is not None]

    async def append_child(self, parent_id: str, kind: str, child_id: str) -> None:
        """Add an id to a child list without losing a concurrent writer's addition."""
        key = children_key(parent_id, kind)
        while True:
            current = await self.state.get(self.session, key)
            if await self.state.compare_and_set(self.session, key, current, [*(current or []), child_id]):
                return

    def record(self, kind: str, parent_id: str | None, attributes: dict[str, Any], rel: dict[str, Any] | None = None,
               resource_id: str | None = None, at: str | None = None, **extra: Any) -> Record:
        """A new record, not yet stored."""
        now = at or self.now()
        return {
            "id": resource_id or self.new_id(kind),
            "type": kind,
            "parent": parent_id,
            "attributes": {"created_at": now, **attributes, "updated_at": now},
            "rel": rel or {},
            "deleted": False,
            **extra,
        }

    async def create(self, kind: str, parent_id: str | None, attributes: dict[str, Any],
                     rel: dict[str, Any] | None = None, resource_id: str | None = None, listed: bool = True,
                     at: str | None = None, **extra: Any) -> Record:
        record = self.record(kind, parent_id, attributes, rel, resource_id, at, **extra)
        await self.put(record)
        if parent_id is not None and listed:
            await self.append_child(parent_id, kind, record["id"])
        return record

    async def touch(self, record: Record, **attributes: Any) -> Record:
        record["attributes"].update(attributes)
        record["attributes"]["updated_at"] = self.now()
        await self.put(record)
        return record

    async def ensure_seeded(self) -> None:
        """A fresh session has one company, Core and the other public packages, as a real org would.

        With a shared store the first requests of a session arrive together, and a reset may land among them: the
        seeding holds the session's Reactor resources and writes every record, and the mark, in one `set_many`.
        Marked first, a request in between listed no packages, or one of three (Redis); written one by one, a reset
        in the middle left the mark without the company, and the session answered 404 until the next reset."""
        if await self.state.get(self.session, SEEDED):
            return
        async with self.state.exclusive(self.session, "reactor"):
            if await self.state.get(self.session, SEEDED):
                return  # another request of this session seeded it meanwhile
            await self.state.set_many(self.session, self._seed())

    def _seed(self) -> dict[str, Any]:
        """The company and the public packages, their list, and the mark (the company's id, which names no record
        when the org has none), as the keys and values to write."""
        options = self.ctx.options
        generator = Generator(self.ctx.seed, self.session, 0, "reactor-seed")
        company_id = self.new_id("companies", generator)
        package_id = self.new_id("extension_packages", generator)
        if not options.get("org_has_company", True):
            return {SEEDED: company_id}  # an org without companies: the id names no record
        # what the org had before the session began: dated from the seed, not the clock, so the
        # first answers of a session replay byte for byte even with the clock running
        at = iso(SEEDED_SINCE + generator.integer(0, 3 * 365 * 86400))
        org_id = self.ctx.header("x-gw-ims-org-id") or str(options.get("org_id", "")) or (
            generator.hex(24).upper() + "@AdobeOrg")
        company = self.record("companies", None, {"name": options.get("company_name", "Example Company"),
                                                  "org_id": org_id, "token": generator.hex(12), "cjm_enabled": False,
                                                  "edge_enabled": False, "edge_events_allotment": None,
                                                  "edge_fanout_ratio": None}, resource_id=company_id, at=at)
        core, *others = public_manifests(options)
        # Core is released to everyone (`public`, extension-packages.md "Availability"): a client
        # looking for its own `development` package of a name (adobe/reactor-uploader
        # bin/getExtensionPackageFromServer.js filters on availability EQ development) must not find it
        packages = [self.record("extension_packages", company_id,
                                {**package_attributes(core, "succeeded", org_id), "availability": "public"},
                                resource_id=package_id, at=at)]
        # the other public packages of the catalog (option public_extension_packages), ids drawn
        # after Core's so a session's first answers keep their bytes
        packages += [self.record("extension_packages", company_id,
                                 {**package_attributes(manifest, "succeeded", org_id), "availability": "public"},
                                 resource_id=self.new_id("extension_packages", generator), at=at)
                     for manifest in others]
        return {**{record_key(r["id"]): r for r in [company, *packages]},
                children_key(company_id, "extension_packages"): [p["id"] for p in packages],
                SEEDED: company_id}

    async def company(self) -> Record | None:
        company_id = await self.state.get(self.session, SEEDED)
        return await self.get(company_id, "companies") if isinstance(company_id, str) else None


def public_manifests(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Core (option core_extension_package), then the other public packages (public_extension_packages):
    Adobe's, released to every org, seeded in each session."""
    core = dict(options["core_extension_package"])  # a mapping with a name: the loader refuses anything else
    others = listed(options.get("public_extension_packages"))
    return [core, *(m for m in others if isinstance(m, dict) and m.get("name"))]


def listed(value: Any) -> list[Any]:
    """A manifest member that should be a list; anything else counts as none."""
    return value if isinstance(value, list) else []


def package_attributes(manifest: dict[str, Any], status: str, org_id: str) -> dict[str, Any]:
    """An extension package's attributes from its extension.json (the fields Reactor shows)."""
    return {
        "actions": listed(manifest.get("actions")),
        "author": manifest.get("author") or {"name": "Adobe Systems"},
        "availability": "development",
        "conditions": listed(manifest.get("conditions")),
        "configuration": manifest.get("configuration"),
        "data_elements": listed(manifest.get("dataElements")),
        "description": str(manifest.get("description", "")),
        "discontinued": False,
        "display_name": str(manifest.get("displayName") or manifest.get("display_name") or manifest.get("name", "")),
        "events": listed(manifest.get("events")),
        "exchange_url": manifest.get("exchangeUrl"),
        "icon_path": manifest.get("iconPath"),
        "main": manifest.get("main"),
        "name": str(manifest.get("name", "")),
        "owner_org_id": org_id,
        "platform": str(manifest.get("platform", "web")),
        "shared_modules": manifest.get("sharedModules"),
        "status": status,
        "version": str(manifest.get("version", "1.0.0")),
        "view_base_path": str(manifest.get("viewBasePath", "dist/")),
    }
