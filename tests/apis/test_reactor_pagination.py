"""Reactor pagination edges: leading zeros in page[size], an empty list's total_pages, past the end."""

from __future__ import annotations

import pytest

from tests.apis.test_reactor_support import Reactor


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client)


def test_a_zero_padded_page_number_and_size_are_the_numbers_they_spell(reactor):
    """`page[size]=0002&page[number]=0002` is size 2, page 2 (whole_number takes the leading zeros off before it
    compares the digits with the limit): not a size of 100 nor the billionth page."""
    prop = reactor.property()
    made = [reactor.library(prop, f"L{i}") for i in range(5)]
    page = reactor.get(f"/properties/{prop}/libraries?page[size]=0002&page[number]=0002").json()
    assert [d["id"] for d in page["data"]] == made[2:4]
    assert page["meta"]["pagination"] == {"current_page": 2, "next_page": 3, "prev_page": 1, "total_pages": 3,
                                          "total_count": 5}


def test_an_empty_collection_is_one_empty_page_and_a_page_past_the_end_links_back_only_from_just_past_it(reactor):
    """pagination(): an empty list is page 1 of 1 (total_pages never 0); a page one past the end has the last page
    as prev_page, a page further out has none (it follows no page that exists)."""
    prop = reactor.property()
    empty = reactor.get(f"/properties/{prop}/libraries").json()
    assert empty["data"] == [] and empty["meta"]["pagination"] == {
        "current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1, "total_count": 0}
    for i in range(5):
        reactor.library(prop, f"L{i}")
    past = reactor.get(f"/properties/{prop}/libraries?page[size]=2&page[number]=4").json()
    assert past["data"] == [] and past["meta"]["pagination"]["prev_page"] == 3
    further = reactor.get(f"/properties/{prop}/libraries?page[size]=2&page[number]=5").json()
    assert further["data"] == [] and further["meta"]["pagination"]["prev_page"] is None
