"""Reposts and near-duplicates: which new mention repeats an earlier one of the same brand, and what a
platform repost (its `repost_of`) counts for. Pure.

Two mentions are the same post when their content hashes are equal, or their SimHashes differ in at
most `max_bits` bits, and they were published within `window` of each other. SimHashes are indexed by
bands (max_bits + 1 slices of the 64 bits): two hashes within max_bits bits agree on at least one whole
band, so each mention is compared only with the originals sharing a band, not with all of them. Only
originals are indexed, so a link always points at an original, never at another duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np


class Fingerprint(NamedTuple):  # a tuple: a scan builds one per stored original of the last two days
    key: int
    brand: str
    content_hash: str
    simhash: int
    published_at: datetime


_EPOCH, _NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """Return `at` as whole microseconds since the epoch (exact, unlike a float timestamp)."""
    return (at - (_NAIVE_EPOCH if at.tzinfo is None else _EPOCH)) // _MICROSECOND


MAX_BITS = 3  # link_duplicates' default: 4 bands of 16 bits, each 4 of the 16 hex digits the database stores


def hex_bands(max_bits: int = MAX_BITS) -> list[tuple[int, int]] | None:
    """Return where each band of a SimHash lies in its stored form (16 hex digits, most significant first), as
    SQL's 1-based substr(start, length), band 0 first; None when the bands do not fall on whole hex digits."""
    bands = max_bits + 1
    width = 64 // bands
    if 64 % bands or width % 4:
        return None
    return [(17 - width // 4 * (band + 1), width // 4) for band in range(bands)]


# Above this many originals in one band, find() compares with all of them at once (numpy) rather than one by one:
# templated posts (a copy-paste campaign, the demo's generator) put hundreds of originals in one band, and the
# Python loop over them was most of storing 100,000 such mentions (1.3 of 5 s); below it numpy's per-call cost loses.
_SMALL_BUCKET = 24
_NO_HASHES, _NO_TIMES = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)


class _Bucket:
    """The originals sharing one band: (simhash, published_at in microseconds, key) tuples in the order added,
    unpacked and compared faster than a Fingerprint's datetimes; `first` skips those too old for every later post.
    A bucket grown past _SMALL_BUCKET also keeps its hashes and times as arrays, extended as it grows."""

    __slots__ = ("entries", "first", "hashes", "times", "filled")

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, int]] = []
        self.first = 0
        self.hashes: np.ndarray = _NO_HASHES
        self.times: np.ndarray = _NO_TIMES
        self.filled = 0

    def first_near(self, simhash: int, at: int, max_bits: int, window: int) -> int | None:
        """Return the key of the first entry from `first` on within `max_bits` bits of `simhash` and `window`
        microseconds of `at`, or None (what the one-by-one loop returns)."""
        end = len(self.entries)
        if self.filled < end:
            if end > len(self.hashes):
                size = max(end, 2 * len(self.hashes))
                self.hashes, self.times = np.resize(self.hashes, size), np.resize(self.times, size)
            added = self.entries[self.filled:end]
            self.hashes[self.filled:end] = [entry[0] for entry in added]
            self.times[self.filled:end] = [entry[1] for entry in added]
            self.filled = end
        first = self.first
        near = np.bitwise_count(self.hashes[first:end] ^ np.uint64(simhash)) <= max_bits
        near &= np.abs(self.times[first:end] - at) <= window
        hit = int(near.argmax())
        return self.entries[first + hit][2] if near[hit] else None


