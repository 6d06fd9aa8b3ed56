"""An outcome to the answer's status, headers and bytes.

Templates get the request's context; then come the modes' headers, the chaos decision, the API's
own headers and CORS. A documented error's own parts are rendered into its templates once
(`specialized`), not on every request: that is most of what an error answer costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.engine import chaos
from mockserver.engine.context import RequestContext, template_context
from mockserver.engine.cors import with_cors_headers
from mockserver.engine.outcome import Failure, Outcome, Reply
from mockserver.engine.render import OMIT, JsonText, Rendered, ResponseTemplate, Tree, encode_body, present
from mockserver.scenario.model import Api, DocumentedError


def render_own(ctx: RequestContext, outcome: Outcome) -> Rendered:
    """The outcome's own answer (its error response or route template), before the modes', the API's
    and CORS headers: what a handler reworks when it must (Edge's streamed framing)."""
    if isinstance(outcome, Reply):
        return Rendered(outcome.status, outcome.headers, outcome.body)
    if isinstance(outcome, Failure):
        return render_failure(ctx, outcome)
    template = outcome.template or (ctx.route.respond if ctx.route else None)
    if template is None:
        return Rendered(outcome.status or 200, list(outcome.headers), encode_body(outcome.body))
    rendered = template.render({**template_context(ctx), **outcome.variables})
    if outcome.status is not None or outcome.headers:
        rendered = Rendered(outcome.status or rendered.status, [*rendered.headers, *outcome.headers], rendered.body)
    return rendered


def render_outcome(ctx: RequestContext, outcome: Outcome) -> Rendered:
    api = ctx.api
    rendered = render_own(ctx, outcome)
    if ctx.effects is not None and ctx.effects.headers:
        rendered = with_mode_headers(ctx, rendered)
    if ctx.decision is not None:
        rendered = Rendered(rendered.status, [*rendered.headers, (chaos.DECISION_HEADER, ctx.decision)],
                            rendered.body)
    if api.headers is not None:
        extra = api.headers.render(template_context(ctx))
        named = {name.lower() for name, _ in rendered.headers}
        added = [(k, str(v)) for k, v in extra.items() if k.lower() not in named and v is not None]
        rendered = Rendered(rendered.status, [*rendered.headers, *added], rendered.body)
    if api.cors is not None:
        origin = ctx.header("origin")
        if origin is not None:
            rendered = with_cors_headers(api.cors, origin, rendered)
    return rendered

def with_mode_headers(ctx: RequestContext, rendered: Rendered) -> Rendered:
    """The modes' headers, replacing any of the same name (the API's own are added after)."""
    assert ctx.effects is not None
    added: dict[str, str] = {}
    for tree, variables in ctx.effects.headers:
        values = tree.render({**template_context(ctx), "mode": variables})
        added.update({k: str(v) for k, v in values.items() if v is not None})
    lowered = {k.lower() for k in added}
    kept = [(k, v) for k, v in rendered.headers if k.lower() not in lowered]
    return Rendered(rendered.status, [*kept, *added.items()], rendered.body)

def render_failure(ctx: RequestContext, failure: Failure) -> Rendered:
    api = ctx.api
    if len(failure.errors) == 1 and not failure.variables:
        ref = failure.errors[0]
        single = api.errors[ref.id]
        fast = specialized(api, single, ref.params)
        if fast is not None:  # the common case: the error's own parts rendered once, not per request
            item, response, shared = fast
            data = dict(shared)  # templates get their own copy of the error's data
            context = template_context(ctx)  # a fresh dict: ours to fill
            context["error"] = data
            context["errors"] = [data]
            if item is not None and response.reads("items"):
                if response.splices("items"):  # Reactor's `{errors: "{{ items }}"}`: JSON text all along
                    text = item.json_text(context)
                    context["items"] = JsonText("[]" if text is OMIT else f"[{text}]")
                else:
                    context["items"] = present([item.render(context)])
            return response.render(context)
    documented: list[DocumentedError] = [api.errors[ref.id] for ref in failure.errors]
    errors = [doc.as_context(ref.params) for doc, ref in zip(documented, failure.errors, strict=True)]
    context = {**template_context(ctx), **failure.variables, "error": errors[0], "errors": errors}
    template = documented[0].response or api.error_response
    if api.error_item is not None and template.reads("items"):
        context["items"] = present(api.error_item.render({**context, "error": e}) for e in errors)
    return template.render(context)


Specialized = tuple[Tree | None, ResponseTemplate, dict[str, Any]]
_SPECIALIZED: dict[tuple[int, tuple[Any, ...]], tuple[DocumentedError, Specialized]] = {}
_VARIANTS: dict[int, int] = {}  # distinct params seen per error: past a few, params vary per request
_MAX_VARIANTS = 16


def specialized(api: Api, doc: DocumentedError, params: Mapping[str, Any]) -> Specialized | None:
    """The error's item and response with its data (and these params) rendered in: at load for no
    params, on first use for params made of plain values (a JSON pointer, a field name). None when
    params differ on every request (ids in messages): those render in full."""
    if not params:
        if doc.fast_response is None:
            return None
        return doc.fast_item, doc.fast_response, doc.as_context()
    try:
        key = (id(doc), tuple(params.items()) if len(params) == 1 else tuple(sorted(params.items())))
        hit = _SPECIALIZED.get(key)
    except TypeError:  # a list or a mapping among the params
        return None
    if hit is not None:
        return hit[1]
    if _VARIANTS.get(id(doc), 0) >= _MAX_VARIANTS:
        return None
    _VARIANTS[id(doc)] = _VARIANTS.get(id(doc), 0) + 1
    if len(_SPECIALIZED) > 4096:
        _SPECIALIZED.clear()
    data = doc.as_context(params)
    item = api.error_item.specialize({"error": data}) if api.error_item is not None else None
    response = (doc.response or api.error_response).specialize({"error": data, "errors": [data]})
    _SPECIALIZED[key] = (doc, (item, response, data))  # the doc is kept so its id is not reused
    return item, response, data
