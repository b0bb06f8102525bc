"""Chinese text analysis: jieba tokens, snownlp sentiment, brand, crisis category, SimHash. Pure.

Takes plain data (lists and dicts from the lexicon), never reads config or the network.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import jieba

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


def positive_probability(tokens: Sequence[str]) -> float:
    """Return snownlp's naive-Bayes P(positive) for jieba tokens; 0.5 for no usable token."""
    from snownlp import normal, sentiment

    words = normal.filter_stop(list(tokens))
    if not words:
        return 0.5
    label, prob = sentiment.classifier.classifier.classify(words)
    return prob if label == "pos" else 1 - prob


def simhash(tokens: Sequence[str]) -> int:
    """Return the 64-bit SimHash of the tokens (near-duplicates differ in few bits)."""
    weights = [0] * 64
    for token in tokens:
        h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


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


def analyse(text: str, lexicon: LexiconData, negative_below: float) -> Analysis:
    """Analyse one post: tokens, sentiment, brand, category, critical terms and hashes."""
    clean = normalise(text)
    tokens = tokenize(clean) if clean else []
    positive = positive_probability(tokens) if tokens else 0.5
    brand, product = match_brand(clean, lexicon)
    return Analysis(
        tokens=tokens,
        positive=round(positive, 4),
        negative=positive < negative_below,
        brand=brand,
        product=product,
        category=categorise(clean, lexicon),
        critical_terms=[t for t in lexicon.critical if t in clean],
        content_hash=hashlib.sha256(clean.encode("utf-8")).hexdigest(),
        simhash=simhash(tokens),
    )


def analyse_many(texts: Iterable[str], lexicon: LexiconData, negative_below: float) -> list[Analysis]:
    """Analyse a batch of posts with the user dictionary loaded."""
    load_user_dictionary(lexicon.dictionary_words())
    return [analyse(t, lexicon, negative_below) for t in texts]