class _Originals:
    def __init__(self, max_bits: int, window: timedelta):
        self.max_bits, self.window = max_bits, window
        self.bands = max_bits + 1
        self.width = 64 // self.bands
        self.exact: dict[tuple[str, str], list[Fingerprint]] = defaultdict(list)
        self.window_us = window // _MICROSECOND
        # per band: the originals sharing it, in the order added (see _Bucket), by band key (see band_keys_of)
        self.banded: dict[int, _Bucket] = defaultdict(_Bucket)
        self._codes: dict[str, int] = {}  # brand -> its number in the band keys

    def band_keys_of(self, prints: Sequence[Fingerprint]) -> list[tuple[int, ...]]:
        """Return each print's band keys, band 0 the lowest bits: one int per (brand, band, the band's bits), as
        ((brand's number × bands + band) << width) | bits. An int is hashed and compared faster than a tuple, and a
        scan looks 400,000 of them up for 100,000 posts. The bands of all are cut at once (numpy)."""
        if not prints:
            return []
        codes = self._codes
        brands = [codes.setdefault(p.brand, len(codes)) for p in prints]
        bands, width = self.bands, self.width
        if width > 32:  # a band of more than 32 bits (max_bits 0 or 1): plain ints
            mask = (1 << width) - 1
            return [tuple(((brand * bands + band) << width) | ((p.simhash >> band * width) & mask)
                          for band in range(bands)) for brand, p in zip(brands, prints, strict=True)]
        hashes = np.array([p.simhash for p in prints], dtype=np.uint64)
        numbers = np.array(brands, dtype=np.uint64) * np.uint64(bands)
        mask, shift = np.uint64((1 << width) - 1), np.uint64(width)
        columns = [(((numbers + np.uint64(band)) << shift) | ((hashes >> np.uint64(band * width)) & mask)).tolist()
                   for band in range(bands)]
        return list(zip(*columns, strict=True))

    def add(self, print_: Fingerprint, band_keys: Sequence[int]) -> None:
        self.exact[(print_.brand, print_.content_hash)].append(print_)
        if print_.simhash:
            entry = (print_.simhash, _micros(print_.published_at), print_.key)
            for key in band_keys:
                self.banded[key].entries.append(entry)

    def add_known(self, known: Sequence[Fingerprint], new: Sequence[Fingerprint],
                  new_keys: Sequence[Sequence[int]]) -> None:
        """Index the stored originals `known` under the keys `new` will look up (`new_keys`, theirs in order), as
        `add` would, in order.

        Only those keys: a scan of a few new posts against two days of originals would otherwise index
        each original under every band. The bands of all originals are cut at once (numpy), and only an
        original sharing a band with a new post is indexed there."""
        if not known:
            return
        wanted = {(p.brand, p.content_hash) for p in new}
        for print_ in known:
            if (print_.brand, print_.content_hash) in wanted:
                self.exact[(print_.brand, print_.content_hash)].append(print_)
        bands = {key for print_, keys in zip(new, new_keys, strict=True) if print_.simhash for key in keys}
        if not bands:
            return
        for print_, keys in zip(known, self.band_keys_of(known), strict=True):
            if print_.simhash and not bands.isdisjoint(keys):
                entry = (print_.simhash, _micros(print_.published_at), print_.key)
                for key in keys:
                    if key in bands:
                        self.banded[key].entries.append(entry)

    def _near(self, a: Fingerprint, b: Fingerprint) -> bool:
        return abs(a.published_at - b.published_at) <= self.window

    def find(self, print_: Fingerprint, band_keys: Sequence[int]) -> int | None:
        """Return the key of the first indexed original `print_` repeats, or None. Call it for posts in order of
        publication (link_duplicates does): it forgets the originals too old for the post it is given."""
        for other in self.exact.get((print_.brand, print_.content_hash), ()):
            if self._near(print_, other):
                return other.key
        simhash = print_.simhash
        if not simhash:  # no tokens: only an exact repeat counts
            return None
        at = _micros(print_.published_at)
        max_bits, window, banded = self.max_bits, self.window_us, self.banded
        oldest = at - window
        for key in band_keys:  # the hot loop of a scan: locals only
            bucket = banded.get(key)
            if bucket is None:
                continue
            entries = bucket.entries
            # `new` comes in order of publication: what is older than this post's window is out of every later
            # one's too. Skipped from the front only, so the first match, the one returned, stays the same.
            first, end = bucket.first, len(entries)
            while first < end and entries[first][1] < oldest:
                first += 1
            bucket.first = first
            if end - first > _SMALL_BUCKET:
                found = bucket.first_near(simhash, at, max_bits, window)
                if found is not None:
                    return found
                continue
            for other_hash, other_at, other_key in entries[first:]:
                if (other_hash ^ simhash).bit_count() <= max_bits and abs(at - other_at) <= window:
                    return other_key
        return None


