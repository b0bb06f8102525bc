"""SimHash of tokenised texts: 64 bits per text, near-duplicates differ in few (duplicates.py links them). Pure.

Each token hashes to 64 bits (BLAKE2b); a text's bit is set when more than half of its tokens set it. A batch
is encoded once (sentiment.encode: token ids shared with the sentiment scorer), each token hashed once per
vocabulary, and the bits counted per text in numpy.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

from tasks.monitoring.sentiment import TokenBatch, Vocabulary, encode


def simhash(tokens: Sequence[str]) -> int:
    """Return the 64-bit SimHash of the tokens (near-duplicates differ in few bits)."""
    weights = [0] * 64
    for token in tokens:
        h = _blake64(token)
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def _blake64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


class _TokenHashes:
    """The hash of each token of a vocabulary, by id: each token hashed once, the array grown by doubling."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.hashes = np.empty(1024, dtype="<u8")
        self.filled = 0

    def by_id(self) -> np.ndarray:
        tokens = self.vocabulary.tokens
        end = len(tokens)
        if end > self.filled:
            if end > len(self.hashes):
                self.hashes = np.resize(self.hashes, max(end, 2 * len(self.hashes)))
            self.hashes[self.filled:end] = np.fromiter(map(_blake64, tokens[self.filled:end]), dtype="<u8")
            self.filled = end
        return self.hashes


_hash_lock = threading.Lock()
_token_hashes: list[_TokenHashes] = []  # of the vocabulary in use


def _hashes_by_id(vocabulary: Vocabulary) -> np.ndarray:
    """Return the token hash of every id the vocabulary has given."""
    with _hash_lock:
        if not _token_hashes or _token_hashes[0].vocabulary is not vocabulary:
            _token_hashes[:] = [_TokenHashes(vocabulary)]
        return _token_hashes[0].by_id()


def simhash_many(token_lists: Sequence[Sequence[str]]) -> list[int]:
    """Return the SimHash of each token list (the same as simhash(), vectorised for a batch)."""
    return simhash_of(encode(token_lists))


_CHUNK_TOKENS = 1 << 15  # a byte per (token, bit): 2 MB of bits at a time stays in the cache


def simhash_of(batch: TokenBatch) -> list[int]:
    """Return the SimHash of each text of an encoded batch."""
    hashes = _hashes_by_id(batch.vocabulary)
    ends = np.cumsum(batch.lengths)
    out: list[int] = []
    first = 0
    while first < len(ends):
        # the texts whose tokens end within the next _CHUNK_TOKENS (at least one text)
        last = max(first + 1, int(np.searchsorted(ends, ends[first] - batch.lengths[first] + _CHUNK_TOKENS, "right")))
        start = int(ends[first] - batch.lengths[first])
        out += _simhashes(hashes[batch.ids[start:ends[last - 1]]], batch.lengths[first:last])
        first = last
    return out


def _simhashes(hashes: np.ndarray, lengths: np.ndarray) -> list[int]:
    """Return the SimHash of each text, given its tokens' hashes (text after text) and token counts."""
    if not len(hashes):
        return [0] * len(lengths)
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")  # a byte per (token, bit)
    ends = np.cumsum(lengths)
    bounds = np.column_stack((ends - lengths, ends))
    ones = np.zeros((len(lengths), 64), dtype=np.int64)
    short, long = (lengths > 0) & (lengths < 256), lengths >= 256
    if short.any():  # eight bytes as one uint64 sum eight bits at once: fewer than 256 tokens never carry a byte over
        ones[short] = _segment_sums(bits.view("<u8"), bounds[short]).view(np.uint8)
    for i in np.flatnonzero(long).tolist():  # a few texts: their rows only (a reduceat in int64 cast every row)
        ones[i] = bits[bounds[i, 0]:bounds[i, 1]].sum(axis=0, dtype=np.int64)
    # A bit is set when more than half of the text's tokens set it (the sum of ±1 is positive).
    packed = np.packbits(2 * ones > lengths[:, None], axis=1, bitorder="little")
    return packed.view("<u8").ravel().tolist()


def _segment_sums(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Return the sum of rows[start:end] for each (start, end) of bounds (increasing, none empty)."""
    at = bounds.ravel()  # reduceat sums [start, end) at the even places
    if at[-1] == len(rows):  # an index must be inside: the last segment runs to the end anyway
        at = at[:-1]
    return np.add.reduceat(rows, at, axis=0)[::2]


def hamming(a: int, b: int) -> int:
    """Return the number of differing bits of two SimHashes."""
    return (a ^ b).bit_count()
