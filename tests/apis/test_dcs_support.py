"""Helpers the DCS tests share: a TC string encoder (the inverse of dcs_tcf), raw ASGI calls, JWTs."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable
from typing import Any


def tc_string(
    cmp_id: int = 10,
    purposes: Iterable[int] = (1, 10),
    vendors: Iterable[int] = (565,),
    version: int = 2,
    ranges: bool = False,
    extra: str = "",
) -> str:
    """A TC string written bit by bit from the IAB v2 layout (core segment only, unless `extra`)."""
    chosen_purposes, chosen_vendors = set(purposes), sorted(set(vendors))
    bits: list[str] = []

    def put(value: int, size: int) -> None:
        bits.append(format(value, f"0{size}b"))

    put(version, 6)
    put(16_000_000_000, 36)  # Created, deciseconds
    put(16_000_000_000, 36)  # LastUpdated
    put(cmp_id, 12)
    put(3, 12)  # CmpVersion
    put(1, 6)  # ConsentScreen
    put(4 * 64 + 13, 12)  # ConsentLanguage "EN"
    put(150, 12)  # VendorListVersion
    put(4, 6)  # TcfPolicyVersion
    put(1, 1)  # IsServiceSpecific
    put(0, 1)  # UseNonStandardTexts
    put(0, 12)  # SpecialFeatureOptIns
    put(sum(1 << (24 - p) for p in chosen_purposes), 24)
    put(0, 24)  # PurposesLITransparency
    put(0, 1)  # PurposeOneTreatment
    put(0, 12)  # PublisherCC
    max_vendor = max(chosen_vendors, default=0)
    put(max_vendor, 16)
    if ranges:
        put(1, 1)
        put(len(chosen_vendors), 12)
        for vendor in chosen_vendors:
            put(0, 1)
            put(vendor, 16)
    else:
        put(0, 1)
        for vendor in range(1, max_vendor + 1):
            put(1 if vendor in chosen_vendors else 0, 1)
    put(0, 16)  # an empty legitimate-interest section: MaxVendorId 0, bitfield
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    data = int(text, 2).to_bytes(len(text) // 8, "big")
    return base64.urlsafe_b64encode(data).decode().rstrip("=") + extra


def jwt(claims: dict[str, Any]) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{segment({'alg': 'RS256'})}.{segment(claims)}.c2lnbmF0dXJl"


def asgi_call(
    app: Any, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through ASGI, the query bytes exactly as given (no client re-encodes them); header names lowered."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers = {name.lower(): value for name, value in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])
