"""Cross-origin answers, for an API whose file says how its real host treats browsers (`cors:`).

A browser reads an answer from another origin only when it carries Access-Control-Allow-Origin, and
before a request it may not send on its own (JSON, an Authorization header) it asks first with a
preflight: OPTIONS, with Origin and Access-Control-Request-Method, and no credentials. The preflight
is answered before the API's checks (Reactor's gateway, say, would refuse it for want of a token);
every other answer to a request with an Origin, documented errors included, gets the same
Access-Control-* headers, but those its template already sets.
"""

from __future__ import annotations

from mockserver.engine.context import RequestContext
from mockserver.engine.match import Match, find_route
from mockserver.engine.outcome import Reply
from mockserver.engine.render import Rendered
from mockserver.scenario.model import Cors


def preflight(cors: Cors, ctx: RequestContext) -> Reply | None:
    """The answer to a preflight on a path of one of the API's routes; None for any other request."""
    asked = ctx.header("access-control-request-method")
    if asked is None or ctx.header("origin") is None:
        return None
    found = find_route(ctx.api, asked.strip().upper(), ctx.path)
    if found.match is Match.NONE:
        return None  # no such path: answered as the API answers it
    ctx.route = found.route  # journaled under the route the browser is about to call
    methods = cors.allow_methods or ",".join(sorted(found.route.methods) if found.route else found.allowed)
    headers = [("Access-Control-Allow-Methods", methods)]
    allow_headers = cors.allow_headers or ctx.header("access-control-request-headers")
    if allow_headers:
        headers.append(("Access-Control-Allow-Headers", allow_headers))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return Reply(cors.preflight_status, headers, b"")


def with_cors_headers(cors: Cors, origin: str, rendered: Rendered) -> Rendered:
    """The answer as the browser at `origin` may read it (the origin echoed: `*` refuses credentials).
    A header the answer already has (a documented sample's own) is kept as it is."""
    wanted = [("Access-Control-Allow-Origin", origin)]
    if cors.credentials:
        wanted.append(("Access-Control-Allow-Credentials", "true"))
    if cors.expose_headers:
        wanted.append(("Access-Control-Expose-Headers", cors.expose_headers))
    wanted.append(("Vary", "Origin"))
    names = {name.lower() for name, _ in rendered.headers}
    added = [(name, value) for name, value in wanted if name.lower() not in names]
    return Rendered(rendered.status, [*rendered.headers, *added], rendered.body) if added else rendered
