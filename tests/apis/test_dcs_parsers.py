"""The DCS parsers on their own: raw query pairs and 311, TC strings, declared customer ids."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.apis.dcs_ids import declared, review
from mockserver.apis.dcs_query import Params, badly_encoded, pairs
from mockserver.apis.dcs_tcf import parse
from tests.apis.test_dcs_support import tc_string

HEX = set(string.hexdigits.encode())


def escapes_are_valid(raw: bytes) -> bool:
    """The oracle, written apart from the module: every % starts two hex digits."""
    return all(
        raw[i + 1 : i + 3] and len(raw[i + 1 : i + 3]) == 2 and set(raw[i + 1 : i + 3]) <= HEX
        for i, byte in enumerate(raw)
        if byte == ord("%")
    )


def unescaped(raw: bytes) -> bytes:
    """The bytes the escapes of `raw` spell (its escapes all valid)."""
    decoded, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == ord("%"):
            decoded.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            decoded.append(raw[i])
            i += 1
    return bytes(decoded)


def properly_encoded(raw: bytes) -> bool:
    """The 311 oracle, written apart from the module: valid escapes that spell UTF-8 once decoded."""
    if not escapes_are_valid(raw):
        return False
    try:
        unescaped(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- 311 and pairs ---------------------------------------------------------------------------
@given(st.binary(max_size=80))
def test_badly_encoded_is_exactly_a_bad_escape_or_bytes_that_are_not_utf8(raw):
    assert badly_encoded(raw) == (not properly_encoded(raw))
    for pair in pairs(raw):  # never raises, whatever the bytes
        assert isinstance(pair.value, str) and pair.parts()


@given(st.lists(st.tuples(st.text(min_size=1, max_size=10), st.text(max_size=15)), max_size=6))
def test_a_correctly_encoded_query_is_never_311_and_decodes_back(items):
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items).encode()
    assert not badly_encoded(raw)
    assert [(p.key, p.value) for p in pairs(raw)] == [(k, v) for k, v in items]


# Queries made of the pieces the parser has to tell apart: escapes good and bad (`%E9` is no UTF-8 on its
# own), `+`, `%2B`, the `%01` separator, and `&` / `&&` / `=` in raw and escaped forms.
ESCAPE_HEAVY = st.lists(
    st.sampled_from([b"%", b"%2", b"%E9", b"%C3%A9", b"%01", b"%2B", b"%26", b"%3D", b"+", b"&", b"=", b"a", b"4F"]),
    max_size=24,
).map(b"".join)


@given(ESCAPE_HEAVY)
def test_pairs_are_the_non_empty_pieces_with_plus_a_space(raw):
    """A form-encoded query (`c_city=New+York`, an HTML form's POST body): `+` is a space, `%2B` a plus,
    `&&` and a trailing `&` are no pair, and a query that is 311 still parses (the DCS answers it)."""
    found = [(p.key, p.value) for p in pairs(raw)]  # never raises, whatever the escapes spell
    if properly_encoded(raw):
        pieces = [piece.partition(b"=") for piece in raw.split(b"&") if piece]
        text = [(unescaped(k.replace(b"+", b" ")), unescaped(v.replace(b"+", b" "))) for k, _, v in pieces]
        assert found == [(k.decode(), v.decode()) for k, v in text]


def test_pairs_examples():
    assert [(p.key, p.value) for p in pairs(b"&c_city=New+York&&c_x=a%2Bb&c_y=caf%E9&")] == [
        ("c_city", "New York"),
        ("c_x", "a+b"),
        ("c_y", "caf\ufffd"),  # a byte that is no UTF-8 is replaced (the query is 311 anyway)
    ]


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        (b"d_site=%esid!&d_creative=%ecid!", True),
        (b"d_site=%25esid!&d_creative=%25ecid!", False),
        (b"a=%", True),
        (b"a=%4", True),
        (b"a=%4g", True),
        (b"a=%4F", False),
        (b"%zz=1", True),
        (b"d_cid=1%01x", False),
        # The page's other three: hex escapes, but `%ec` + `i` (and `%ea` + `i`, `%eb` + `u`) is no UTF-8.
        (b"d_creative=%ecid!", True),
        (b"d_adgroup=%eaid!", True),
        (b"d_campaign=%ebuy!", True),
        (b"c_x=caf%C3%A9", False),
        (b"c_x=caf%E9", True),
        (b"c_x=%C3%28", True),
    ],
)
def test_the_documentation_examples_and_edges(raw, bad):
    assert badly_encoded(raw) is bad


def test_cid_parts_split_on_the_raw_separator_before_decoding():
    params = Params(pairs(b"d_cid=123%01a%2501b&d_cid_ic=my%20code%01u%2Bv%011&d_cid_ic=one"))
    ids = declared(params)
    assert [(c.key, c.namespace, c.user_id, c.separated) for c in ids] == [
        ("d_cid", "123", "a%01b", True),
        ("d_cid_ic", "my code", "u+v", True),
        ("d_cid_ic", "one", "", False),
    ]


# -- TC strings --------------------------------------------------------------------------------
@given(
    cmp_id=st.integers(0, 4095),
    purposes=st.sets(st.integers(1, 24)),
    vendors=st.sets(st.integers(1, 800), max_size=30),
    ranges=st.booleans(),
)
def test_tc_string_round_trip(cmp_id, purposes, vendors, ranges):
    tc = parse(tc_string(cmp_id, purposes, vendors, ranges=ranges, extra=".YAAAAAAAAAAA"))
    assert (tc.version, tc.cmp_id, tc.purposes) == (2, cmp_id, frozenset(purposes))
    assert {v for v in range(1, 801) if tc.vendor_consents(v)} == vendors


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_value_error(text):
    try:
        parse(text)
    except ValueError:
        pass


@pytest.mark.parametrize("text", ["", "!!!", tc_string(version=1), tc_string()[:20], "CPc+Ew=="])
def test_unreadable_tc_strings(text):
    with pytest.raises(ValueError):
        parse(text)


# -- declared ids ------------------------------------------------------------------------------
OPTIONS = {
    "customer_id_limit": 10,
    "namespace_limit": 3,
    "integration_codes": {"DSID_20915": 20915},
    "global_device_ids": {"20915": "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"},
    "denylist": {"data_sources": [999999], "customer_ids": ["bad"]},
}


def codes_of(raw: bytes, partner: dict | None = None) -> list[str]:
    return [e.id for e in review(declared(Params(pairs(raw))), OPTIONS, partner or {}).errors]


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        (b"d_cid_ic=one&d_cid_ic=one&d_cid_ic=one&d_cid_ic=one", ["310"]),
        (b"d_cid=20915%01a53cc5a2-6aa1-4210-8ded-a88b29b6212z", ["300", "312", "104"]),
        (b"d_cid=20915%01AEBE52E7-03EE-455A-B3C4-E57283966239", []),
        (b"d_cid_ic=DSID_20915%01aebe52e7-03ee-455a-b3c4-e57283966239&d_cid=1%01x", ["300", "312"]),
        (b"d_cid=abc%01x", ["300", "104"]),
        (b"d_cid=12%01", ["300", "104"]),
        (b"d_cid_ic=%01x", ["300", "104"]),
        (b"d_dpid=12&d_dpuuid=x", []),
        (b"d_dpuuid=x", ["300", "104"]),
        (b"d_cid=%C2%B2%01x", ["300", "104"]),  # a superscript two is no data source
        (b"d_cid=999999%01x", ["304", "104"]),  # the one id, invalid: 104 too
        (b"d_cid=1%01bad", ["303", "104"]),
        (b"d_cid=123", ["300", "104"]),  # a data source without its value, as d_dpid=123 alone
        (b"d_cid=123&d_cid=20915%01AEBE52E7-03EE-455A-B3C4-E57283966239", ["300"]),
    ],
)
def test_customer_id_codes(raw, codes):
    assert codes_of(raw) == codes


def test_partner_data_sources_give_302():
    assert codes_of(b"d_cid=777%01x&d_cid=39217%01y", {"data_sources": [39217]}) == ["302"]


@given(st.lists(st.tuples(st.sampled_from(["1", "2", "3", "x", "", "20915"]), st.text(max_size=4)), max_size=25))
def test_every_declared_id_is_kept_or_discarded_once(entries):
    raw = "&".join(f"d_cid={quote(ns, safe='')}%01{quote(uid, safe='')}" for ns, uid in entries).encode()
    ids = declared(Params(pairs(raw)))
    result = review(ids, OPTIONS, {})
    discards = [e for e in result.errors if e.id in ("300", "304", "303", "310", "309")]
    assert len(result.kept) + len(discards) == len(ids)
    assert len(result.kept) <= 10
    assert ("301" in [e.id for e in result.errors]) == any(e.id == "309" for e in result.errors)
