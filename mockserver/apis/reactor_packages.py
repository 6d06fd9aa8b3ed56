"""Extension packages: a zip uploaded as multipart/form-data, processed asynchronously.

POST /extension_packages answers `pending` at once; polling GET /extension_packages/{id} turns it
`succeeded`, or `failed` with the problem in `meta.status_details.errors` (what adobe/reactor-uploader
reads). Problems come from flags, or from the zip itself: not a zip, no extension.json, a path
that leaves the package, a file extension.json names but the zip lacks, a customCode transform.
"""

from __future__ import annotations

import io
import re
from typing import Any

from mockserver.apis import handler
from mockserver.apis.reactor import as_shown, document_data, fail, many, not_found, one, reading, render_errors
from mockserver.apis.reactor_store import Record, Store, listed, package_attributes, public_manifests
from mockserver.engine.context import RequestContext, loads_encodable
from mockserver.engine.outcome import ErrorRef, Failure, Outcome

MAX_MANIFEST = 1024 * 1024
DELEGATES = ("events", "conditions", "actions", "dataElements")
# What each path of extension.json must look like (adobe/reactor-turbine-schemas extension-package-web.json): relative,
# of these characters, naming its kind of file. Adobe's validator (reactor-validator validateFiles.js) then looks a
# library path up in the zip as written: `./src/x.js` is not `src/x.js`.
_CHARACTERS = r"(?!/)[/a-zA-Z_\-\s0-9.]+"
PATH_FORMS = {
    "library": re.compile(_CHARACTERS + r"\.js"),
    "view": re.compile(_CHARACTERS + r"\.html([?#].*)?"),
    "icon": re.compile(_CHARACTERS + r"\.svg"),
    "folder": re.compile(_CHARACTERS),
}


# RFC 2046 §5.1.1: 1 to 70 of these characters, the last not a space.
BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def with_boundary(content_type: str, body: bytes) -> str:
    """The Content-Type, with the boundary the body's first delimiter line shows when it names none.

    The extension-packages page sends `-H 'Content-Type: multipart/form-data'` with `-F package=@...`
    (curl then adds the boundary itself), and Adobe's own clients set that bare header too
    (reactor-uploader getReactorHeaders.js, reactor-sdk sendMultipartFile): node-fetch, requests and
    httpx keep a Content-Type the caller set, so the body is framed by a boundary the header omits.
    Adobe's uploader publishes packages this way, so the boundary is read off the body's first line.
    """
    if "boundary=" in content_type.lower():
        return content_type
    first = body.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r").rstrip(b" \t")
    if not first.startswith(b"--") or not BOUNDARY.fullmatch(first[2:]):
        return content_type
    return f'{content_type.rstrip().rstrip(";")}; boundary="{first[2:].decode("ascii")}"'


def read_upload(content_type: str, body: bytes) -> bytes | None:
    """The `package` part of a multipart/form-data body, or None (never raises)."""
    if not content_type.lower().lstrip().startswith("multipart/form-data"):
        return None
    content_type = with_boundary(content_type, body)
    from email import policy  # imported on first upload: it costs start-up time every server pays
    from email.parser import BytesParser

    try:
        head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "package":
                payload = part.get_payload(decode=True)
                return payload if isinstance(payload, bytes) else b""
    except Exception:  # a malformed body is a missing package, whatever the parser tripped on
        return None
    return None


def problem(error_id: str, detail: str) -> ErrorRef:
    return ErrorRef(error_id, {"occurrence": detail})


