"""Rendering an outcome (`mockserver/engine/respond.py`) where a mutation audit found no test."""

from __future__ import annotations

from pathlib import Path

NO_ITEM = """\
api: noitem
prefix: /noitem
error_response:
  status: "{{ error.status }}"
  body: {errors: "{{ items }}", id: "{{ error.id }}"}
errors:
  shown: {status: 400, title: Shown}
routes:
  - {id: any, method: GET, path: /x, respond: {status: 200, body: {ok: true}}}
"""


def test_an_error_response_reading_items_of_an_api_without_error_item_answers_the_error(tmp_path: Path, make_client):
    """schema.json: `error_item` is "rendered once per error of an answer and given to error_response as `items`". A
    user's API that has none and still names `items` (copied from Reactor's `{errors: "{{ items }}"}`) gets its
    documented error all the same, not the mock's 500."""
    (tmp_path / "noitem.yaml").write_text(NO_ITEM)
    client = make_client(scenarios=(str(tmp_path),))
    answer = client.get("/noitem/x?__error=shown")
    assert answer.status_code == 400 and "x-mockserver-internal-error" not in answer.headers, answer.text
    assert answer.json()["id"] == "shown"
