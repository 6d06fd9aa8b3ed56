"""Creating Reactor resources: POST on a company's or property's collection.

Each type has its creator (what the endpoint's page requires, and the errors it documents);
a new web property also gets the Core extension, as the real API installs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mockserver.apis import handler
from mockserver.apis.reactor import (
    CHILD_KINDS,
    _syntax,
    document_data,
    fail,
    not_found,
    one,
    reading,
    related,
    related_id,
    render_errors,
    settings_error,
)
from mockserver.apis.reactor_audit import audit
from mockserver.apis.reactor_store import Record, Store
from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import Failure, Outcome


@handler("reactor.children")
async def children(ctx: RequestContext) -> Outcome:
    """GET or POST a property's (or company's) collection; other names are related resources."""
    parent_type = "companies" if ctx.path.startswith("/companies/") else "properties"
    kind = ctx.path_params.get("kind") or ctx.path.rstrip("/").rsplit("/", 1)[-1]  # its own route names no {kind}
    if reading(ctx):
        return await related(ctx, parent_type, kind)
    if parent_type == "properties" and kind not in CHILD_KINDS:
        return not_found()
    store = Store(ctx)
    parent = await store.get(ctx.path_params["id"], parent_type)
    if parent is None:
        return not_found()
    data = document_data(ctx)
    attributes = data["attributes"] if isinstance(data.get("attributes"), dict) else {}
    created = await CREATORS[kind](store, parent, attributes, data)
    if isinstance(created, Failure):
        return created
    await audit(store, created, "created")
    if kind == "properties":
        await install_core(store, created)
    return one(ctx, created, 201)


PLATFORMS = ("web", "mobile", "edge")


async def create_property(store: Store, company: Record, attributes: dict[str, Any],
                          data: Mapping[str, Any]) -> Record | Failure:
    if await name_taken(store, company["id"], "properties", attributes.get("name", "")):
        return fail("not-unique")
    # properties.md, create: `platform` "Can be either `web` ..., or `mobile` or `edge`"; `domains`
    # "(Required for web properties)". A body breaking the page's form is invalid-settings-syntax.
    if attributes.get("platform") not in PLATFORMS:
        return Failure(_syntax("/data/attributes/platform", "`platform` must be `web`, `mobile` or `edge`."))
    domains = attributes.get("domains")
    if attributes["platform"] == "web" and not (
            isinstance(domains, list) and domains and all(isinstance(d, str) and d for d in domains)):
        return Failure(_syntax("/data/attributes/domains", "A web property needs `domains`, a list of domains."))
    defaults = {"enabled": True, "development": False, "domains": [], "undefined_vars_return_empty": False,
                "rule_component_sequencing_enabled": False}
    return await store.create("properties", company["id"], {**defaults, **attributes,
                                                              "token": store.ctx.generator.hex(12)},
                              {"company": company["id"]})


async def name_taken(store: Store, parent_id: str, kind: str, name: Any, own_id: str | None = None) -> bool:
    wanted = str(name).casefold()
    return any(str(r["attributes"].get("name", "")).casefold() == wanted and r["id"] != own_id
               for r in await store.children(parent_id, kind))


async def create_library(store: Store, prop: Record, attributes: dict[str, Any],
                         data: Mapping[str, Any]) -> Record | Failure:
    return await store.create("libraries", prop["id"], {"name": attributes.get("name", ""), "published_at": None,
                                                        "state": "development", "build_required": True},
                              {"environment": None, "data_elements": [], "extensions": [],
                               "rules": [], "upstream_library": None, "property": prop["id"], "last_build": None})


STAGES = ("development", "staging", "production")


async def create_environment(store: Store, prop: Record, attributes: dict[str, Any],
                             data: Mapping[str, Any]) -> Record | Failure:
    host_id = related_id(data, "host")
    if host_id is not None and await own_record(store, host_id, "hosts", prop) is None:
        return not_found("/data/relationships/host/data")
    # environments.md: `stage` is "development, staging, or production" (left out: development), and a
    # property has one staging and one production environment ("Staging | One", "Production | One"). The
    # reference names no code for a second: not-unique, 422, pointing at the stage.
    stage = attributes.get("stage")
    stage = "development" if stage is None else stage  # null: not given, as for the other optional attributes
    if stage not in STAGES:
        return Failure(_syntax("/data/attributes/stage", "`stage` must be `development`, `staging` or `production`."))
    if stage != "development" and any(e["attributes"].get("stage") == stage
                                       for e in await store.children(prop["id"], "environments")):
        return fail("not-unique", "/data/attributes/stage",
                    detail=f"The stage you are trying to use is already in use. A property holds one {stage} "
                    "environment.")
    token = store.ctx.generator.hex(12)
    suffix = "" if stage == "production" else f"-{stage}"
    name = f"launch-{token}{suffix}.min.js"
    return await store.create("environments", prop["id"], {
        "archive": bool(attributes.get("archive", False)), "library_path": f"{token[:6]}/{token[6:]}",
        "library_name": name, "name": attributes.get("name", ""), "path": attributes.get("path"), "stage": stage,
        "status": "succeeded", "token": token}, {"library": None, "host": host_id, "property": prop["id"]})


async def create_host(store: Store, prop: Record, attributes: dict[str, Any],
                      data: Mapping[str, Any]) -> Record | Failure:
    type_of = attributes.get("type_of")
    if type_of not in ("akamai", "sftp"):
        return Failure(_syntax("/data/attributes/type_of", "`type_of` must be `akamai` or `sftp`."))
    if type_of == "sftp" and (refused := private_key_error(attributes.get("encrypted_private_key"))):
        return refused
    asked = store.ctx.async_errors  # by flag: deployment failures, which an SFTP host's verification can meet
    if type_of == "akamai" and asked:  # Adobe's own host is not verified: asked there, the errors answer at once
        return Failure(asked)
    # hosts.md: a new SFTP host is `pending` (its credentials verified, as host-type-error's pretest says), an
    # Akamai host `succeeded`; the verification ends at a GET that shows the host, with the errors asked.
    verified: dict[str, Any] = {"polls": 0, "failure": render_errors(store.ctx, asked)} if type_of == "sftp" else {}
    shown = {name: attributes.get(name) for name in ("server", "path", "port", "username")}
    status = "pending" if type_of == "sftp" else "succeeded"
    return await store.create("hosts", prop["id"], {**shown, "name": attributes.get("name", ""), "type_of": type_of,
                                                    "status": status}, {"property": prop["id"]}, **verified)


PGP_BEGIN, PGP_END = "-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----"


def private_key_error(key: Any) -> Failure | None:
    """An SFTP host's `encrypted_private_key` must be a whole PGP message (guides/encrypting-values.md), and
    decrypt-failed says "Ensure ... that whitespace has been trimmed": so whitespace before it, or after it
    beyond the one line end gpg's armored output closes with, fails, and so does a message cut short."""
    if not isinstance(key, str) or not key.strip():
        return fail("decrypt-no-data", "/data/attributes/encrypted_private_key")
    message = key.removesuffix("\n").removesuffix("\r")
    if (not message.startswith(PGP_BEGIN) or not message.endswith(PGP_END)
            or not message[len(PGP_BEGIN):-len(PGP_END)].strip()):
        return fail("decrypt-failed", "/data/attributes/encrypted_private_key")
    return None