def inspect_package(data: bytes) -> tuple[dict[str, Any], list[ErrorRef]]:
    """extension.json and what processing would find wrong with the zip (never raises)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        info = archive.getinfo("extension.json") if "extension.json" in names else None
        if info is None:
            return {}, [problem("extension-package-zip-error", "The zip holds no extension.json at its root.")]
        if info.file_size > MAX_MANIFEST:
            return {}, [problem("extension-package-zip-error", "extension.json is too large.")]
        text = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, RecursionError, OSError, KeyError,
            NotImplementedError, RuntimeError, EOFError):
        return {}, [problem("extension-package-zip-error", "The package could not be unzipped.")]
    try:
        manifest = loads_encodable(text.decode("utf-8"))  # its strings are echoed in the answers
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}, [problem("extension-package-zip-error", "extension.json is not valid JSON (UTF-8).")]
    if not isinstance(manifest, dict):
        return {}, [problem("extension-package-zip-error", "extension.json is not a JSON object.")]
    return manifest, manifest_problems(manifest, names)


def malformed(kind: str, path: str) -> str | None:
    """What is wrong with a path of extension.json, or None."""
    if path.startswith("/") or ".." in path.split("/"):
        return f"The path {path} leaves the package."
    if not PATH_FORMS[kind].fullmatch(path):
        return f"The path {path} is not a relative path to a {kind} file."
    return None


def manifest_problems(manifest: dict[str, Any], names: set[str]) -> list[ErrorRef]:
    problems: list[ErrorRef] = []
    delegates = [d for key in DELEGATES for d in listed(manifest.get(key)) if isinstance(d, dict)]
    configuration = manifest.get("configuration")
    paths = [("folder", manifest.get("viewBasePath")), ("icon", manifest.get("iconPath")),
             ("view", configuration.get("viewPath") if isinstance(configuration, dict) else None),
             *(("library", p) for p in listed(manifest.get("hostedLibFiles"))),
             *(("library", m.get("libPath")) for m in listed(manifest.get("sharedModules")) if isinstance(m, dict)),
             *(("view", d.get("viewPath")) for d in delegates)]
    required = [d.get("libPath") for d in delegates] + [manifest.get("main")]  # the files a library is built from
    for kind, path in [*paths, *(("library", p) for p in required)]:
        if isinstance(path, str) and (wrong := malformed(kind, path)):
            problems.append(problem("extension-package-path-error", wrong))
    for path in required:
        if isinstance(path, str) and not malformed("library", path) and path not in names:
            problems.append(problem("library-file-not-found", f"{path} is not in the zip package."))
    for delegate in delegates:
        problems += transform_problems(listed(delegate.get("transforms")))
    return problems


def transform_problems(transforms: list[Any]) -> list[ErrorRef]:
    """What the error reference says of a delegate's transforms: "Each object property can have one
    transform defined", of a known type (a `customCode` one has its own error)."""
    problems: list[ErrorRef] = []
    seen: set[str] = set()
    for transform in transforms:
        kind = transform.get("type") if isinstance(transform, dict) else None
        path = transform.get("propertyPath") if isinstance(transform, dict) else None
        if kind == "customCode":
            problems.append(ErrorRef("illegal-custom-code-transform"))
        elif kind not in ("function", "file", "remove"):
            problems.append(ErrorRef("extension-package-transform-definition-error"))
        elif isinstance(path, str) and path in seen:
            problems.append(problem("extension-package-transform-definition-error",
                                    f"The property {path} has more than one transform defined."))
        if isinstance(path, str):
            seen.add(path)
    return problems


@handler("reactor.packages")
async def packages(ctx: RequestContext) -> Outcome:
    """GET lists the session's packages; POST uploads one (starts asynchronous processing)."""
    store = Store(ctx)
    company = await store.company()
    if company is None:  # the session was reset between the hook and here
        return not_found()
    if reading(ctx):
        return many(ctx, [await as_shown(store, r) for r in await store.children(company["id"], "extension_packages")])
    upload = read_upload(ctx.header("content-type") or "", ctx.body)
    if upload is None:
        return fail("extension-package-zip-error", occurrence="No `package` file in a multipart/form-data body.")
    manifest, problems = inspect_package(upload)
    manifest.setdefault("name", f"package-{ctx.generator.hex(8)}")
    if manifest["name"] in [m.get("name") for m in public_manifests(ctx.options)]:  # names are global: Adobe's
        return fail("invalid-name", "/data/attributes/name")
    attributes = package_attributes(manifest, "pending", company["attributes"]["org_id"])
    record = await store.create("extension_packages", company["id"], attributes, polls=0,
                                failure=render_errors(ctx, [*ctx.async_errors, *problems]))
    return one(ctx, record, 201)


async def update_package(ctx: RequestContext, store: Store, record: Record) -> Record | Failure:
    """A new zip (processed again), a private release, or an attempt Reactor refuses."""
    if record["attributes"].get("availability") == "public":  # Adobe's (no client can release one public)
        return fail("not-authorized")
    upload = read_upload(ctx.header("content-type") or "", ctx.body)
    if upload is not None:
        manifest, problems = inspect_package(upload)
        record["polls"], record["failure"] = 0, render_errors(ctx, [*ctx.async_errors, *problems])
        record.get("meta", {}).pop("status_details", None)
        kept = {k: v for k, v in record["attributes"].items() if k in ("created_at", "availability", "owner_org_id")}
        fresh = package_attributes({"name": record["attributes"]["name"], **manifest}, "pending", kept["owner_org_id"])
        return await store.touch(record, **{**fresh, **kept})
    data = document_data(ctx)
    action = data.get("meta", {}).get("action") if isinstance(data.get("meta"), dict) else None
    if action == "release_private":
        return await store.touch(record, availability="private")
    if action == "release_public":
        return fail("public-release-not-authorized")
    return fail("invalid-extension_package_id", "/data/attributes")