def link_duplicates(known: Iterable[Fingerprint], new: Iterable[Fingerprint], max_bits: int = MAX_BITS,
                    window: timedelta = timedelta(hours=48)) -> dict[int, int]:
    """Return {new mention key: key of the original it repeats}.

    `known` are originals stored before (matched first); `new` are taken in order of publication, each
    either repeating an original or becoming one for those after it.
    """
    originals = _Originals(max_bits, window)
    new = sorted(new, key=lambda p: (p.published_at, p.key))
    keys = originals.band_keys_of(new)
    originals.add_known(list(known), new, keys)
    links: dict[int, int] = {}
    for print_, band_keys in zip(new, keys, strict=True):
        original = originals.find(print_, band_keys)
        if original is None:
            originals.add(print_, band_keys)
        else:
            links[print_.key] = original
    return links


@dataclass(frozen=True)
class Reading:
    """What one stored post counts for in triage: its brand, product, category, polarity, critical terms and
    claims (both as stored: comma-separated)."""

    brand: str | None
    product: str | None
    category: str | None
    negative: bool
    sentiment: float
    critical_terms: str = ""
    claims: str = ""


def spread_reading(own: Reading, original: Reading, debunk: bool) -> Reading | None:
    """Return what a repost counts for, given its own reading and its original's; None when it keeps its own
    and is not linked to the original.

    A repost's own text is mostly "转发微博", "求扩散" or an @-list: it spreads what the original says, so it takes
    the original's brand, product, category, polarity, critical terms and claims (a bare repost of "…致癌"
    spreads 致癌: it counts for critical_terms and claims as a second voice would) — unless its own text clearly
    says otherwise:
    - it names another watched brand than the original: it keeps its own reading and is not linked (it is
      about that brand, and must not join the first brand's incident);
    - it debunks the story (造谣, 辟谣 …): never a complaint, whatever the original's tone;
    - it names the brand itself and complains of a post that does not: its own complaint stays negative.
    In both cases it keeps its own critical terms and claims only; otherwise it adds the original's to its own.
    Applying it to its own result changes nothing, so a repost can be resolved again safely.
    """
    if original.brand is None or own.brand not in (None, original.brand):
        return None if own.brand is not None and original.brand is not None else own
    own_complaint = own.brand is not None and own.negative and not original.negative
    if debunk:
        negative, sentiment = False, own.sentiment
    elif own_complaint:
        negative, sentiment = True, own.sentiment
    else:
        negative, sentiment = original.negative, original.sentiment
    category = own.category if own_complaint and own.category else original.category
    if debunk or own_complaint:
        critical, claims = own.critical_terms, own.claims
    else:
        critical, claims = _joined(original.critical_terms, own.critical_terms), _joined(original.claims, own.claims)
    return Reading(original.brand, original.product or own.product, category, negative, sentiment, critical, claims)


TERMS_LENGTH = 256  # Mention.critical_terms and Mention.claims


def stored_terms(terms: Iterable[str]) -> str:
    """Return terms as stored (comma-separated, each once, in order), cut after the last whole term that fits the
    column: a long article's list never fails the write."""
    joined = ",".join(dict.fromkeys(t for t in terms if t))
    if len(joined) <= TERMS_LENGTH:
        return joined
    cut = joined.rfind(",", 0, TERMS_LENGTH + 1)
    return joined[:cut] if cut > 0 else joined[:TERMS_LENGTH]


def _joined(first: str, then: str) -> str:
    """Return two stored lists of terms as one, each term once, `first`'s in order, then `then`'s new ones."""
    if not then or then == first:
        return first
    return stored_terms((*first.split(","), *then.split(",")))


@dataclass(frozen=True)
class RepostPair:
    """A stored repost and the stored post it names in `repost_of`, as they read now."""

    repost_id: int
    repost_external_id: str
    repost: Reading
    debunk: bool
    linked_to: int | None
    original_id: int
    original: Reading
    original_of: int | None  # the original's own link, when it repeats an earlier post


def resolve_reposts(pairs: Iterable[RepostPair]) -> dict[int, tuple[Reading, int]]:
    """Return {repost id: (what it counts for, the original it links to)} for the reposts that change.

    A repost links to the original's own original when the original is itself a repeat, so a link always
    points at the first post of a cascade.
    """
    changes: dict[int, tuple[Reading, int]] = {}
    for pair in pairs:
        reading = spread_reading(pair.repost, pair.original, pair.debunk)
        if reading is None:
            continue
        first = pair.original_of
        target = first if first is not None and first != pair.repost_id else pair.original_id
        if reading != pair.repost or target != pair.linked_to:
            changes[pair.repost_id] = (reading, target)
    return changes
