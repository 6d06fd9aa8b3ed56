"""Scenario files (YAML or JSON) -> a checked, compiled `Catalog`, or every problem at once.

Each problem reads `file:line: field: message`. Files are checked against `schema.json` first
(unknown keys, wrong types), then references are resolved: error ids, check and handler names,
templates, regular expressions, inline JSON Schemas. Several files may describe one API: later
files add to it and win on the same error id, route id, mode name or option key (the user's
`--scenarios` come after the bundled files).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import fnmatch
import functools
import itertools
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver import apis
from mockserver.engine.clock import parse_duration
from mockserver.engine.context import TEMPLATE_NAMES
from mockserver.engine.match import (
    PATH_PARAMETER,
    ConditionError,
    check_names,
    compile_condition,
    compile_path,
    route_index,
)
from mockserver.engine.render import TemplateError, check_json, compile_response, compile_tree, unknown_names
from mockserver.scenario.model import (
    Api,
    Catalog,
    Cors,
    DocumentedError,
    Mode,
    Quota,
    Route,
    Rule,
    host_specificity,
)
from mockserver.scenario.read import (
    Problem,
    ScenarioError,
    Segment,
    ValidityCache,
    Where,
    read_document,
    scenario_files,
    schema_problems,
)

BUNDLED = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class _Part:
    """One file's contribution to an API; `trusted` when the same bytes were found valid before."""

    data: dict[str, Any]
    where: Where
    trusted: bool = False
    bundled: bool = False  # one of the package's own files


def load_catalog(paths: Iterable[Path] = (), bundled: bool = True) -> Catalog:
    """Bundled files, then the user's; raises ScenarioError listing every problem."""
    apis.load_api_modules()
    own = scenario_files([BUNDLED]) if bundled else []
    read = {file.resolve() for file in own}  # a bundled file named again (`validate mockserver/scenarios`) is read once
    files = own + [file for file in scenario_files(paths) if file.resolve() not in read]
    problems: list[Problem] = []
    parts: dict[str, list[_Part]] = {}
    cache_of_valid = ValidityCache()
    fingerprints: dict[str, str] = {}
    for file in files:
        try:
            data, lines = read_document(file)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        where = Where(str(file), lines)
        fingerprints[str(file)] = fingerprint = cache_of_valid.fingerprint(file)
        trusted = cache_of_valid.known(fingerprint)
        found, checkable = ([], data) if trusted else schema_problems(data, where)
        problems.extend(found)
        if found:  # what is left of it may load, but the file is not valid: check it again next time
            fingerprints[str(file)] = ""
        if checkable is not None:
            parts.setdefault(data["api"], []).append(_Part(checkable, where, trusted, file in own))
    built: dict[str, Api] = {}
    for name, api_parts in parts.items():
        api, api_problems = _build_api(name, api_parts)
        problems.extend(api_problems)
        if api is not None:
            built[name] = api
            cache_of_valid.remember(fingerprints.get(p.where.file, "") for p in api_parts)
    order = {str(file): index for index, file in enumerate(files)}
    problems.extend(_prefix_problems(built, parts, order))
    if problems:  # read as an editor would go through them: file by file, top to bottom
        problems.sort(key=lambda problem: (order.get(problem.file, len(order)), problem.line))
        raise ScenarioError(problems)
    return Catalog(built)


def validate(paths: Iterable[Path]) -> list[Problem]:
    """Problems in these files, read together with the bundled ones (their API may be bundled)."""
    try:
        load_catalog(paths)
    except ScenarioError as exc:
        return exc.problems
    return []


def _prefix_problems(built: Mapping[str, Api], parts: Mapping[str, list[_Part]],
                     order: Mapping[str, int]) -> list[Problem]:
    """Two APIs on one prefix, or with `hosts` patterns that can match one Host and are as specific as
    each other (the most specific pattern wins a Host: `host_specificity`). The line blamed is the one read
    later (`order`: the files' index), in the file that set it last: a user's copy of dcs taking reactor's host is
    told in the user's file, not at reactor's bundled line; the other is named."""
    def later(one: Where, other: Where) -> bool:
        return order.get(one.file, len(order)) >= order.get(other.file, len(order))

    prefixes: dict[str, tuple[str, Where]] = {}
    hosts: list[tuple[str, str, Where]] = []  # (pattern, API, where) of the APIs before
    problems = []
    for api in built.values():
        at = next(p.where for p in reversed(parts[api.name]) if "prefix" in p.data).child("prefix")
        if api.prefix in prefixes:
            other_api, other_at = prefixes[api.prefix]
            blamed, named = (at, other_api) if later(at, other_at) else (other_at, api.name)
            problems.append(blamed.problem(f"{api.prefix} is already used by {named}"))
        prefixes[api.prefix] = (api.name, at)
        mine = []
        for index, host in enumerate(api.hosts):
            where = next(p.where for p in reversed(parts[api.name]) if "hosts" in p.data).child("hosts", index)
            for other, other_api, other_where in hosts:
                if host.lower() != other.lower() and (host_specificity(host) != host_specificity(other)
                                                      or not globs_overlap(host, other)):
                    continue
                ours = later(where, other_where)
                blamed, pattern = (where, host) if ours else (other_where, other)
                named, named_pattern, named_where = (other_api, other, other_where) if ours else (api.name, host, where)
                if host.lower() == other.lower():
                    problems.append(blamed.problem(f"{pattern} is already served by {named}"))
                else:
                    problems.append(blamed.problem(
                        f"{pattern} and {named}'s {named_pattern} ({named_where.file}:{named_where.line()}) can match "
                        "one Host, and neither is more specific (an exact name, then more literal characters, wins): "
                        "make one of them more specific"))
            mine.append((host, api.name, where))
        hosts.extend(mine)
    return problems


