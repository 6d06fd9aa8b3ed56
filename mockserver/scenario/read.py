"""Reading one scenario file: its text to Python values with the line of every key, then its
check against `schema.json`. Every problem is a `Problem`, read as `file:line: field: message`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
SUFFIXES = (".yaml", ".yml", ".json")
Segment = str | int


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field or '(file)'}: {self.message}"


class ScenarioError(Exception):
    """Every problem found; the server keeps what it had."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Where:
    """A place in a file: its line map and a path of keys and indexes."""

    file: str
    lines: Mapping[tuple[Segment, ...], int]
    path: tuple[Segment, ...] = ()

    def child(self, *segments: Segment) -> Where:
        return Where(self.file, self.lines, self.path + segments)

    def line(self) -> int:
        path = self.path
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def field(self) -> str:
        out = ""
        for seg in self.path:
            out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
        return out

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line(), self.field(), message)


@cache
def schema_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported when a file needs checking: it is slow to import

    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders expanded to their scenario files, subfolders included (as WireMock
    reads its mappings), in path order; hidden files and folders (`.git`) are skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            found.append(path)
    return found


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: several times faster


_STR = "tag:yaml.org,2002:str"
# A JSON escape of a UTF-16 surrogate (not behind an escaped backslash), and the low half after a high one.
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)"  # an even run of backslashes: escapes of themselves
                               r"\\u([dD][89a-fA-F][0-9a-fA-F]{2})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?")


def _as_yaml_escape(match: re.Match[str]) -> str:
    """JSON's `\\ud83d\\ude00` as YAML's `\\U0001F600` (libyaml refuses surrogates); a lone half as U+FFFD."""
    high, low = int(match[2], 16), int(match[3], 16) if match[3] else None
    if low is not None and high < 0xDC00:
        return f"{match[1]}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"
    return match[1] + "\\uFFFD" * (1 if low is None else 2)


MAX_FILE_BYTES = 16 * 1024 * 1024  # the bundled files are a few hundred KB; past this, a file is not a scenario
MAX_VALUES = 1_000_000  # values a file may hold once its aliases are expanded (a "billion laughs" holds 10^9)


def _to_python(node: yaml.Node, loader: Any, path: tuple[Segment, ...], lines: dict[Any, int],
               keyed: bool = False) -> Any:
    if not keyed:  # a key's value is told at the key's line (a block's first child is on the next one)
        lines[path] = node.start_mark.line + 1
    if len(lines) > MAX_VALUES:
        raise yaml.MarkedYAMLError(problem=f"more than {MAX_VALUES:,} values once its aliases are expanded",
                                   problem_mark=node.start_mark)
    if isinstance(node, yaml.MappingNode):
        own = {id(key_node) for key_node, _ in node.value}
        loader.flatten_mapping(node)  # `<<: *anchor` merged in first; the own keys come after and win (as safe_load)
        out: dict[str, Any] = {}
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode) \
                else loader.construct_object(key_node)
            if not isinstance(key, str):  # a key is a name as written: `off:` is "off", not False
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            if id(key_node) in own:
                if key in written:
                    raise yaml.MarkedYAMLError(problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark)
                written.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, loader, path + (key,), lines, keyed=True)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, loader, path + (i,), lines) for i, item in enumerate(node.value)]
    if node.tag == _STR:  # most values: their text as written (construct_object's way there is a third of the read)
        return node.value
    return loader.construct_object(node)


