"""Reposts and near-duplicates: which new mention repeats an earlier one of the same brand. Pure.

Two mentions are the same post when their content hashes are equal, or their SimHashes differ in at
most `max_bits` bits, and they were published within `window` of each other. SimHashes are indexed by
bands (max_bits + 1 slices of the 64 bits): two hashes within max_bits bits agree on at least one whole
band, so each mention is compared only with the originals sharing a band, not with all of them. Only
originals are indexed, so a link always points at an original, never at another duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Fingerprint:
    key: int
    brand: str
    content_hash: str
    simhash: int
    published_at: datetime


class _Originals:
    def __init__(self, max_bits: int, window: timedelta):
        self.max_bits, self.window = max_bits, window
        self.bands = max_bits + 1
        self.width = 64 // self.bands
        self.exact: dict[tuple[str, str], list[Fingerprint]] = defaultdict(list)
        self.banded: dict[tuple[str, int, int], list[Fingerprint]] = defaultdict(list)

    def _band_keys(self, print_: Fingerprint) -> list[tuple[str, int, int]]:
        mask = (1 << self.width) - 1
        return [(print_.brand, band, print_.simhash >> (band * self.width) & mask) for band in range(self.bands)]

    def add(self, print_: Fingerprint) -> None:
        self.exact[(print_.brand, print_.content_hash)].append(print_)
        if print_.simhash:
            for key in self._band_keys(print_):
                self.banded[key].append(print_)

    def _near(self, a: Fingerprint, b: Fingerprint) -> bool:
        return abs(a.published_at - b.published_at) <= self.window

    def find(self, print_: Fingerprint) -> int | None:
        for other in self.exact.get((print_.brand, print_.content_hash), ()):
            if self._near(print_, other):
                return other.key
        if not print_.simhash:  # no tokens: only an exact repeat counts
            return None
        for key in self._band_keys(print_):
            for other in self.banded.get(key, ()):
                if (other.simhash ^ print_.simhash).bit_count() <= self.max_bits and self._near(print_, other):
                    return other.key
        return None


def link_duplicates(known: Iterable[Fingerprint], new: Iterable[Fingerprint], max_bits: int = 3,
                    window: timedelta = timedelta(hours=48)) -> dict[int, int]:
    """Return {new mention key: key of the original it repeats}.

    `known` are originals stored before (matched first); `new` are taken in order of publication, each
    either repeating an original or becoming one for those after it.
    """
    originals = _Originals(max_bits, window)
    for print_ in known:
        originals.add(print_)
    links: dict[int, int] = {}
    for print_ in sorted(new, key=lambda p: (p.published_at, p.key)):
        original = originals.find(print_)
        if original is None:
            originals.add(print_)
        else:
            links[print_.key] = original
    return links
