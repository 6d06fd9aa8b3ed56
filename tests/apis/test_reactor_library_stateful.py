"""Random sequences of library calls against a model of what the libraries, builds and publishing-flow
pages say (AdobeDocs/experience-platform.en help/tags/api/endpoints/{libraries,builds}.md,
help/tags/ui/publishing/publishing-flow.md, guides/error-handling.md; the table with sources and verdicts
is the round's model.md).

The model: one web property (Core installed) holds libraries, environments (one per library at a time:
environment-in-use), data elements, rules and their revisions. A library changes its resources only in
development (else read-only); it moves by `meta.action` as the state table allows (else read-only);
submit and reject unassign its environment (publishing-flow.md; the transition example of libraries.md
answers `environment.data: null` with a `last_build`); it builds only with an environment
(environment-required) that has a host (host-required); a build is `pending`, then `succeeded`, or
`failed` with its delayed errors in `meta.status_details` (extension-not-found when a data element's
extension is not in the library; an asynchronous error asked by flag); an approved library built to
production becomes `published`. A library holds one revision of a resource (multiple-revisions) and no
deleted one (deleted-resources). Where the docs are silent (what a library lists once one of its
resources is deleted, deleting a library outside development, a build of a library in the wrong state
for its environment), the model does not assert.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, multiple, precondition, rule

from tests.apis.stateful import SETTINGS, Recorder, body
from tests.apis.test_reactor_support import HEADERS, ID, JSONAPI, assert_jsonapi

RESOURCE_KINDS = ("data_elements", "extensions", "rules")
STAGES = ("development", "staging", "production")
# action -> (states it may start from, state it leads to): publishing-flow.md's state diagram, the
# actions libraries.md names (develop, submit, approve, reject)
TRANSITIONS = {"submit": (("development",), "submitted"), "approve": (("submitted",), "approved"),
               "reject": (("submitted", "approved"), "rejected"), "develop": (("submitted", "rejected"), "development")}
UNASSIGNS = ("submit", "reject")  # publishing-flow.md: "Unassign the library from the ... environment"
ASYNC = ("timeout-error", "minification-error", "sftp-exception", "upstream-build-required")


class LibraryModel(RuleBasedStateMachine):
    libraries = Bundle("libraries")
    environments = Bundle("environments")
    resources = Bundle("resources")
    builds = Bundle("builds")

    def __init__(self) -> None:
        super().__init__()
        self.api = Recorder("reactor", headers=HEADERS)
        company = body(self.api.request("GET", "/reactor/companies"))["data"][0]["id"]
        created = self.send("POST", f"/companies/{company}/properties", {"data": {"type": "properties", "attributes": {
            "name": "Library model", "platform": "web", "domains": ["example.com"]}}})
        assert created.status_code == 201, created.text
        self.prop = body(created)["data"]["id"]
        core = body(self.send("GET", f"/properties/{self.prop}/extensions"))["data"]
        assert [e["attributes"]["name"] for e in core] == ["core"]
        self.core = core[0]["id"]
        self.host = body(self.send("POST", f"/properties/{self.prop}/hosts", {"data": {"type": "hosts", "attributes": {
            "name": "Akamai", "type_of": "akamai"}}}))["data"]["id"]
        self.libs: dict[str, dict[str, Any]] = {}  # id -> state, env, rel, gone, last_build, build_status
        self.envs: dict[str, dict[str, Any]] = {}  # id -> stage, host, library, gone
        # id -> kind, head (the family), deleted; Core is the property's from the start
        self.res: dict[str, dict[str, Any]] = {self.core: {"kind": "extensions", "head": self.core, "deleted": False,
                                                           "extension": None}}
        self.builds_: dict[str, dict[str, Any]] = {}  # id -> library, env, status, codes

    # -- helpers -------------------------------------------------------------------------------
    def send(self, method: str, path: str, document: Any = None, **params: Any) -> Any:
        response = self.api.request(method, f"/reactor{path}", json=document, params=params or None)
        if response.status_code >= 400:
            assert response.headers["content-type"] == JSONAPI, response.headers
            for error in body(response)["errors"]:
                entry = self.api.catalog[error["code"]]
                assert int(error["status"]) == entry["status"] == response.status_code, error
                assert error["title"] == entry["title"]
        elif response.content:
            assert_jsonapi(body(response))
        return response

    def expect_error(self, response: Any, *codes: str, pointers: list[str] | None = None) -> None:
        errors = body(response)["errors"]
        assert [e["code"] for e in errors] == list(codes), response.text
        assert response.status_code == self.api.catalog[codes[0]]["status"]
        if pointers is not None:
            assert [e.get("source", {}).get("pointer") for e in errors] == pointers, response.text

    def live_library(self, lib: str) -> dict[str, Any] | None:
        known = self.libs[lib]
        return None if known["gone"] else known

    def holder(self, env: str) -> str | None:
        """The live library an environment serves, if any."""
        lib = self.envs[env]["library"]
        return lib if lib is not None and not self.libs[lib]["gone"] else None

    def unassign(self, lib: str) -> None:
        known = self.libs[lib]
        if known["env"] is not None:
            self.envs[known["env"]]["library"] = None
        known["env"] = None

    def family(self, resource: str) -> str:
        return str(self.res[resource]["head"])

    def uncertain(self, lib: str) -> bool:
        """A library holding a deleted resource: the docs do not say what it lists or builds then."""
        return any(self.res[i]["deleted"] for kind in RESOURCE_KINDS for i in self.libs[lib]["rel"][kind])

    # -- libraries -----------------------------------------------------------------------------
    @rule(target=libraries, name=st.sampled_from(["Aaron", "Brian", "Chuck"]))
    def create_library(self, name: str) -> str:
        response = self.send("POST", f"/properties/{self.prop}/libraries",
                             {"data": {"type": "libraries", "attributes": {"name": name}}})
        assert response.status_code == 201, response.text
        data = body(response)["data"]
        assert ID["libraries"].match(data["id"]) and data["id"] not in self.libs
        # libraries.md "Look up a library": a new library is in development, builds required, no environment
        assert data["attributes"]["state"] == "development" and data["attributes"]["build_required"] is True
        assert data["relationships"]["environment"]["data"] is None
        self.libs[data["id"]] = {"state": "development", "env": None, "rel": {k: [] for k in RESOURCE_KINDS},
                                 "gone": False, "last_build": None, "build_status": None, "required": True}
        return str(data["id"])

    @rule(target=environments, stage=st.sampled_from(STAGES), hosted=st.booleans())
    def create_environment(self, stage: str, hosted: bool) -> str:
        data: dict[str, Any] = {"type": "environments", "attributes": {"name": f"{stage} env", "stage": stage}}
        if hosted:
            data["relationships"] = {"host": {"data": {"id": self.host, "type": "hosts"}}}
        response = self.send("POST", f"/properties/{self.prop}/environments", {"data": data})
        if stage != "development" and any(e["stage"] == stage and not e["gone"] for e in self.envs.values()):
            # environments.md: a property has one staging and one production environment
            assert response.status_code == 422 and body(response)["errors"][0]["code"] == "not-unique"
            return multiple()
        assert response.status_code == 201, response.text
        env = str(body(response)["data"]["id"])
        self.envs[env] = {"stage": stage, "host": hosted, "library": None, "gone": False}
        return env

    @rule(target=resources, kind=st.sampled_from(["data_elements", "rules"]))
    def create_resource(self, kind: str) -> str:
        data: dict[str, Any] = {"type": kind, "attributes": {"name": f"{kind} {len(self.res)}"}}
        if kind == "data_elements":
            data["attributes"].update(delegate_descriptor_id="core::dataElements::cookie", settings='{"name": "x"}')
            data["relationships"] = {"extension": {"data": {"id": self.core, "type": "extensions"}}}
        response = self.send("POST", f"/properties/{self.prop}/{kind}", {"data": data})
        assert response.status_code == 201, response.text
        resource = str(body(response)["data"]["id"])
        self.res[resource] = {"kind": kind, "head": resource, "deleted": False,
                              "extension": self.core if kind == "data_elements" else None}
        return resource

    @rule(target=resources)
    def core_extension(self) -> str:
        return self.core

    @rule(target=resources, resource=resources)
    def revise(self, resource: str) -> str:
        """data-elements.md, extensions.md, rules.md "Revise": a new revision of the head (its own id)."""
        head = self.family(resource)
        kind = self.res[head]["kind"]
        response = self.send("PATCH", f"/{kind}/{head}", {"data": {"id": head, "type": kind,
                                                                    "meta": {"action": "revise"}}})
        if self.res[head]["deleted"]:
            self.expect_error(response, "not-found")
            return resource
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        assert data["id"] not in self.res and data["relationships"]["origin"]["data"]["id"] == head
        number = 1 + sum(1 for r in self.res.values() if r["head"] == head and r is not self.res[head])
        assert data["attributes"]["revision_number"] == number
        self.res[data["id"]] = {"kind": kind, "head": head, "deleted": False, "extension": self.res[head]["extension"]}
        return str(data["id"])

    @rule(resource=resources)
    def delete_resource(self, resource: str) -> None:
        head = self.family(resource)
        kind = self.res[head]["kind"]
        if kind == "extensions":
            return  # Core stays: the model's data elements are made on it
        response = self.send("DELETE", f"/{kind}/{head}")
        if self.res[head]["deleted"]:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 204, response.text
        for known in self.res.values():  # a head goes with its revisions (test_reactor_flow.py)
            if known["head"] == head:
                known["deleted"] = True

    # -- a library's resources -----------------------------------------------------------------
    def change_errors(self, lib: str, kind: str, items: list[str], present: list[str]) -> list[tuple[str, str]]:
        """The errors (code, pointer) of adding these items: not-found alone when an item names nothing of the
        kind (a 404 comes before the 422s: one status per answer), else deleted-resources, multiple-revisions."""
        families = {self.family(i): i for i in present}
        found = []
        for index, item in enumerate(items):
            if self.res[item]["kind"] != kind:
                found.append(("not-found", f"/data/{index}"))
            elif self.res[item]["deleted"]:
                found.append(("deleted-resources", f"/data/{index}"))
            elif families.setdefault(self.family(item), item) != item:
                found.append(("multiple-revisions", f"/data/{index}"))
        return [e for e in found if e[0] == "not-found"] or found

    @rule(lib=libraries, kind=st.sampled_from(RESOURCE_KINDS), method=st.sampled_from(["POST", "PATCH", "DELETE"]),
          data=st.data())
    def change_resources(self, lib: str, kind: str, method: str, data: st.DataObject) -> None:
        """libraries.md "Add", "Replace", "Remove resources": POST adds, PATCH replaces, DELETE removes."""
        mine = sorted(i for i, r in self.res.items() if r["kind"] == kind)
        others = sorted(i for i, r in self.res.items() if r["kind"] != kind)
        pick = st.sampled_from(mine) if not others else st.sampled_from(mine) | st.sampled_from(others) \
            if mine else st.sampled_from(others)
        items = data.draw(st.lists(pick, max_size=3))
        response = self.send(method, f"/libraries/{lib}/relationships/{kind}",
                             {"data": [{"id": i, "type": self.res[i]["kind"]} for i in items]})
        known = self.live_library(lib)
        if known is None:
            self.expect_error(response, "not-found")
            return
        if known["state"] != "development":  # publishing-flow.md: changes only in Development
            self.expect_error(response, "read-only", pointers=["/data"])
            return
        current = known["rel"][kind]
        if method == "DELETE":
            kept = [i for i in current if i not in items]
        else:
            unique = list(dict.fromkeys(items))
            errors = self.change_errors(lib, kind, items, current if method == "POST" else [])
            if errors:
                self.expect_error(response, *[c for c, _ in errors], pointers=[p for _, p in errors])
                return
            kept = unique if method == "PATCH" else list(dict.fromkeys([*current, *unique]))
        assert response.status_code == 200, response.text
        answered = [d["id"] for d in body(response)["data"]]
        self.check_listed(answered, kept)
        known["rel"][kind] = kept

    def check_listed(self, listed: list[str], held: list[str]) -> None:
        """What a library lists of a kind: what it holds, in order; a deleted resource it holds may or
        may not be listed (the docs are silent: model.md)."""
        live = [i for i in held if not self.res[i]["deleted"]]
        assert [i for i in listed if not self.res[i]["deleted"]] == live, (listed, held)
        assert set(listed) <= set(held), (listed, held)

    # -- environments --------------------------------------------------------------------------
    @precondition(lambda self: any(not k["gone"] and k["state"] != "published" for k in self.libs.values()))
    @rule(lib=libraries, env=environments)
    def assign(self, lib: str, env: str) -> None:
        """libraries.md "Assign a library to an environment"; environment-in-use (error-handling.md)."""
        if self.libs[lib]["state"] == "published":
            return  # the docs say nothing of a published library's environment
        response = self.send("POST", f"/libraries/{lib}/relationships/environment",
                             {"data": {"id": env, "type": "environments"}})
        if self.live_library(lib) is None or self.envs[env]["gone"]:
            self.expect_error(response, "not-found")
            return
        if self.holder(env) not in (None, lib):
            self.expect_error(response, "environment-in-use", pointers=["/data"])
            return
        assert response.status_code == 200, response.text
        assert body(response)["data"] == {"id": env, "type": "environments"}
        self.unassign(lib)
        self.libs[lib]["env"] = env
        self.envs[env]["library"] = lib

    @rule(lib=libraries)
    def unassign_environment(self, lib: str) -> None:
        response = self.send("DELETE", f"/libraries/{lib}/relationships/environment")
        if self.live_library(lib) is None:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 204, response.text
        self.unassign(lib)

    @rule(env=environments)
    def delete_environment(self, env: str) -> None:
        if not self.envs[env]["gone"] and self.holder(env):
            return  # deleting an environment a library uses: the docs are silent
        response = self.send("DELETE", f"/environments/{env}")
        if self.envs[env]["gone"]:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 204, response.text
        self.envs[env].update(gone=True, library=None)

    # -- publishing ----------------------------------------------------------------------------
    @rule(lib=libraries, action=st.sampled_from(["submit", "approve", "reject", "develop"]))
    def transition(self, lib: str, action: str) -> None:
        """libraries.md "Transition a library": `meta.action` as the state allows."""
        response = self.send("PATCH", f"/libraries/{lib}", {"data": {"id": lib, "type": "libraries",
                                                                      "meta": {"action": action}}})
        known = self.live_library(lib)
        if known is None:
            self.expect_error(response, "not-found")
            return
        sources, target = TRANSITIONS[action]
        if known["state"] not in sources:
            self.expect_error(response, "read-only", pointers=["/data/meta/action"])
            return
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        known.update(state=target, build_status=None, required=True)
        if action in UNASSIGNS:
            self.unassign(lib)
        assert data["attributes"]["state"] == target and data["attributes"]["build_required"] is True
        assert data["relationships"]["environment"]["data"] == (
            {"id": known["env"], "type": "environments"} if known["env"] else None), (action, data)

    @rule(target=builds, lib=libraries, asked=st.sampled_from([None, *ASYNC]))
    def build(self, lib: str, asked: str | None) -> str | None:
        """builds.md "Create a build"; environment-required, host-required; a delayed error asked by flag."""
        known = self.live_library(lib)
        env = self.envs[known["env"]] if known and known["env"] else None
        if known and (known["state"] == "published" or (env and env["stage"] == "production"
                                                         and known["state"] != "approved")):
            return None  # libraries.md: "Only approved libraries may be published to production"; no code named
        params = {"__error": asked} if asked else {}
        response = self.send("POST", f"/libraries/{lib}/builds", **params)
        if known is None:
            self.expect_error(response, "not-found")
            return None
        if known["env"] is None:
            self.expect_error(response, "environment-required")
            return None
        if not self.envs[known["env"]]["host"]:
            self.expect_error(response, "host-required")
            return None
        assert response.status_code == 201, response.text
        data = body(response)["data"]
        assert ID["builds"].match(data["id"]) and data["attributes"]["status"] == "pending"
        assert data["relationships"]["library"]["data"]["id"] == lib
        assert data["relationships"]["environment"]["data"]["id"] == known["env"]
        codes = [asked] if asked else []
        codes += ["extension-not-found"] * self.missing_extensions(lib)
        self.builds_[data["id"]] = {"library": lib, "env": known["env"], "status": "pending", "codes": codes,
                                    "uncertain": self.uncertain(lib)}
        known.update(last_build=data["id"], build_status="pending")
        return str(data["id"])

    def missing_extensions(self, lib: str) -> int:
        """error-handling.md extension-not-found: a data element whose extension the library lacks."""
        held = {self.family(i) for i in self.libs[lib]["rel"]["extensions"]}
        return sum(1 for i in self.libs[lib]["rel"]["data_elements"]
                   if self.res[i]["extension"] is not None and self.family(self.res[i]["extension"]) not in held)

    @rule(build=builds)
    def poll(self, build: str | None) -> None:
        """The SDK's buildLibrary polls GET /builds/{id} while pending; delayed errors in meta.status_details."""
        if build is None:
            return
        known = self.builds_[build]
        if self.libs[known["library"]]["gone"]:
            return  # the docs say nothing of a deleted library's builds
        response = self.send("GET", f"/builds/{build}")
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        status = data["attributes"]["status"]
        expected = "failed" if known["codes"] else "succeeded"
        if known["uncertain"]:
            assert status in ("succeeded", "failed")
        else:
            assert status == expected, (status, known, data)
        codes = [e["code"] for e in data["meta"].get("status_details", {}).get("errors", [])]
        assert not codes if status == "succeeded" else known["uncertain"] or codes == known["codes"], codes
        if known["status"] == "pending":
            known["status"] = status
            self.finished(known, status)

    def finished(self, build: dict[str, Any], status: str) -> None:
        """libraries.md "Publish a library": an approved library built to production is published."""
        lib = self.libs[build["library"]]
        if lib["gone"]:
            return
        lib["build_status"] = status
        env = self.envs[build["env"]]
        if status == "succeeded" and lib["state"] == "approved" and env["stage"] == "production" and not env["gone"]:
            lib["state"] = "published"

    @rule(lib=libraries)
    def promote(self, lib: str) -> None:
        """The SDK's "publishes a Library": an environment of its stage, a build, its poll, the next action."""
        known = self.live_library(lib)
        if known is None or known["state"] not in ("development", "submitted", "approved", "rejected"):
            return
        if known["state"] == "rejected":
            self.transition(lib, "develop")
            return
        stage = {"development": "development", "submitted": "staging", "approved": "production"}[known["state"]]
        # a property holds one staging and one production environment: the one there, if any, else a new one
        there = [e for e, k in self.envs.items() if k["stage"] == stage != "development" and not k["gone"]]
        env = there[0] if there else self.create_environment(stage, True)
        self.assign(lib, env)
        self.poll(self.build(lib, None))
        if known["state"] in ("development", "submitted"):
            self.transition(lib, {"development": "submit", "submitted": "approve"}[known["state"]])

    # -- reading back --------------------------------------------------------------------------
    @rule(lib=libraries)
    def read_library(self, lib: str) -> None:
        response = self.send("GET", f"/libraries/{lib}")
        known = self.live_library(lib)
        if known is None:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        assert data["attributes"]["state"] == known["state"], (data["attributes"], known)
        assert bool(data["attributes"]["published_at"]) == (known["state"] == "published")
        env = {"id": known["env"], "type": "environments"} if known["env"] else None
        assert data["relationships"]["environment"]["data"] == env, (data["relationships"]["environment"], known)
        last = {"id": known["last_build"], "type": "builds"} if known["last_build"] else None
        assert data["relationships"]["last_build"]["data"] == last
        assert data["meta"]["build_status"] == known["build_status"], (data["meta"], known)
        linkage = body(self.send("GET", f"/libraries/{lib}/relationships/environment"))["data"]
        assert linkage == env
        related = body(self.send("GET", f"/libraries/{lib}/environment"))["data"]
        assert (related and related["id"]) == (known["env"] or None)
        for kind in RESOURCE_KINDS:
            own = [r["id"] for r in body(self.send("GET", f"/libraries/{lib}/relationships/{kind}"))["data"]]
            self.check_listed(own, known["rel"][kind])
            assert [r["id"] for r in body(self.send("GET", f"/libraries/{lib}/{kind}"))["data"]] == own

    @rule(env=environments)
    def read_environment_library(self, env: str) -> None:
        """environments.md: an environment's library."""
        response = self.send("GET", f"/environments/{env}/library")
        if self.envs[env]["gone"]:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        assert (data and data["id"]) == self.holder(env), (data, self.envs[env])

    @rule(state=st.sampled_from(["development", "submitted", "approved", "rejected", "published"]))
    def list_by_state(self, state: str) -> None:
        """libraries.md: a property's libraries, filterable by `state` (guides/filtering.md)."""
        response = self.send("GET", f"/properties/{self.prop}/libraries",
                             **{"filter[state]": f"EQ {state}", "page[size]": "100"})
        assert response.status_code == 200, response.text
        expected = [i for i, k in self.libs.items() if not k["gone"] and k["state"] == state]
        assert [d["id"] for d in body(response)["data"]] == expected

    @rule(lib=libraries)
    def delete_library(self, lib: str) -> None:
        """publishing-flow.md lists Delete for a library in Development; environment-in-use's Option 2."""
        known = self.libs[lib]
        if not known["gone"] and known["state"] != "development":
            return  # the docs name no Delete outside Development
        response = self.send("DELETE", f"/libraries/{lib}")
        if known["gone"]:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 204, response.text
        self.unassign(lib)
        known["gone"] = True

    def teardown(self) -> None:
        self.api.finish()


LibraryModel.TestCase.settings = SETTINGS
TestLibraryModel = LibraryModel.TestCase
