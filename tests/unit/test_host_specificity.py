"""An exact host name beats every wildcard, even one whose literal characters are as many (a `*` that may match
nothing): the two load together, and each Host goes to its API."""

from __future__ import annotations

from tests.unit.test_load import GOOD


def test_an_exact_name_beats_a_wildcard_with_as_many_literal_characters(tmp_path, make_client):
    """Reactor's `reactor.adobe.io` and a user's `reactor.adobe.io*` both match the Host reactor.adobe.io, with 16
    literal characters each: not a tie, the exact name wins."""
    (tmp_path / "toy.yaml").write_text(GOOD.replace("prefix: /toy", 'prefix: /toy\nhosts: ["reactor.adobe.io*"]'))
    client = make_client(scenarios=(str(tmp_path),))

    def api_of(host: str) -> str:
        client.get("/nothing", headers={"Host": host, "X-Mock-Session": host})
        return str(client.get(f"/__admin/requests?session={host}").json()["requests"][-1]["api"])

    assert api_of("reactor.adobe.io") == "reactor"
    assert api_of("reactor.adobe.io.test") == "toy"