def globs_overlap(first: str, second: str) -> bool:
    """Whether some host name matches both fnmatch patterns (a `[...]` class counts as any character)."""
    a, b = _glob_tokens(first.lower()), _glob_tokens(second.lower())

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (meet(i + 1, j) or (j < len(b) and meet(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (meet(i, j + 1) or (i < len(a) and meet(i + 1, j))):
            return True
        if i == len(a) or j == len(b) or a[i] == "*" or b[j] == "*":
            return False
        return (a[i] == b[j] or a[i] == "?" or b[j] == "?") and meet(i + 1, j + 1)

    return meet(0, 0)


def _glob_tokens(pattern: str) -> list[str]:
    return ["?" if t.startswith("[") and len(t) > 1 else t for t in re.findall(r"\[!?\]?[^\]]*\]|.", pattern)]


def _merge(parts: list[_Part], integers: frozenset[str] = frozenset(), own_shapes: frozenset[str] = frozenset()
           ) -> tuple[dict[str, Any], dict[str, tuple[Any, Where]], list[tuple[Any, Where]]]:
    """Top-level values (later wins), errors by id, routes (a later file's new routes go first). `integers`: the
    options the API's module reads as integers (apis.INTEGER_OPTIONS); `own_shapes`: those whose shape its own
    check tells (apis.OWN_SHAPES)."""
    top: dict[str, Any] = {"options": {}, "headers": {}, "modes": {}, "_refused": [], "_merge_problems": [],
                           "_misspelt": [],
                           "_bundled_options": {}, "_option_where": {},
                           "_broken": {"errors": set(), "routes": set(), "top": set()}, "_shadowed": []}
    shadowed = top["_shadowed"]  # (kind, name, spec, where) a later file replaced: still checked, for its problems
    top_where: dict[str, Where] = {}
    errors: dict[str, tuple[Any, Where]] = {}
    routes: list[tuple[Any, Where]] = []
    for part in parts:
        data, where = part.data, part.where
        for key, value in data.items():
            if key == "options":
                for option, given in value.items():
                    found: list[Problem] = []
                    if option in own_shapes:
                        pass  # of several forms: the API's own check tells what it must be
                    elif option in top["options"]:  # a later file's value has the kind of the earlier one (bundled)
                        found = _kind_problems(top["options"][option], given, where.child("options", option))
                    elif not part.bundled:  # a user's new key, against the bundled ones only
                        top["_misspelt"] += [(option, p) for p in _misspelt_option(option, top["_bundled_options"],
                                                                                   where)]
                    if not found and option in integers:
                        found = _integer_problems(given, where.child("options", option))
                    top["_merge_problems"] += found
                top["options"].update(value)
                top["_option_where"].update({option: where.child("options", option) for option in value})
                if part.bundled:
                    top["_bundled_options"].update(value)
            elif key == "headers":
                top[key].update(value)
            elif key == "modes":
                shadowed += [("modes", n, *top["modes"][n]) for n in value if n in top["modes"]]
                top["modes"].update({n: (m, where.child("modes", n)) for n, m in value.items()})
            elif key == "errors":
                shadowed += [("errors", i, *errors[i]) for i in value if i in errors]
                errors.update({i: (e, where.child("errors", i)) for i, e in value.items()})
            elif key == "_refused":  # entries left out for their schema problems: (kind, where, value, bad paths)
                for kind, at, entry, bad in value:
                    top["_refused"].append((kind, where.child(kind, at), entry, bad))
                    # Their ids stay known: a rule naming a refused error, or a mode a refused route, is no
                    # problem more.
                    if kind == "errors" or (kind == "routes" and isinstance(entry, dict)):
                        top["_broken"][kind].add(str(at if kind == "errors" else entry.get("id")))
            elif key == "_refused_top":  # top-level values the schema refused: the API is not built
                top["_broken"]["top"] |= value
            elif key == "routes":
                index_of = {r["id"]: n for n, (r, _) in enumerate(routes)}
                new = []
                for index, route in enumerate(value):
                    if route is None:  # left out for its schema problem
                        continue
                    entry = (route, where.child("routes", index))
                    if route["id"] in index_of:
                        shadowed.append(("routes", route["id"], *routes[index_of[route["id"]]]))
                        routes[index_of[route["id"]]] = entry  # same id: the later file's route
                    else:
                        new.append(entry)
                routes[:0] = new  # a later file's new routes are tried first
            else:
                top[key] = value
                top_where[key] = where.child(key)
    top["_where"] = top_where
    return top, errors, routes


# A YAML date or timestamp (`2020-08-15T00:00:00Z` unquoted) is text to a module reading it with str().
_KINDS = ((bool, "true or false"), (int | float, "a number"), (str | datetime.date, "text"), (list, "a list"),
          (dict, "a mapping"))


def _kind_of(value: Any) -> str | None:
    return next((name for kind, name in _KINDS if isinstance(value, kind)), None)




def _misspelt_option(option: str, bundled: Iterable[str], where: Where) -> list[Problem]:
    """A new option a letter or two away from a bundled one (`payload_limit_byte`): it would be taken, for
    templates of one's own, and the option meant would silently keep its value."""
    close = difflib.get_close_matches(option, sorted(bundled), n=1, cutoff=0.9)
    if not close:
        return []
    return [where.child("options", option).problem(
        f"unknown option; did you mean {close[0]!r}? (a bundled option; this one would be "
        "taken as a new option, and change nothing)")]


def _kind_problems(before: Any, given: Any, where: Where, loose: bool = False) -> list[Problem]:
    """An option given a value of another kind than the file before gave it (`throttle_rate: fast` where the
    bundled file has 1): each request would have been the mock's 500. So is a negative number where the bundled
    one is not (`throttle_rate: -1`), a number that is not finite (`.inf`, `.nan`: int() raises on them, and
    nan passes every comparison), and null where the bundled file gives a number, true/false or a list (read as
    0, false, or a 500 when iterated: leave the option out, or write []). null where the bundled value is text or
    a mapping, or is null, says nothing: some read it as "none" (`org_id_pattern: null`).

    A list's elements and the entries of a mapping of named entries (each bundled value a mapping: DCS's
    partners) are held `loose`ly, to their shape only (a scalar, a list or a mapping), one level deep: modules
    read their scalars with str() (`denylist: {data_sources: ["999999"]}`, a version 1.0), and a user's entry
    may carry what its bundled fellows do not (a test account's `metadata`)."""
    if before is None:
        return []
    expected = _kind_of(before)
    if given is None:
        if not loose and expected in ("a number", "true or false", "a list"):
            none = "; [] for none" if expected == "a list" else ""
            return [where.problem(f"null where the option takes {expected} (as {before!r}){none}; leave it out "
                                  "to keep that value")]
        return []
    if loose:
        shape, shape_before = _shape_of(given), _shape_of(before)
        return [] if shape == shape_before else [
            where.problem(f"{_name_of(given)} where the option takes {shape_before} (as {before!r})")]
    if isinstance(before, dict) and isinstance(given, dict):
        entry = _entry_model(before.values())  # a named entry is held to the keys its fellows have
        return [p for key in given for p in (
            _kind_problems(before.get(key), given[key], where.child(key)) if entry is None else
            _entry_problems({**entry, **(before.get(key) or {})}, given[key], where.child(key)))]
    if isinstance(before, list) and isinstance(given, list) and before:
        model = _entry_model(item for item in before if isinstance(item, dict))
        return [p for index, item in enumerate(given) for p in (
            _entry_problems(model, item, where.child(index)) if model is not None and isinstance(item, dict)
            else _kind_problems(before[0], item, where.child(index), loose=True))]
    found = _kind_of(given)
    if expected == found == "a number" and isinstance(given, float) and not math.isfinite(given):
        return [where.problem(f"{given!r} is not a finite number")]
    if expected == found == "a number" and before >= 0 > given:  # a negative window, rate, length or limit
        return [where.problem(f"{given!r} is negative where the option takes a number of 0 or more (as {before!r})")]
    if expected == found:
        return []
    return [where.problem(f"{_name_of(given)} where the option takes {expected} (as {before!r})")]


def _entry_problems(model: dict[str, Any], given: Any, where: Where) -> list[Problem]:
    """A named entry (or a list's mapping element) against what its bundled fellows give each key, by shape."""
    if not isinstance(given, dict):
        return _kind_problems(model, given, where, loose=True)
    return [p for key, value in given.items() for p in _kind_problems(model.get(key), value, where.child(key),
                                                                       loose=True)]


def _shape_of(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "a single value"


def _name_of(value: Any) -> str:
    return _kind_of(value) or ("null" if value is None else type(value).__name__)


def _entry_model(entries: Iterable[Any]) -> dict[str, Any] | None:
    """What the bundled entries of a list or of a mapping of named entries (all of them mappings) give each key:
    its first value that is not null. None when they are not all mappings: then a new entry says nothing."""
    entries = list(entries)
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        return None
    model: dict[str, Any] = {}
    for entry in entries:
        for key, value in entry.items():
            if model.get(key) is None:
                model[key] = value
    return model


def _integer_problems(given: Any, where: Where) -> list[Problem]:
    """An option the API's module reads as an integer given another number (`polls_before_done: 1.5`): the module
    ignored it, and the file passed validate. `3.0` too, as a check's integer argument (apis.wrong_args) and
    Reactor's integer attributes (`port`) refuse it: an integer is written as one. null says nothing."""
    if given is None or isinstance(given, int) and not isinstance(given, bool):
        return []
    return [where.problem(f"{given!r} where the option takes an integer (a number without a decimal point)")]


def _checked_options(api: str, options: Mapping[str, Any], bundled: Mapping[str, Any], error_ids: Collection[str],
                     where_of: Mapping[str, Where], told: list[Problem],
                     misspelt: list[tuple[str, Problem]]) -> list[Problem]:
    """`told` (the merge's kind problems) and `misspelt` (new options a letter away from a bundled one, by name)
    with what the API's module finds wrong with its merged options (`apis.options_check`), each at the file and
    line that gave the option last. Where both name one field: for an option itself the loader's kind is told (a
    module's check is about values: `partners: abc` wants a mapping before any partner is missing); inside it (an
    entry, an element, a key) the module's message, which knows what the entry means (`'x' is not a purpose: a
    whole number from 1 to 11`). A misspelt option is told as that alone: the module would read it as an option
    of its own (`rate_limit.users-trak`, a group)."""
    check = apis.OPTIONS_CHECKS.get(api)
    wrong_names = {name for name, _ in misspelt}
    seen = {(p.file, p.field) for p in told}
    found, inside = [], set()
    for path, message in check(options, bundled, error_ids) if check else ():
        where = where_of.get(str(path[0]))
        if where is None or str(path[0]) in wrong_names:  # a module's check names the options it was given
            continue
        problem = where.child(*path[1:]).problem(message)
        if len(path) > 1:
            inside.add((problem.file, problem.field))
        if len(path) > 1 or (problem.file, problem.field) not in seen:
            found.append(problem)
    return [p for p in told if (p.file, p.field) not in inside] + [p for _, p in misspelt] + found


def _build_api(name: str, parts: list[_Part]) -> tuple[Api | None, list[Problem]]:
    top, raw_errors, raw_routes = _merge(parts, apis.INTEGER_OPTIONS.get(name, frozenset()),
                                         apis.OWN_SHAPES.get(name, frozenset()))
    first = parts[0].where
    where_of: dict[str, Where] = top.pop("_where")
    broken: dict[str, set[str]] = top.pop("_broken")
    shadowed: list[tuple[str, str, Any, Where]] = top.pop("_shadowed")
    merge_problems: list[Problem] = top.pop("_merge_problems")  # told with the others, at the end
    error_ids = raw_errors.keys() | broken["errors"]  # one the schema refused is told already, not again here
    merge_problems = _checked_options(name, top["options"], top.pop("_bundled_options"), error_ids,
                                      top.pop("_option_where"), merge_problems, top.pop("_misspelt"))
    problems: list[Problem] = []
    for key in ("prefix", "error_response"):
        if key not in top and key not in broken["top"]:  # one the schema refused is told already
            problems.append(first.problem(f"API '{name}' has no `{key}` in any of its files"))
    # and the rest is checked all the same: every problem at once (issue 3), not this one first

    def template_problem(where: Where, exc: TemplateError) -> None:  # its `where` starts with where's last name
        problems.append(Where(where.file, where.lines, where.path + _split(exc.where)[1:]).problem(exc.message))

    def compiled(func: Any, where: Where, *args: Any, known: frozenset[str] | None = None) -> Any:
        """`func(*args)`, every problem reported; with `known`, the names its templates may read (those
        of the templates that compile: one that does not is one problem, not two)."""
        result = None
        try:
            result = func(*args)
        except TemplateError as exc:
            for each in exc.errors:
                template_problem(where, each)
        except ConditionError as exc:
            for one in exc.errors:
                problems.append(Where(where.file, where.lines, where.path + _split(one.where)).problem(one.message))
            return None
        for unknown in unknown_names(args[0], args[1], known) if known is not None else ():
            template_problem(where, unknown)
        return result

    # What templates may read: the engine's names, what the API's hook and its routes' handlers give
    # (a user's new API has only the engine's), and an error's own data in an error's answer.
    known = TEMPLATE_NAMES | apis.template_variables(name, {s["handler"] for s, _ in raw_routes if "handler" in s})
    in_error = known | {"error", "errors", "items"}
    error_response = (compiled(compile_response, where_of["error_response"], top["error_response"], "error_response",
                               known=in_error) if "error_response" in top else None)
    error_item = None
    if "error_item" in top:
        compiled(check_json, where_of["error_item"], top["error_item"], "error_item")
        error_item = compiled(compile_tree, where_of["error_item"], top["error_item"], "error_item",
                              known=known | {"error", "errors"})
    headers = _api_headers(top["headers"], parts, compiled, known)

    def build_error(error_id: str, spec: dict[str, Any], where: Where) -> DocumentedError:
        own = None
        if "response" in spec or "headers" in spec:
            # Its own parts are checked where they are written (the API's `error_response` is checked
            # above: a problem there is not the error's too); the merged answer is built only when they pass.
            fine = all([compiled(compile, where.child(key), spec[key], key, known=in_error) is not None
                        for key, compile in (("response", compile_response), ("headers", compile_tree)) if key in spec])
            response = dict(spec.get("response") or top.get("error_response") or {})
            response["headers"] = {**(response.get("headers") or {}), **(spec.get("headers") or {})}
            try:
                own = compile_response(response, "response", spec["status"]) if fine else None  # no status: the error's
            except TemplateError:  # the API's `error_response` does not compile: told above
                own = None
        compiled(check_json, where.child("fields"), spec.get("fields", {}), "fields")  # rendered in bodies: JSON
        return DocumentedError(
            api=name,
            id=error_id,
            status=spec["status"],
            title=spec["title"],
            description=spec.get("description", ""),
            trigger=spec.get("trigger", ""),
            doc=spec.get("doc", top.get("doc", "")),
            fields={**spec.get("fields", {}), **({"reason": spec["reason"]} if "reason" in spec else {})},
            response=own,
            asynchronous=spec.get("async", False),
            source=f"{where.file}:{where.line()}",
        )

    errors = {error_id: build_error(error_id, spec, where) for error_id, (spec, where) in raw_errors.items()}
    if error_response is not None and not problems:
        fast: dict[str, DocumentedError] = {}
        for error_id, error in errors.items():
            try:
                fast[error_id] = _with_fast_paths(error, error_item, error_response)
            except (TypeError, ValueError) as exc:  # the API's templates read what this error does not give
                problems.append(raw_errors[error_id][1].problem(
                    f"its answer cannot be rendered from its own data: {exc} "
                    f"(give it in `fields`, as the API's other errors do)"))
                fast[error_id] = error
            except Exception as exc:  # a template that fails whatever the request (`{{ 1 / 0 }}`)
                problems.append(raw_errors[error_id][1].problem(
                    f"its answer cannot be rendered: {type(exc).__name__}: {exc}"))
                fast[error_id] = error  # still a known id: the routes and modes naming it are not problems too
        errors = fast

    def known_error(error_id: str, where: Where) -> bool:
        if error_id in broken["errors"]:
            return False  # reported already, for its schema problem
        if error_id not in errors:
            problems.append(where.problem(f"no error '{error_id}' in the {name} catalog"))
            return False
        return True

    for key in ("not_found", "method_not_allowed"):
        if key in top:
            known_error(top[key], where_of[key])

    problems += _routes_named_twice(parts)
    routes: list[Route] = []
    trusted_files = {p.where.file for p in parts if p.trusted}
    bundled_files = {p.where.file for p in parts if p.bundled}
    hooked = TEMPLATE_NAMES | apis.template_variables(name, ())  # what every template of a route may read
    before: list[Route] = []  # the routes tried first: one taking every path and method of a later one shadows it
    for spec, where in raw_routes:
        route = _build_route(spec, where, known_error, compiled, problems, where.file not in trusted_files, hooked)
        if route is not None:
            routes.append(route)
            if where.file not in bundled_files:  # a bundled route a user's new one goes before: meant
                problems += _shadowed_by(route, spec.get("path_values", {}), before, where)
            before.append(route)

    route_ids = {r.id for r in routes} | broken["routes"]
    modes = {mode_name: _build_mode(mode_name, spec, w, known_error, compiled, route_ids, problems, known)
             for mode_name, (spec, w) in top["modes"].items()}
    for kind, at, entry, bad in top.pop("_refused"):
        _check_refused(kind, entry, at, bad, compiled, known_error, route_ids, problems, (known, in_error, hooked))
    for kind, ident, spec, at in shadowed:  # a later file's entry serves, but a broken one is told all the same
        if at.file in trusted_files:
            continue
        if kind == "errors":
            build_error(ident, spec, at)
        elif kind == "routes":
            _build_route(spec, at, known_error, compiled, problems, True, hooked)
        else:
            _build_mode(ident, spec, at, known_error, compiled, route_ids, problems, known)
    try:
        host_patterns = tuple(re.compile(fnmatch.translate(h.lower())) for h in top.get("hosts", []))
    except re.error as exc:  # pragma: no cover - fnmatch output always compiles
        problems.append(where_of["hosts"].problem(str(exc)))
        host_patterns = ()
    problems += merge_problems
    if problems or broken["top"] or error_response is None:  # a top-level value the reader refused: told there
        return None, problems
    return (
        Api(
            name=name,
            title=top.get("title", name),
            prefix=top["prefix"],
            hosts=tuple(top.get("hosts", [])),
            host_patterns=host_patterns,
            doc=top.get("doc", ""),
            errors=errors,
            routes=tuple(routes),
            modes=modes,
            error_item=error_item,
            error_response=error_response,
            headers=headers,
            not_found=top.get("not_found"),
            method_not_allowed=top.get("method_not_allowed"),
            one_error_per_answer=top.get("one_error_per_answer", False),
            options=top["options"],
            cors=Cors(**top["cors"]) if "cors" in top else None,
            sources=tuple(p.where.file for p in parts),
            route_index=route_index(routes),
        ),
        [],
    )


def _routes_named_twice(parts: Sequence[_Part]) -> list[Problem]:
    """A route id one file gives twice, at the second. Looked for file by file, not in the merged routes: a later
    file's route replaces an earlier file's of its id (how a user overrides a bundled route), so two of one file
    replacing a bundled id left one silently (the second `opt-out` served, `/demoptout.jpg` gone)."""
    problems = []
    for part in parts:
        seen: set[str] = set()
        for index, spec in enumerate(part.data.get("routes") or []):
            if spec is None:  # left out for its schema problem
                continue
            if spec["id"] in seen:
                at = part.where.child("routes", index, "id")
                problems.append(at.problem(f"route id '{spec['id']}' is used twice"))
            seen.add(spec["id"])
    return problems


def _api_headers(merged: Mapping[str, Any], parts: Sequence[_Part], compiled: Any, known: frozenset[str]) -> Any:
    """The API's `headers` (every file's, merged), compiled; each header's problem told in the file that gave it
    last (a user's `X-A: "{{ 1 + }}"` over the bundled file was told at the bundled file's `headers:` line)."""
    if not merged:
        return None
    given_in: dict[str, Where] = {name: p.where for p in parts for name in p.data.get("headers") or {}}
    by_file: dict[str, tuple[Where, dict[str, Any]]] = {}
    for name, value in merged.items():
        at = given_in.get(name, parts[0].where)
        by_file.setdefault(at.file, (at, {}))[1][name] = value
    checked = [compiled(compile_tree, at.child("headers"), own, "headers", known=known)
               for at, own in by_file.values()]
    if any(tree is None for tree in checked):  # told: the API is not built
        return None
    return checked[0] if len(checked) == 1 else compile_tree(merged, "headers")


def _with_fast_paths(error: DocumentedError, item: Any, response: Any) -> DocumentedError:
    """Render at load what depends on the error's own data only."""
    data = error.as_context()
    return dataclasses.replace(
        error,
        fast_item=item.specialize({"error": data}) if item is not None else None,
        fast_response=(error.response or response).specialize({"error": data, "errors": [data]}),
    )


def _split(dotted: str) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        out.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(out)


_LAST_SLASH = "ends with a slash, which a request's path never does here (the mock takes it off)"


def _build_route(spec: dict[str, Any], where: Where, known_error: Any, compiled: Any, problems: list[Problem],
                 check_schemas: bool = True, hooked: frozenset[str] = TEMPLATE_NAMES) -> Route | None:
    """`hooked`: the names every template of the route reads (the engine's, the API hook's); its `respond`
    reads its handler's too, a rule's `respond` not (it answers before the handler runs)."""
    methods = spec["method"] if isinstance(spec["method"], list) else [spec["method"]]
    for index, method in enumerate(methods):
        if method in methods[:index]:
            problems.append(where.child("method", index).problem(f"{method} is named twice"))
    rules: list[Rule] = []
    route_errors: list[str] = []
    found_by_checks: list[tuple[str, Where]] = []
    for index, rule_spec in enumerate(spec.get("rules", [])):
        rule_where = where.child("rules", index)
        condition = compiled(compile_condition, rule_where.child("when"), rule_spec["when"], "", apis.CHECKS,
                             check_schemas, apis.wrong_args)
        ids = rule_spec.get("error", [])
        ids = [ids] if isinstance(ids, str) else ids
        for error_id in ids:
            if known_error(error_id, rule_where.child("error")):
                route_errors.append(error_id)
        if rule_spec.get("errors_from_check") and condition is not None:
            found_by_checks += [(e, rule_where.child("when").child("check")) for name in check_names(rule_spec["when"])
                                for e in apis.CHECK_ERRORS.get(name, ())]
        respond = None
        if "respond" in rule_spec:
            respond = compiled(compile_response, rule_where.child("respond"), rule_spec["respond"], "respond",
                               known=hooked)
        if condition is not None:
            rules.append(Rule(condition, tuple(ids), respond, f"{where.file}:{rule_where.line()}"))
    for index, error_id in enumerate(spec.get("can_fail_with", [])):
        if known_error(error_id, where.child("can_fail_with", index)):
            route_errors.append(error_id)
    check_errors = [e for e, rule_where in found_by_checks if known_error(e, rule_where) and e not in route_errors]
    handler = spec.get("handler")
    if handler is not None and handler not in apis.HANDLERS:
        handlers = ", ".join(sorted(apis.HANDLERS)) or "none"
        problems.append(where.child("handler").problem(f"no handler named '{handler}' (known: {handlers})"))
    respond = None
    if "respond" in spec:
        known = hooked | apis.HANDLER_VARIABLES.get(handler or "", frozenset())
        respond = compiled(compile_response, where.child("respond"), spec["respond"], "respond", known=known)
    if handler is None and "respond" not in spec:  # a `respond` that did not compile is reported already
        problems.append(where.problem("a route needs `respond`, `handler`, or both"))
    if spec["path"] != "/" and spec["path"].endswith("/"):  # as for a path value below
        problems.append(where.child("path").problem(
            f"{spec['path']} {_LAST_SLASH}"))
    values = spec.get("path_values", {})
    named = {found.group(1): bool(found.group(2)) for found in PATH_PARAMETER.finditer(spec["path"])}
    for parameter, listed in values.items():
        if parameter not in named:
            problems.append(where.child("path_values", parameter).problem(
                f"no parameter {{{parameter}}} in the path {spec['path']}"))
        elif not named[parameter]:  # `{type}` never takes a slash: the value would never match
            problems += [where.child("path_values", parameter, index).problem(
                f"{value!r} has a slash, which {{{parameter}}} never takes (a {{{parameter}:path}} does)")
                for index, value in enumerate(listed) if "/" in value]
        elif spec["path"].endswith(f"{{{parameter}:path}}"):  # the request's path is matched without its last slash
            problems += [where.child("path_values", parameter, index).problem(
                f"{value!r} {_LAST_SLASH}")
                for index, value in enumerate(listed) if value.endswith("/")]
    try:
        pattern = compile_path(spec["path"], values)
    except re.error:  # the one way a path's regex fails: `{id}` twice
        names = [found.group(1) for found in PATH_PARAMETER.finditer(spec["path"])]
        twice = next(n for i, n in enumerate(names) if n in names[:i])
        problems.append(where.child("path").problem(f"the path parameter '{twice}' is named twice"))
        pattern = re.compile(re.escape(spec["path"]))
    return Route(
        id=spec["id"],
        methods=frozenset(methods),
        path=spec["path"],
        pattern=pattern,
        rules=tuple(rules),
        handler=handler,
        respond=respond,
        starts_async=spec.get("starts_async", False),
        errors=tuple(dict.fromkeys(route_errors)),
        source=f"{where.file}:{where.line()}",
        check_errors=tuple(dict.fromkeys(check_errors)),
        endpoint_params=tuple(values),
    )


MAX_SAMPLES = 256  # past this many paths to try, the shadow check says nothing rather than judge a part


def _samples(path: str, values: Mapping[str, Sequence[str]]) -> tuple[list[str], bool] | None:
    """The paths a route takes, one of each kind: each parameter a value no literal holds (a `{rest:path}` one,
    two and three segments of it), or each of its `path_values`; and whether they are all it takes (no
    `{rest:path}` without listed values, whose 1-3 segments stand for any number). None past MAX_SAMPLES."""
    found = list(PATH_PARAMETER.finditer(path))
    choices = [values.get(f.group(1)) or (("\0", "\0/\0", "\0/\0/\0") if f.group(2) else ("\0",)) for f in found]
    if math.prod(len(c) for c in choices) > MAX_SAMPLES:
        return None
    samples = []
    for picked in itertools.product(*choices):
        sample, last = "", 0
        for match, value in zip(found, picked, strict=True):
            sample += path[last:match.start()] + value
            last = match.end()
        samples.append(sample + path[last:])
    return samples, not any(f.group(2) and not values.get(f.group(1)) for f in found)


def _shadowed_by(route: Route, values: Mapping[str, Sequence[str]], before: list[Route],
                 where: Where) -> list[Problem]:
    """The route's methods that earlier routes answer on every path it takes (find_route tries them first; a GET
    answers HEAD too): its path with each parameter a value no literal holds (`{rest:path}` one to three segments)
    or, for one its `path_values` limit, each value listed. One earlier route must take them all, or, when the
    samples are every path the route takes, several together (`/x/a` and `/x/b` before `/x/{k}` of [a, b])."""
    sampled = _samples(route.path, values)
    if sampled is None:
        return []
    samples, exhaustive = sampled
    taken: dict[str, list[Route]] = {}
    for method in sorted(route.methods):
        answering = [e for e in before if method in e.methods or (method == "HEAD" and "GET" in e.methods)]
        whole = next((e for e in answering if all(e.pattern.fullmatch(s) for s in samples)), None)
        if whole is not None:
            taken[method] = [whole]
        elif exhaustive:
            takers = [next((e for e in answering if e.pattern.fullmatch(s)), None) for s in samples]
            if all(takers):
                taken[method] = list(dict.fromkeys(t for t in takers if t is not None))
    if not taken:
        return []
    methods = sorted(taken)
    earlier = taken[methods[0]]
    named = ", ".join(f"'{e.id}' ({e.source})" for e in earlier)
    which = f"route {named}, which comes" if len(earlier) == 1 else f"routes {named}, which come"
    return [where.child("path").problem(f"{', '.join(methods)} {route.path} is answered by {which} first: "
                                        "this route never sees it")]


def _known_route(route_ids: set[str], problems: list[Problem]) -> Callable[[str, Where], None]:
    """A mode's route id checked against the API's routes (`known_error`'s pair)."""
    def known(route_id: str, at: Where) -> None:
        if route_id not in route_ids:
            problems.append(at.problem(f"no route '{route_id}' in this API"))
    return known


def _check_refused(kind: str, entry: Any, where: Where, bad: set[tuple[Any, ...]], compiled: Any, known_error: Any,
                   route_ids: set[str], problems: list[Problem], names: tuple[frozenset[str], ...]) -> None:
    """What an entry the schema refused names and compiles (templates, conditions, error and route ids),
    where no schema problem lies: one mistake (`method: GTE`) does not hide another (a broken template in
    its `respond`). Nothing is built. `names`: what templates may read (any, an error's, a route's)."""
    def checkable(*path: Any) -> Any:
        """The value at `path`, if no schema problem lies at or under it."""
        value = entry
        for step in path:
            value = (value.get(step) if isinstance(value, dict)
                     else value[step] if isinstance(value, list) and isinstance(step, int) else None)
        return value if not any(p[:len(path)] == path for p in bad) else None

    def check(func: Any, path: tuple[Any, ...], *args: Any, **known: Any) -> None:
        if isinstance(value := checkable(*path), dict):
            compiled(func, where.child(*path), value, *args, **known)

    def ids(path: tuple[Any, ...], known: Any) -> None:
        value = checkable(*path)
        for index, one in enumerate(value if isinstance(value, list) else [value] if isinstance(value, str) else []):
            known(one, where.child(*path, index) if isinstance(value, list) else where.child(*path))

    known, in_error, hooked = names
    if kind == "errors":
        check(compile_response, ("response",), "response", known=in_error)
        check(compile_tree, ("headers",), "headers", known=in_error)
    elif kind == "modes":
        check(compile_tree, ("headers",), "headers", known=known)
        ids(("error",), known_error)
        ids(("routes",), _known_route(route_ids, problems))
    elif kind == "routes" and isinstance(entry, dict):
        rules = entry.get("rules")
        for index in range(len(rules) if isinstance(rules, list) else 0):
            check(compile_condition, ("rules", index, "when"), "", apis.CHECKS, True, apis.wrong_args)
            check(compile_response, ("rules", index, "respond"), "respond", known=hooked)
            ids(("rules", index, "error"), known_error)
        ids(("can_fail_with",), known_error)
        handler = entry.get("handler")
        handler_names = apis.HANDLER_VARIABLES.get(handler, frozenset()) if isinstance(handler, str) else frozenset()
        check(compile_response, ("respond",), "respond", known=hooked | handler_names)


def _build_mode(name: str, spec: dict[str, Any], where: Where, known_error: Any, compiled: Any,
                route_ids: set[str], problems: list[Problem], known: frozenset[str] = TEMPLATE_NAMES) -> Mode:
    """A mode's declaration, checked against the API's errors and routes, durations in seconds."""
    errors = None
    if "error" in spec:
        single = isinstance(spec["error"], str)
        errors = (spec["error"],) if single else tuple(spec["error"])
        for index, error_id in enumerate(errors):
            known_error(error_id, where.child("error") if single else where.child("error", index))
    known_route = _known_route(route_ids, problems)
    for index, route_id in enumerate(spec.get("routes", [])):
        known_route(route_id, where.child("routes", index))
    def seconds_of(value: Any, *path: str) -> float | None:
        """A duration, or None with its problem told (`.nan` and `.inf` pass the schema's `number`)."""
        try:
            return parse_duration(value)
        except ValueError as exc:
            problems.append(where.child(*path).problem(str(exc)))
            return None

    quota = None
    if "quota" in spec:
        q = spec["quota"]
        window = seconds_of(q["window"], "quota", "window")
        quota = Quota(q["limit"], max(window or 0.0, 0.001), q.get("per", "api") == "route")
    headers = None
    if spec.get("headers"):
        headers = compiled(compile_tree, where.child("headers"), spec["headers"], "headers", known=known)
    seconds = {k: seconds_of(spec[k], k) for k in ("retry_after", "duration") if k in spec}
    return Mode(name, spec["description"], f"{where.file}:{where.line()}", error=errors,
                first=spec.get("first"), quota=quota, retry_after_s=seconds.get("retry_after"),
                duration_s=seconds.get("duration"), fault=spec.get("fault"),
                delay=_delay_text(spec["delay"]) if "delay" in spec else None,
                headers=headers, routes=frozenset(spec["routes"]) if "routes" in spec else None)


def _delay_text(value: Any) -> str:
    """A mode's delay as `__delay` takes it: `delay: 800` (or `800.0`, which JSON Schema counts an integer) is "800"."""
    return str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