def revisable(attributes: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {"deleted_at": None, "dirty": False, "enabled": True, "published": False, "published_at": None,
            "revision_number": 0, "review_status": "unsubmitted", **defaults, **attributes}


async def create_revisable(store: Store, kind: str, prop: Record, attributes: dict[str, Any],
                           rel: dict[str, Any]) -> Record:
    resource_id = store.new_id(kind)
    return await store.create(kind, prop["id"], attributes, {"property": prop["id"], "origin": resource_id, **rel},
                              resource_id=resource_id, revisions=[], latest_revision_number=0)


async def create_extension(store: Store, prop: Record, attributes: dict[str, Any],
                           data: Mapping[str, Any]) -> Record | Failure:
    package_id = related_id(data, "extension_package") or ""
    package = await store.get(package_id, "extension_packages")
    if package is None or package["attributes"].get("status") != "succeeded":
        return not_found("/data/relationships/extension_package/data")
    # extensions.md: "A property can have many extensions, but no more than one installed instance
    # of a given extension package". The error reference names no code of its own for a second one;
    # an extension's `name` is its package's, so the property would hold two extensions of one name:
    # not-unique ("the 'name' property must be unique"), 422, pointing at the package named.
    name = package["attributes"].get("name")
    if any(e["attributes"].get("name") == name for e in await store.children(prop["id"], "extensions")):
        return fail("not-unique", "/data/relationships/extension_package/data",
                    occurrence=f"The property already has an extension of the package `{name}`; "
                           "a property holds one installed instance of a given extension package.")
    shown = {k: package["attributes"][k] for k in ("name", "display_name", "version")}
    fields = revisable(attributes, {"delegate_descriptor_id": None, "settings": "{}", **shown})
    return await create_revisable(store, "extensions", prop, fields,
                                  {"extension_package": package_id, "updated_with_extension_package": package_id})


CORE = "core"


async def install_core(store: Store, prop: Record) -> Record | None:
    """Install the Core extension on a new web property, as the real API does.

    Adobe's SDK integration tests, which run against reactor.adobe.io, create a web property and
    then find Core on it without ever creating it (adobe/reactor-sdk-javascript
    test/integration/helpers.js getCoreExtension: `GET /properties/{id}/extensions` filtered on
    `name EQ core`, the one whose `extension_package` is the web Core package); extensions.test.js,
    data-elements.test.js and rule-components.test.js build on that extension. It is made by the
    same path as a client's `POST /properties/{id}/extensions` (no settings: Core has no
    configuration), and audited as that would be. Only web: the session has no mobile or edge Core
    package, and nothing seen shows what the real API installs on those.
    """
    if prop["attributes"].get("platform") != "web":
        return None
    company = await store.company()
    packages = await store.children(company["id"], "extension_packages") if company else []
    core = next((p for p in packages if p["attributes"].get("name") == CORE
                 and p["attributes"].get("platform") == "web" and p["attributes"].get("availability") == "public"
                 and p["attributes"].get("status") == "succeeded"), None)
    if core is None:  # a user's `core_extension_package` for another platform
        return None
    linkage = {"data": {"id": core["id"], "type": "extension_packages"}}
    created = await create_extension(store, prop, {}, {"type": "extensions",
                                                       "relationships": {"extension_package": linkage}})
    if isinstance(created, Failure):
        return None
    await audit(store, created, "created")
    return created


DELEGATE_LISTS = {"dataElements": "data_elements", "actions": "actions", "conditions": "conditions",
                  "events": "events"}
CUSTOM_CODE_LANGUAGES = ("javascript", "html")  # the language enum of Core's custom code schema


async def delegate_error(store: Store, extension: Record, descriptor: Any, kind: str,
                         settings: Any) -> Failure | None:
    """`{package}::{kind}::{name}` must name a delegate of the extension's package.

    guides/delegate-descriptor-ids.md gives the syntax. A package that lists no delegates of the
    kind (the seeded Core stands in for the real one and lists none) accepts any name. Custom code
    settings name a language, which must be one the Core schema allows.
    """
    parts = descriptor.split("::") if isinstance(descriptor, str) else []
    if kind not in DELEGATE_LISTS:
        return fail("delegate-descriptor-unresolved", "/data/attributes/delegate_descriptor_id")
    package = await store.get(extension["rel"].get("extension_package") or "", "extension_packages")
    listed_kind = package["attributes"].get(DELEGATE_LISTS.get(kind, ""), []) if package else []
    offered = [d.get("name") for d in listed_kind if isinstance(d, dict)] if isinstance(listed_kind, list) else []
    if len(parts) != 3 or parts[0] != extension["attributes"].get("name") or parts[1] != kind \
            or not parts[2] or (offered and parts[2] not in offered):
        return fail("delegate-descriptor-unresolved", "/data/attributes/delegate_descriptor_id")
    parsed = json.loads(settings) if isinstance(settings, str) and not settings_error({"settings": settings}) else {}
    if parts[2] == "custom-code" and "language" in parsed and parsed["language"] not in CUSTOM_CODE_LANGUAGES:
        return fail("unsupported-custom-code-language", "/data/attributes/settings")
    return None


async def providing_extension(store: Store, prop: Record, attributes: Mapping[str, Any], data: Mapping[str, Any],
                              record_type: str) -> Record | Failure:
    """The extension of the property that provides a data element or rule component, its delegate found."""
    extension = await own_record(store, related_id(data, "extension") or "", "extensions", prop)
    if extension is None:
        return not_found("/data/relationships/extension/data")
    descriptor = attributes.get("delegate_descriptor_id")
    refused = await delegate_error(store, extension, descriptor, delegate_kind(record_type, descriptor),
                                   attributes.get("settings"))
    return extension if refused is None else refused


async def create_data_element(store: Store, prop: Record, attributes: dict[str, Any],
                              data: Mapping[str, Any]) -> Record | Failure:
    extension = await providing_extension(store, prop, attributes, data, "data_elements")
    if isinstance(extension, Failure):
        return extension
    extension_id = extension["id"]
    fields = revisable(attributes, {"clean_text": False, "default_value": None, "force_lower_case": False,
                                    "storage_duration": None, "settings": "{}"})
    return await create_revisable(store, "data_elements", prop, fields, {"extension": extension_id})


async def create_rule(store: Store, prop: Record, attributes: dict[str, Any],
                      data: Mapping[str, Any]) -> Record | Failure:
    return await create_revisable(store, "rules", prop, revisable(attributes, {}), {})


RULE_COMPONENT_KINDS = ("events", "conditions", "actions")
# what a create or an update may set (rule-components.md's create and "can be updated" lists)
RULE_COMPONENT_FIELDS = ("delay_next", "delegate_descriptor_id", "name", "order", "rule_order", "settings", "timeout")


def delegate_kind(record_type: str, descriptor: Any) -> str:
    """The delegate list a descriptor must be found in: a rule component's names it, as the middle
    of `{package}::{events|conditions|actions}::{name}` ("" when it names none of them)."""
    if record_type == "data_elements":
        return "dataElements"
    parts = descriptor.split("::") if isinstance(descriptor, str) else []
    return parts[1] if len(parts) == 3 and parts[1] in RULE_COMPONENT_KINDS else ""


async def create_rule_component(store: Store, prop: Record, attributes: dict[str, Any],
                                data: Mapping[str, Any]) -> Record | Failure:
    """rule-components.md: an extension of the property provides it, and it joins the rules named."""
    extension = await providing_extension(store, prop, attributes, data, "rule_components")
    if isinstance(extension, Failure):
        return extension
    extension_id = extension["id"]
    rules = await linked_rules(store, data, prop)
    if isinstance(rules, Failure):
        return rules
    # the docs' create answer: a new component is dirty, defaults as shown there
    fields = {"deleted_at": None, "dirty": True, "negate": False, "order": 0, "rule_order": 50.0, "timeout": 2000,
              "delay_next": True, "published": False, "published_at": None, "revision_number": 0, "settings": "{}",
              **{k: v for k, v in attributes.items() if k in RULE_COMPONENT_FIELDS}}
    created = await create_revisable(store, "rule_components", prop, fields, {
        "extension": extension_id, "updated_with_extension": extension_id, "rules": [r["id"] for r in rules],
        "updated_with_extension_package": extension["rel"].get("extension_package")})
    for rule in rules:
        await store.append_child(rule["id"], "rule_components", created["id"])
    return created


async def linked_rules(store: Store, data: Mapping[str, Any], prop: Record) -> list[Record] | Failure:
    """`relationships.rules.data`: at least one rule, each of the property."""
    member = data.get("relationships", {}).get("rules") if isinstance(data.get("relationships"), dict) else None
    items = member.get("data") if isinstance(member, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return Failure(_syntax("/data/relationships/rules/data", "`rules` must name the rule of the component."))
    found = []
    for index, item in enumerate(items):
        rule = await own_record(store, str(item.get("id")), "rules", prop) if item.get("type") == "rules" else None
        if rule is None:
            return not_found(f"/data/relationships/rules/data/{index}")
        found.append(rule)
    return found


SUBSCRIPTION = re.compile(r"[a-z_]+\.(created|updated|deleted)")  # audit-events.md: {RESOURCE_TYPE}.{EVENT}


def https_url(value: Any) -> bool:
    """callbacks.md: "The URL must use the HTTPS protocol"; it must name a host too.

    No blank or control character anywhere: urlsplit would drop some (`ht\ttps://`) and
    accept what no HTTP client can call.
    """
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:  # an unbalanced [ in the host
        return False


def callback_error(attributes: Mapping[str, Any]) -> Failure | None:
    """A callback's `url` and `subscriptions`, when given, as callbacks.md describes them."""
    if "url" in attributes and not https_url(attributes["url"]):
        return Failure(_syntax("/data/attributes/url", "The URL must use the HTTPS protocol."))
    subscriptions = attributes.get("subscriptions", [])
    if not isinstance(subscriptions, list):
        return Failure(_syntax("/data/attributes/subscriptions", "`subscriptions` must be an array."))
    for index, item in enumerate(subscriptions):
        if not isinstance(item, str) or not SUBSCRIPTION.fullmatch(item):
            return Failure(_syntax(f"/data/attributes/subscriptions/{index}",
                                   "A subscription is an audit event type, {RESOURCE_TYPE}.{created|updated|deleted}."))
    return None


async def create_callback(store: Store, prop: Record, attributes: dict[str, Any],
                          data: Mapping[str, Any]) -> Record | Failure:
    refused = callback_error(attributes)
    if refused is not None:
        return refused
    return await store.create("callbacks", prop["id"], {"subscriptions": attributes["subscriptions"],
                                                        "url": attributes["url"]}, {"property": prop["id"]})


async def own_record(store: Store, resource_id: str, kind: str, prop: Record) -> Record | None:
    """A record of that type that belongs to the property (revisions count as their origin's)."""
    found = await store.get(resource_id, kind)
    return found if found is not None and found["rel"].get("property") == prop["id"] else None


CREATORS = {
    "properties": create_property,
    "libraries": create_library,
    "environments": create_environment,
    "hosts": create_host,
    "extensions": create_extension,
    "data_elements": create_data_element,
    "rules": create_rule,
    "rule_components": create_rule_component,
    "callbacks": create_callback,
}