def read_document(path: Path) -> tuple[Any, dict[Any, int]]:
    """Parse YAML or JSON keeping the line of every key; raises ScenarioError on bad syntax."""
    name = str(path)
    try:
        if path.exists() and not path.is_file():  # a FIFO would wait for a writer, /dev/zero would never end
            raise ScenarioError([Problem(name, 1, "", "cannot read: not a regular file")])
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError([Problem(name, 1, "", f"cannot read: larger than {MAX_FILE_BYTES // 2**20} MiB")])
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no part of the text
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(name, 1, "", f"cannot read: {exc}")]) from None
    lines: dict[Any, int] = {}
    as_json: Any = None
    if path.suffix == ".json":
        try:
            as_json = json.loads(text)  # JSON's own rules (YAML would accept more) and values (see below)
        except json.JSONDecodeError as exc:
            trailing = text[exc.pos:exc.pos + 1] in ("}", "]") and text[:exc.pos].rstrip().endswith(",")
            message = f"a comma before '{text[exc.pos]}' (JSON allows no trailing comma)" if trailing else exc.msg
            raise ScenarioError([Problem(name, exc.lineno, "", f"invalid JSON: {message}")]) from None
        except RecursionError:
            raise ScenarioError([Problem(name, 1, "", "invalid JSON: nested deeper than Python can read")]) from None
        # YAML reads a JSON file for its lines only (the values are json.loads': YAML 1.1 reads `1e+16` as text);
        # libyaml refuses the surrogate pairs JSON writes for a character beyond U+FFFF (json.dumps' emoji).
        text = _SURROGATE_ESCAPE.sub(_as_yaml_escape, text)
    kind = "JSON" if path.suffix == ".json" else "YAML"  # YAML reads a JSON file too: a repeated key is the JSON's
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = _to_python(node, loader, (), lines) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context
        indent = text.splitlines()[line - 1:line] or [""]
        if "\t" in indent[0][:len(indent[0]) - len(indent[0].lstrip())]:
            problem = "a tab indents this line (YAML indents with spaces only)"
        elif (opened := _open_quote(text, exc)) is not None:
            never = exc.context == "while scanning a quoted scalar"
            closes = "is never closed" if never else f"closes only at line {line}"
            problem = f"a quote opened on this line {closes} ({problem} there)"
            line = opened
        raise ScenarioError([Problem(name, line, "", f"invalid {kind}: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, 1, "", f"invalid {kind}: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(name, 1, "", f"invalid {kind}: nested deeper than Python can read")]) from None
    finally:
        loader.dispose()
    if as_json is not None:
        data = as_json
    if not isinstance(data, dict):
        raise ScenarioError([Problem(name, 1, "", "a scenario file is a mapping with at least `api:`")])
    return data, lines


def _open_quote(text: str, exc: yaml.MarkedYAMLError) -> int | None:
    """The line of a quoted value that runs over several lines up to the problem: a quote left open.
    YAML takes everything up to the next quote (or the end) as its text, and stops only there."""
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return int(exc.context_mark.line) + 1  # never closed: the end of the file came first
    problem_line = exc.problem_mark.line if exc.problem_mark else -1
    last = None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if token.start_mark.line > problem_line:
                break
            if isinstance(token, yaml.ScalarToken) and not token.plain and token.start_mark.line < token.end_mark.line:
                last = token
    except yaml.YAMLError:
        pass
    return last.start_mark.line + 1 if last is not None and last.end_mark.line == problem_line else None


ENTRY_LISTS = ("errors", "routes", "modes")  # a schema problem inside one entry leaves the others checkable


def schema_problems(data: Any, where: Where) -> tuple[list[Problem], dict[str, Any] | None]:
    """The file's schema problems, and what of it can still be checked further: the file without the
    entries (errors, routes, modes) the problems lie in, or None when one lies elsewhere. So a file
    with a wrong type in one error still gets its unknown error ids and broken templates reported."""
    if schema_validator().is_valid(data):
        return [], data
    problems: list[Problem] = []
    broken: dict[str, dict[Any, set[tuple[Any, ...]]]] = {key: {} for key in ENTRY_LISTS}  # entry -> where in it
    unknown: set[str] = set()  # top-level keys of no meaning: left out, the rest is still checked
    refused: set[str] = set()  # those of them the schema knows (`prefix: 7`): the API is not built
    whole = False
    for error in sorted(schema_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(_explain(error, where.child(*error.absolute_path)))
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] in ENTRY_LISTS and isinstance(data.get(path[0]), dict | list):
            broken[path[0]].setdefault(path[1], set()).add(tuple(path[2:]))
        elif not path and error.validator == "additionalProperties" and isinstance(data, dict):
            unknown.update(k for k in data if k not in error.schema.get("properties", {}))
        elif path and path[0] != "api" and isinstance(data, dict):  # a top-level value: left out, told once
            unknown.add(str(path[0]))
            refused.add(str(path[0]))
        else:
            whole = True
    if whole:
        return problems, None
    rest = {k: v for k, v in data.items() if k not in unknown}
    for key, entries in broken.items():
        if entries and isinstance(data[key], dict):
            rest[key] = {k: v for k, v in data[key].items() if k not in entries}
        elif entries:  # None in their place: the others keep their index, so their field and line
            rest[key] = [None if i in entries else v for i, v in enumerate(data[key])]
    # Entries left out: their ids stay known (scenario/load.py), and the rest of each is checked too.
    rest["_refused"] = [(key, entry, data[key][entry], paths) for key, entries in broken.items()
                        for entry, paths in entries.items()]
    rest["_refused_top"] = refused
    return problems, rest


def _explain(error: ValidationError, where: Where) -> list[Problem]:
    """Turn a jsonschema error into messages a person can act on."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [where.child(k).problem(f"unknown key (allowed: {', '.join(allowed)})") for k in extra]
    if error.validator == "oneOf" and isinstance(error.validator_value, list):
        required = [b["required"][0] for b in error.validator_value if list(b) == ["required"]]
        if required:
            return [where.problem(f"needs exactly one of: {', '.join(required)}")]
        depth = max((len(e.absolute_path) for e in error.context), default=0)
        own_type = _branches_of_its_type(error)  # `delay: -5`: the integer branch's minimum, not "expected string"
        told = [e for e in error.context if e.relative_schema_path[0] in own_type]
        if told:
            deepest_told = max(len(e.absolute_path) for e in told)
            last = {tuple(e.relative_path): e for e in reversed(told) if len(e.absolute_path) == deepest_told}
            return [p for path, e in sorted(last.items(), key=lambda item: [str(s) for s in item[0]])
                    for p in _explain(e, where.child(*path))]
        deepest = {tuple(e.relative_path): e for e in reversed(error.context) if len(e.absolute_path) == depth}
        if deepest and all(e.validator not in ("type", "oneOf") for e in deepest.values()):  # each item told
            return [p for path, e in sorted(deepest.items(), key=lambda item: [str(s) for s in item[0]])
                    for p in _explain(e, where.child(*path))]
        types = [e.validator_value for e in error.context if e.validator == "type" and not e.relative_path]
        if types:  # a string or a list of them ...
            return [where.problem(f"expected {' or '.join(map(_types, types))}, got {type(error.instance).__name__}")]
        return [where.problem(f"{error.instance!r} is not valid here")]
    if error.validator == "not" and error.validator_value == {"required": ["body", "text"]}:
        return [where.problem("give body or text, not both")]
    if error.validator == "not" and error.validator_value == {"required": ["first", "quota"]}:
        return [where.problem("give first or quota, not both")]
    if error.validator == "not" and isinstance(error.instance, str) and error.schema.get("description"):
        return [where.child(error.instance).problem(f"not a header a file sets: {error.schema['description']}")]
    if error.validator == "anyOf" and all(list(b) == ["required"] for b in error.validator_value):
        return [where.problem(f"needs at least one of: {', '.join(b['required'][0] for b in error.validator_value)}")]
    if error.validator == "type":
        return [where.problem(f"expected {_types(error.validator_value)}, got {type(error.instance).__name__}")]
    if error.validator == "pattern" and error.schema.get("description"):  # the regex alone says little
        return [where.problem(f"{error.message}: {error.schema['description']}")]
    if error.validator == "required":
        return [where.problem(error.message.replace(" is a required property", " is required"))]
    return [where.problem(error.message)]


def _branches_of_its_type(error: ValidationError) -> set[int]:
    """The branches of a oneOf that declare the value's own JSON type: what went wrong is told by them."""
    checker = schema_validator().TYPE_CHECKER
    return {index for index, branch in enumerate(error.validator_value)
            if isinstance(branch, dict) and isinstance(branch.get("type"), str)
            and checker.is_type(error.instance, branch["type"])}


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join({"object": "a mapping", "array": "a list"}.get(n, n) for n in names)




# The code whose checks a file found valid skips (this module's schema check, the inline schemas' in match.py, the
# loader's of entries a later file replaced): changed, between two releases of one version, a file that passed the
# old checks is checked again (a regex in an inline schema passed, and was every request's 500).
CHECKED_BY = tuple(Path(__file__).resolve().parent.parent / name
                   for name in ("scenario/read.py", "scenario/load.py", "engine/match.py"))


class ValidityCache:
    """Fingerprints of files found valid before (schema and inline schemas), in the user's cache.

    The check depends only on the file's bytes, schema.json, the code that checks (CHECKED_BY) and our
    version, so an unchanged file skips it: about a third of the start-up time. Reading or writing it
    never fails a load.
    """

    def __init__(self) -> None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        self.folder = Path(os.environ.get("MOCKSERVER_CACHE_DIR") or os.path.join(base, "mockserver", "valid"))
        self.enabled = os.environ.get("MOCKSERVER_NO_CACHE", "") == ""

    @staticmethod
    @cache
    def _salt() -> bytes:
        from mockserver import __version__

        return __version__.encode() + SCHEMA_PATH.read_bytes() + b"".join(path.read_bytes() for path in CHECKED_BY)

    def fingerprint(self, path: Path) -> str:
        try:
            return hashlib.sha256(self._salt() + path.read_bytes()).hexdigest()
        except OSError:
            return ""

    def known(self, fingerprint: str) -> bool:
        return self.enabled and bool(fingerprint) and (self.folder / fingerprint).exists()

    def remember(self, fingerprints: Iterable[str]) -> None:
        if not self.enabled:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for fingerprint in fingerprints:
                if fingerprint:
                    (self.folder / fingerprint).touch()
        except OSError:
            pass

