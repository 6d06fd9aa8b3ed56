"""Route paths at the edges of the loader's checks: the root path, and the shadow check's cap of samples."""

from __future__ import annotations

import pytest

from mockserver.scenario.load import MAX_SAMPLES, load_catalog
from mockserver.scenario.read import ScenarioError
from tests.unit.test_load import GOOD


def _routes(*specs: tuple[str, str]) -> str:
    return GOOD.split("  - id: hello\n")[0] + "".join(
        f"  - id: {name}\n    method: GET\n    path: {path}\n    respond: {{body: {{id: {name}}}}}\n"
        for name, path in specs)


def test_a_route_at_the_root_path_loads_and_answers_at_the_prefix(tmp_path, make_client):
    """`/` is the one path that may end with a slash: the rule against a last slash is not for it."""
    (tmp_path / "toy.yaml").write_text(_routes(("root", "/"), ("hello", "/hello")))
    client = make_client(scenarios=(str(tmp_path),))
    assert client.get("/toy/").json() == {"id": "root"}
    assert client.get("/toy/hello").json() == {"id": "hello"}


def test_a_route_whose_listed_paths_are_exactly_the_cap_is_still_judged(tmp_path):
    """MAX_SAMPLES paths are tried; one more and the check says nothing (test_load's cap test)."""
    values = ", ".join(f"v{i}" for i in range(MAX_SAMPLES))
    later = f"/x/{{k}}\n    path_values: {{k: [{values}]}}"
    (tmp_path / "toy.yaml").write_text(_routes(("first", "/x/{k}"), ("later", later)))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path], bundled=False)
    [found] = [str(p) for p in caught.value.problems]
    assert found == (f"{tmp_path / 'toy.yaml'}:15: routes[1].path: GET /x/{{k}} is answered by route 'first' "
                     f"({tmp_path / 'toy.yaml'}:9), which comes first: this route never sees it")
