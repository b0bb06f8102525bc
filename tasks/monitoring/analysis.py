"""Chinese text analysis: jieba tokens, sentiment, brand, crisis category, SimHash. Pure.

Takes plain data (lists and dicts from the lexicon), never reads config or the network.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import jieba
import numpy as np

from tasks.monitoring.sentiment import SentimentModel

jieba.setLogLevel(60)
_dictionary_lock = threading.Lock()
_added_words: set[str] = set()
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class LexiconData:
    """The parts of config/lexicon.toml the analysis needs, as plain data."""

    brands: Mapping[str, Sequence[str]]  # brand -> aliases
    products: Mapping[str, Sequence[str]]  # brand -> products
    categories: Mapping[str, tuple[Sequence[str], Sequence[str]]]  # name -> (any, exclude)
    critical: Sequence[str] = ()
    slang: Sequence[str] = ()

    def dictionary_words(self) -> list[str]:
        """Return every term jieba must keep whole."""
        words: list[str] = [*self.critical, *self.slang]
        for aliases in self.brands.values():
            words.extend(aliases)
        for products in self.products.values():
            words.extend(products)
        for any_terms, exclude in self.categories.values():
            words.extend(any_terms)
            words.extend(exclude)
        return words


@dataclass(frozen=True)
class Analysis:
    tokens: list[str]
    positive: float
    negative: bool
    brand: str | None
    product: str | None
    category: str | None
    critical_terms: list[str] = field(default_factory=list)
    content_hash: str = ""
    simhash: int = 0


def load_user_dictionary(words: Iterable[str]) -> None:
    """Add words to jieba's dictionary once per process (so 澄星空气炸锅 is one token)."""
    with _dictionary_lock:
        for word in words:
            word = word.strip()
            if word and word not in _added_words:
                jieba.add_word(word, freq=2000)
                _added_words.add(word)


def normalise(text: str) -> str:
    """Collapse whitespace; the hash and SimHash see the same text for a repost with new spacing."""
    return _WHITESPACE.sub(" ", text or "").strip()


def tokenize(text: str) -> list[str]:
    """Return jieba's tokens without whitespace tokens."""
    return [t for t in jieba.lcut(text) if t.strip()]


def simhash(tokens: Sequence[str]) -> int:
    """Return the 64-bit SimHash of the tokens (near-duplicates differ in few bits)."""
    weights = [0] * 64
    for token in tokens:
        h = _token_hash(token)
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def _token_hash(token: str, cache: dict[str, int] = {}) -> int:  # noqa: B006 - a deliberate memo
    value = cache.get(token)
    if value is None:
        value = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
        if len(cache) < 500_000:
            cache[token] = value
    return value


def simhash_many(token_lists: Sequence[Sequence[str]]) -> list[int]:
    """Return the SimHash of each token list (the same as simhash(), vectorised for a batch)."""
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    if not lengths.sum():
        return [0] * len(token_lists)
    hashes = np.fromiter((_token_hash(t) for ts in token_lists for t in ts), dtype="<u8", count=int(lengths.sum()))
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little").astype(np.int32) * 2 - 1
    sums = np.zeros((len(token_lists), 64), dtype=np.int32)
    nonempty = lengths > 0
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
    sums[nonempty] = np.add.reduceat(bits, starts, axis=0)
    packed = np.packbits(sums > 0, axis=1, bitorder="little").view("<u8").ravel()
    return [int(v) for v in packed]


def hamming(a: int, b: int) -> int:
    """Return the number of differing bits of two SimHashes."""
    return (a ^ b).bit_count()


def match_brand(text: str, lexicon: LexiconData) -> tuple[str | None, str | None]:
    """Return (brand, product) named in the text; the product names its brand too."""
    for brand, products in lexicon.products.items():
        for product in products:
            if product in text:
                return brand, product
    for brand, aliases in lexicon.brands.items():
        if any(alias in text for alias in aliases):
            return brand, None
    return None, None


def categorise(text: str, lexicon: LexiconData) -> str | None:
    """Return the crisis category with the most matching terms (config order breaks ties)."""
    best, best_hits = None, 0
    for name, (any_terms, exclude) in lexicon.categories.items():
        if any(term in text for term in exclude):
            continue
        hits = sum(1 for term in any_terms if term in text)
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def analyse_many(
    texts: Sequence[str], lexicon: LexiconData, negative_below: float, model: SentimentModel,
    workers: int = 1, parallel_from: int = 20000,
) -> list[Analysis]:
    """Analyse a batch: tokens, sentiment, brand, category, critical terms and hashes.

    Batches of at least `parallel_from` texts are split over `workers` processes.
    """
    if workers > 1 and len(texts) >= parallel_from:
        return _analyse_in_processes(texts, lexicon, negative_below, model, workers)
    load_user_dictionary(lexicon.dictionary_words())
    cleaned = [normalise(t) for t in texts]
    token_lists = [tokenize(t) if t else [] for t in cleaned]
    hashes = simhash_many(token_lists)
    results = []
    for clean, tokens, simhash_value in zip(cleaned, token_lists, hashes, strict=True):
        positive = model.probability(tokens) if tokens else 0.5
        brand, product = match_brand(clean, lexicon)
        results.append(Analysis(
            tokens=tokens,
            positive=round(positive, 4),
            negative=positive < negative_below,
            brand=brand,
            product=product,
            category=categorise(clean, lexicon),
            critical_terms=[t for t in lexicon.critical if t in clean],
            content_hash=hashlib.sha256(clean.encode("utf-8")).hexdigest(),
            simhash=simhash_value,
        ))
    return results


def analyse(text: str, lexicon: LexiconData, negative_below: float, model: SentimentModel) -> Analysis:
    """Analyse one post (see analyse_many)."""
    return analyse_many([text], lexicon, negative_below, model)[0]


_worker_state: dict[str, object] = {}


def _init_worker(lexicon: LexiconData, negative_below: float, model: SentimentModel) -> None:
    _worker_state.update(lexicon=lexicon, negative_below=negative_below, model=model)
    load_user_dictionary(lexicon.dictionary_words())


def _analyse_chunk(texts: Sequence[str]) -> list[Analysis]:
    return analyse_many(texts, _worker_state["lexicon"], _worker_state["negative_below"],  # type: ignore[arg-type]
                        _worker_state["model"])  # type: ignore[arg-type]


def _analyse_in_processes(
    texts: Sequence[str], lexicon: LexiconData, negative_below: float, model: SentimentModel, workers: int
) -> list[Analysis]:
    size = max(1000, len(texts) // (workers * 4) + 1)
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(lexicon, negative_below, model)) as pool:
        return [a for part in pool.map(_analyse_chunk, chunks) for a in part]
