"""The core segment of an IAB TCF v2 TC string: the CMP that made it and the consents DCS reads.

Written here rather than taken from PyPI: the decoders there (iab-tcf, last released 2022) pull a
forked C extension and call `datetime.utcfromtimestamp`, which warns on current Pythons, and we need
six fields. Layout from the IAB "Consent string and vendor list formats v2" specification.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

# Bit offsets of the core segment's fixed part.
_CMP_ID = 78  # after Version(6), Created(36), LastUpdated(36)
_PURPOSES = 152  # PurposesConsent: 24 bits, purpose 1 first
_VENDORS = 213  # MaxVendorId(16), IsRangeEncoding(1), then a bitfield or ranges


class BitReader:
    """Big-endian bits of a byte string, read in order; ValueError past the end."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.size = len(data) * 8
        self.position = 0

    def read(self, bits: int) -> int:
        if self.position + bits > self.size:
            raise ValueError("TC string ends too early")
        shift = self.size - self.position - bits
        self.position += bits
        return (self.value >> shift) & ((1 << bits) - 1)

    def skip_to(self, position: int) -> None:
        if position > self.size:
            raise ValueError("TC string ends too early")
        self.position = position


@dataclass(frozen=True)
class TcString:
    version: int
    cmp_id: int
    purposes: frozenset[int]
    vendor_ranges: tuple[tuple[int, int], ...]  # consenting vendors, as inclusive ranges

    def vendor_consents(self, vendor: int) -> bool:
        return any(start <= vendor <= end for start, end in self.vendor_ranges)

    def consents(self, vendor: int, purposes: set[int] | frozenset[int]) -> bool:
        """The vendor and every purpose it needs have the user's consent."""
        return purposes <= self.purposes and self.vendor_consents(vendor)


def decode_segment(text: str) -> bytes:
    """base64url without padding, as the specification writes it; ValueError otherwise."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"TC string is not base64url: {exc}") from None


def parse(consent: str) -> TcString:
    """The core (first) segment; ValueError when it is not a version 2 TC string."""
    reader = BitReader(decode_segment(consent.split(".", 1)[0]))
    version = reader.read(6)
    if version != 2:
        raise ValueError(f"TC string version {version}, DCS reads version 2")
    reader.skip_to(_CMP_ID)
    cmp_id = reader.read(12)
    reader.skip_to(_PURPOSES)
    bits = reader.read(24)
    purposes = frozenset(n + 1 for n in range(24) if bits >> (23 - n) & 1)
    reader.skip_to(_VENDORS)
    return TcString(version, cmp_id, purposes, _vendor_ranges(reader))


def _vendor_ranges(reader: BitReader) -> tuple[tuple[int, int], ...]:
    max_vendor = reader.read(16)
    if not reader.read(1):  # bitfield: one bit per vendor from 1 to max_vendor, read at once
        flags = format(reader.read(max_vendor), f"0{max_vendor}b") if max_vendor else ""
        ranges: list[tuple[int, int]] = []
        for vendor, flag in enumerate(flags, start=1):
            if flag == "1":
                if ranges and ranges[-1][1] == vendor - 1:
                    ranges[-1] = (ranges[-1][0], vendor)
                else:
                    ranges.append((vendor, vendor))
        return tuple(ranges)
    entries = []
    for _ in range(reader.read(12)):
        is_range = reader.read(1)
        start = reader.read(16)
        end = reader.read(16) if is_range else start
        entries.append((start, end))
    return tuple(entries)
