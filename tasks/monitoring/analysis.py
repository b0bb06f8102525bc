"""Chinese text analysis: jieba tokens, sentiment, brand, crisis category, SimHash (simhash.py). Pure.

Takes plain data (lists and dicts from the lexicon), never reads config or the network.
jieba is the reference tokenizer (the sentiment model is trained on its tokens); batches are cut by
jieba-rs (`rjieba`, about 18x faster) with the same user dictionary when it is installed, its
tokens brought in line with jieba's where the two are known to differ (tests/unit/test_tokenizers.py
keeps them ≥ 98 % identical on real reviews).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, compress
from types import ModuleType
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from ahocorasick_rs import AhoCorasick

from tasks.common import collector_paused
from tasks.monitoring.claims import REPORT_CUES, blank_harmless, health_claims_in, is_debunk, warnings_about
from tasks.monitoring.sentiment import SentimentModel, TokenBatch, Vocabulary, encode
from tasks.monitoring.simhash import simhash_of

if TYPE_CHECKING:
    import rjieba

Tokenizer = Literal["rjieba", "jieba"]
# jieba and jieba-rs are imported on first use (about 0.12 s each): a scan with nothing new, and every CLI
# command that analyses nothing, never pays for them. jieba-rs is optional: without it every text goes
# through jieba.
HAS_RJIEBA = importlib.util.find_spec("rjieba") is not None
DEFAULT_TOKENIZER: Tokenizer = "rjieba" if HAS_RJIEBA else "jieba"
USER_WORD_FREQ = 2000

_dictionary_lock = threading.Lock()
_added_words: set[str] = set()
_jieba_pending: list[str] = []  # added words jieba (the Python one) has not been given yet: see jieba_module
_WHITESPACE = re.compile(r"\s+")
# jieba-rs keeps a run like 1-2, 7.3cm or t.cn whole; jieba splits a run that is not a dictionary word
# with this pattern (jieba.finalseg's re_skip), so the fast path does the same.
_ALNUM_RUN = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_MIXED_RUN = re.compile(r"[a-zA-Z0-9][+#&._%-]|[+#&._%-][a-zA-Z0-9]")


@dataclass(frozen=True)
class CategoryTerms:
    """One crisis category's rule: a post belongs to it when it contains every `required` group (a group
    is found when any one of its terms is), none of `exclude`, and at least one of `any`; the category
    with the most `any` terms found wins."""

    any: Sequence[str]
    exclude: Sequence[str] = ()
    required: Sequence[Sequence[str]] = ()

    def terms(self) -> list[str]:
        return [*self.any, *self.exclude, *chain.from_iterable(self.required)]

    def admits(self, text: str | Set[str]) -> bool:
        """Return whether the text (or the set of lexicon terms found in it) passes exclude and required."""
        return (not any(term in text for term in self.exclude)
                and all(any(term in text for term in group) for group in self.required))


@dataclass(frozen=True)
class LexiconData:
    """The parts of config/lexicon.toml the analysis needs, as plain data."""

    brands: Mapping[str, Sequence[str]]  # brand -> aliases
    products: Mapping[str, Sequence[str]]  # brand -> products
    categories: Mapping[str, CategoryTerms]
    critical: Sequence[str] = ()
    slang: Sequence[str] = ()
    health_claims: Sequence[str] = ()
    debunk: Sequence[str] = ()
    # Rivals (竞争对手), matched like our brands but after them: a post naming ours and a rival's is ours first.
    competitors: Mapping[str, Sequence[str]] = field(default_factory=dict)  # rival -> aliases
    competitor_products: Mapping[str, Sequence[str]] = field(default_factory=dict)  # rival -> products
    # Categories whose every `any` term is a claim too (lexicon.toml `claims = true`): see claim_terms.
    claim_categories: Sequence[str] = ()

    def claim_terms(self, category: str | None) -> list[str]:
        """Return the claims a post in `category` can make about the watched name it names, in lexicon order: the
        health claims, then, for a claim category (人身安全/食品安全: news of harm reads calm), its `any` terms."""
        if category not in self.claim_categories:
            return list(self.health_claims)
        return list(dict.fromkeys((*self.health_claims, *self.categories[category].any)))

    def warned_category(self, category: str | None) -> str | None:
        """Return the category of a post that warns not to eat, drink or use the watched name (不要吃牛肉): its own
        when its terms gave one, else the first claim category (人身安全/食品安全). A warning is a health claim,
        and the claims are that category's words: left in 其他 it only counted for viral_post's threefold reach."""
        return category or next(iter(self.claim_categories), None)

    def model_words(self) -> list[str]:
        """Return the terms jieba keeps whole that the sentiment model is trained with (critical terms and
        slang): changing them changes the model's tokens, and so the model."""
        return [*self.critical, *self.slang]

    def dictionary_words(self) -> list[str]:
        """Return every term jieba must keep whole: model_words() and the brand and product names (ours and the
        rivals'). Category terms, health claims and debunk words are found in the text, not among the tokens."""
        words = self.model_words()
        for names in (self.brands, self.products, self.competitors, self.competitor_products):
            words.extend(chain.from_iterable(names.values()))
        return words


class Analysis(NamedTuple):
    """What the analysis tells of one text. A tuple, built in one call: a batch of 100,000 makes 100,000 of them,
    and a dataclass's instance, its __dict__ and three lists each were 6 objects a text for the garbage collector
    to walk. The lists of terms are tuples (empty: the one empty tuple); only the tokens are a list of its own."""

    tokens: list[str]
    positive: float
    negative: bool
    brand: str | None
    product: str | None
    category: str | None
    critical_terms: tuple[str, ...] = ()
    content_hash: str = ""
    simhash: int = 0
    # Its own text refutes a story (造谣, 辟谣, 假新闻 …): not a complaint, whatever its tone.
    debunk: bool = False
    # Health claims (致癌, 禁用农药 …) it makes about the brand or product it names: negative, whatever its tone.
    health_claims: tuple[str, ...] = ()
    # The other watched brands it names beyond `brand`, each with the product that named it (or None).
    also: tuple[tuple[str, str | None], ...] = ()


@cache
def _jieba_imported() -> ModuleType:
    import jieba

    jieba.setLogLevel(60)
    return jieba


def jieba_module() -> ModuleType:
    """Return jieba, imported on first use, its logging quiet, with every word load_user_dictionary was given.

    jieba loads its dictionary on the first word added (0.4-0.8 s here), and a scan that cuts with jieba-rs never
    cuts with jieba: it is given the words when something asks for it, not when they are added."""
    jieba = _jieba_imported()
    if _jieba_pending:
        with _dictionary_lock:
            for word in _jieba_pending:
                jieba.add_word(word, freq=USER_WORD_FREQ)
            _jieba_pending.clear()
    return jieba


def load_user_dictionary(words: Iterable[str]) -> None:
    """Add words to jieba's (and jieba-rs's) dictionary once per process (so 澄星空气炸锅 is one token)."""
    with _dictionary_lock:
        for word in words:
            word = word.strip()
            if word and word not in _added_words:
                _jieba_pending.append(word)
                if HAS_RJIEBA:
                    _fast_segmenter().add_word(word, USER_WORD_FREQ, None)
                _added_words.add(word)


@cache
def _fast_segmenter() -> rjieba.Jieba:
    import rjieba

    return rjieba.Jieba()


def normalise(text: str) -> str:
    """Collapse whitespace and read traditional characters as simplified: the hash and SimHash see the same text
    for a repost with new spacing or in the other script, and 麥當勞 is 麦当劳 to the lexicon and the model."""
    return _normalised([text])[0]


@cache
def _t2s() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


@cache
def _traditional() -> re.Pattern[str]:
    """Return a pattern of the characters the conversion changes on their own (about 3,800): a text with none of
    them is left as it is, so a batch of simplified posts costs one search each (20,000 reviews: 4 ms)."""
    convert = _t2s()
    changed = "".join(c for c in map(chr, range(0x3400, 0xA000)) if convert(c) != c)
    return re.compile(f"[{re.escape(changed)}]")


def _normalised(texts: Sequence[str | None]) -> list[str]:
    """Return normalise(text) of each text, the batch's whitespace collapsed in one pass over the texts joined by
    NUL (\\s does not match it), and searched for traditional characters at once (most batches have none)."""
    joined = "\0".join([t or "" for t in texts])
    parts = _WHITESPACE.sub(" ", joined).split("\0")
    if len(parts) != len(texts):  # a text holding NUL itself: one at a time
        return simplified([_WHITESPACE.sub(" ", t or "").strip() for t in texts])
    parts = [part.strip() for part in parts]
    return simplified(parts) if _traditional().search(joined) else parts


def simplified(texts: Sequence[str]) -> list[str]:
    """Return the texts with traditional characters read as simplified (OpenCC t2s, which converts by phrase:
    显著 and 乾隆 stay as they are). Weibo carries posts from Hong Kong and Taiwan, and reposts that switch script;
    the lexicon, the tokenizer's dictionary and the sentiment model are simplified."""
    search, convert = _traditional().search, _t2s()
    return [convert(text) if search(text) else text for text in texts]


def tokenize(text: str, tokenizer: Tokenizer = "jieba") -> list[str]:
    """Return the tokens without whitespace tokens (jieba's, the reference, unless asked otherwise)."""
    if tokenizer == "jieba":
        return [t for t in jieba_module().lcut(text) if t.strip()]
    if not HAS_RJIEBA:
        raise ModuleNotFoundError("tokenizer 'rjieba' asked for but rjieba is not installed")
    tokens = _fast_segmenter().cut(text)
    if _WHITESPACE.search(text):
        tokens = [t for t in tokens if t.strip()]
    if _MIXED_RUN.search(text):
        return _split_like_jieba(tokens)
    return tokens


def _split_like_jieba(tokens: list[str]) -> list[str]:
    segmenter = _fast_segmenter()
    out: list[str] = []
    for token in tokens:
        if len(token) > 1 and token.isascii() and not token.isalnum() and not segmenter.has_word(token):
            out.extend(part for part in _ALNUM_RUN.split(token) if part)
        else:
            out.append(token)
    return out


def match_brands(text: str | Set[str], lexicon: LexiconData) -> list[tuple[str, str | None]]:
    """Return every (brand, product) named in the text or in the set of its lexicon terms, one per brand:
    brands named by a product first (a product names its brand), then those named by an alias, each in
    lexicon order; our brands before the rivals'. A "问题食品" list naming three watched brands is about each
    of them; a post comparing ours with a rival's is ours first. Latin letters match in any case (TermIndex)."""
    if isinstance(text, str):
        text = _term_index(lexicon).terms_in(text)
    found: dict[str, str | None] = {}
    for aliases_of, products_of in ((lexicon.brands, lexicon.products),
                                    (lexicon.competitors, lexicon.competitor_products)):
        for brand, products in products_of.items():
            for product in products:
                if product in text:
                    found.setdefault(brand, product)
                    break
        for brand, aliases in aliases_of.items():
            if brand not in found and any(alias in text for alias in aliases):
                found[brand] = None
    return list(found.items())


def match_brand(text: str | Set[str], lexicon: LexiconData) -> tuple[str | None, str | None]:
    """Return the first (brand, product) match_brands finds, or (None, None)."""
    named = match_brands(text, lexicon)
    return named[0] if named else (None, None)


def categorise(text: str | Set[str], lexicon: LexiconData) -> str | None:
    """Return the crisis category with the most matching `any` terms among those whose exclude and
    required terms the text passes (config order breaks ties). Latin letters match in any case (TermIndex)."""
    if isinstance(text, str):
        text = _term_index(lexicon).terms_in(text)
    best, best_hits = None, 0
    for name, rule in lexicon.categories.items():
        if not rule.admits(text):
            continue
        hits = sum(1 for term in rule.any if term in text)
        if hits > best_hits:
            best, best_hits = name, hits
    return best


class TermIndex:
    """The lexicon's terms in one compiled Aho-Corasick automaton: which of them each text of a batch contains."""

    def __init__(self, lexicon: LexiconData) -> None:
        terms = [
            *lexicon.critical,
            *chain.from_iterable(lexicon.brands.values()),
            *chain.from_iterable(lexicon.products.values()),
            *chain.from_iterable(lexicon.competitors.values()),
            *chain.from_iterable(lexicon.competitor_products.values()),
            *chain.from_iterable(rule.terms() for rule in lexicon.categories.values()),
            *lexicon.health_claims, *lexicon.debunk, *REPORT_CUES,
        ]
        self.terms = [term for term in dict.fromkeys(terms) if term]
        self.always = frozenset({""} if "" in terms else ())  # "" is in every text
        # Latin letters match in any case (iPhone, iphone, IPHONE; KFC, kfc): the automaton holds each term in lower
        # case, and texts are lowered only when a term has letters at all.
        self._keys = list(dict.fromkeys(term.lower() for term in self.terms))
        self._named: list[tuple[str, ...]] = [() for _ in self._keys]
        position = {key: i for i, key in enumerate(self._keys)}
        for term in self.terms:
            self._named[position[term.lower()]] += (term,)
        self._cased = any(term.lower() != term.upper() for term in self.terms)
        self._automaton = AhoCorasick(self._keys) if self._keys else None

    def terms_in(self, text: str) -> frozenset[str]:
        """Return the lexicon terms one text contains, as term_sets finds them."""
        of_text, sets = self.term_sets([text])
        return sets[of_text[0]]

    def term_sets(self, texts: Sequence[str]) -> tuple[list[int], list[frozenset[str]]]:
        """Return the distinct sets of lexicon terms the texts contain (as `term in text` would tell, Latin letters
        in any case, leaving out those inside a harmless longer word: claims.HARMLESS) and, for each text, the index
        of its set: most texts share a few sets, the empty one above all."""
        if self._cased:
            texts = [text.lower() for text in texts]
        found = np.zeros((len(texts), (len(self._keys) + 7) // 8), dtype=np.uint8)  # a bit per (text, term)
        if self._automaton is not None and texts:
            # One pass over the batch joined by NUL: a match that runs across two texts is dropped.
            starts = np.cumsum([0, *map(len, texts)])[:-1] + np.arange(len(texts))
            joined = blank_harmless("\0".join(texts))  # 爆炸消息 is news, not an explosion; lengths kept
            matches = self._automaton.find_matches_as_indexes(joined, overlapping=True)
            term, first, end = np.array(matches, dtype=np.int64).reshape(-1, 3).T
            text = np.searchsorted(starts, first, side="right") - 1
            within = text == np.searchsorted(starts, end - 1, side="right") - 1
            term, text = term[within], text[within]
            np.bitwise_or.at(found, (text, term >> 3), (128 >> (term & 7)).astype(np.uint8))
        rows = np.ascontiguousarray(found).view(np.dtype((np.void, found.shape[1]))).ravel()
        distinct, of_text = np.unique(rows, return_inverse=True)
        sets = [
            frozenset(chain.from_iterable(self._named[i] for i in np.flatnonzero(
                np.unpackbits(np.frombuffer(row.tobytes(), np.uint8))))) | self.always for row in distinct
        ]
        return of_text.ravel().tolist(), sets


@dataclass(frozen=True)
class _TermFacts:
    """What a set of lexicon terms found in a text tells, whatever the rest of the text says."""

    brand: str | None
    product: str | None
    also: tuple[tuple[str, str | None], ...]  # the other brands named
    category: str | None
    critical: tuple[str, ...]
    debunk_cue: bool  # worth calling is_debunk
    claims: list[str]  # the health claims among them, in lexicon order: worth calling health_claims_in


def _term_facts(present: frozenset[str], lexicon: LexiconData) -> _TermFacts:
    named = match_brands(present, lexicon) if present else []
    brand, product = named[0] if named else (None, None)
    category = categorise(present, lexicon) if present else None
    return _TermFacts(
        brand=brand,
        product=product,
        also=tuple(named[1:]),
        category=category,
        critical=tuple(t for t in lexicon.critical if t in present),
        debunk_cue=not present.isdisjoint((*lexicon.debunk, *REPORT_CUES)),
        claims=[c for c in lexicon.claim_terms(category) if c in present],
    )


def analyse_many(
    texts: Sequence[str], lexicon: LexiconData, negative_below: float, model: SentimentModel,
    tokenizer: Tokenizer = DEFAULT_TOKENIZER,
) -> list[Analysis]:
    """Analyse a batch: tokens, sentiment, brand, category, critical terms and hashes.

    `tokenizer` "jieba" gives the reference tokens (what the sentiment model was trained on). One process: a
    pool of two was slower on 100,000 mentions (3.3–3.5 s against 1.2–1.7 s), as starting them and sending the
    results back cost more than the analysis; a backfill spreads its chunks over Dask workers instead.
    """
    load_user_dictionary(lexicon.dictionary_words())
    with collector_paused():
        cleaned = _normalised(texts)
        distinct = list(dict.fromkeys(cleaned))
        if len(distinct) == len(cleaned):
            return _analyse_batch(cleaned, lexicon, negative_below, model, tokenizer)
        # The same text again (a bare repost's "转发微博", a copy-paste campaign) is analysed once: the analysis is
        # the text's alone. Each repeat gets its own copy, so no two results share a list.
        once = dict(zip(distinct, _analyse_batch(distinct, lexicon, negative_below, model, tokenizer), strict=True))
        seen: set[str] = set()
        results = []
        for text in cleaned:
            result = once[text]
            results.append(_copy(result) if text in seen else result)
            seen.add(text)
        return results


def _copy(result: Analysis) -> Analysis:
    """Return a copy of `result` holding a token list of its own."""
    return _new_analysis(Analysis, (result.tokens[:], *result[1:]))


_new_analysis = tuple.__new__  # an Analysis from its fields in order, without NamedTuple's __new__ call


def _analyse_batch(
    cleaned: Sequence[str], lexicon: LexiconData, negative_below: float, model: SentimentModel, tokenizer: Tokenizer,
) -> list[Analysis]:
    """Analyse normalised texts (see normalise)."""
    if tokenizer == "rjieba" and HAS_RJIEBA:
        token_lists, batch = _fast_batch(cleaned)
    else:
        token_lists = [tokenize(t, tokenizer) if t else [] for t in cleaned]
        batch = encode(token_lists)
    of_text, sets = _term_index(lexicon).term_sets(cleaned)
    facts = [_term_facts(present, lexicon) for present in sets]
    rows = [(f.brand, f.product, f.category, f.critical, f.also, f.debunk_cue or bool(f.claims), f) for f in facts]
    names = names_of(lexicon)
    make, sha256 = _new_analysis, hashlib.sha256
    results = []
    append = results.append
    for clean, tokens, simhash_value, positive, (brand, product, category, critical, also, read, fact) in zip(
        cleaned, token_lists, simhash_of(batch), model.probabilities_of(batch), map(rows.__getitem__, of_text), strict=True,
    ):
        if read:  # a debunk cue or a health claim among its terms: the text says more than its tone
            debunk = fact.debunk_cue and is_debunk(clean, lexicon.debunk)
            claims = tuple(health_claims_in(clean, fact.claims)) if fact.claims and brand and not debunk else ()
            negative = not debunk and (bool(claims) or positive < negative_below)
        else:  # most texts
            debunk, claims, negative = False, (), positive < negative_below
        if brand and not debunk and (warned := warnings_about(clean, names[brand])):
            claims, negative = (*claims, *warned), True  # "不要吃牛肉": a warning about the watched name
            category = lexicon.warned_category(category)
        # The model's reading of the tone is kept as it is: a claim or a debunk decides `negative`, above.
        append(make(Analysis, (tokens, round(positive, 4), negative, brand, product, category, critical,
                               sha256(clean.encode("utf-8")).hexdigest(), simhash_value, debunk, claims, also)))
    return results


def names_of(lexicon: LexiconData) -> dict[str, tuple[str, ...]]:
    """Return every brand's (ours and the rivals') aliases and products: the names a warning can be about."""
    names: dict[str, tuple[str, ...]] = {}
    for aliases_of, products_of in ((lexicon.brands, lexicon.products),
                                    (lexicon.competitors, lexicon.competitor_products)):
        for brand in dict.fromkeys((*aliases_of, *products_of)):
            names[brand] = tuple(dict.fromkeys((*names.get(brand, ()), *aliases_of.get(brand, ()),
                                                *products_of.get(brand, ()))))
    return names


_term_indexes: dict[int, tuple[LexiconData, TermIndex]] = {}


def _term_index(lexicon: LexiconData) -> TermIndex:
    """Return the TermIndex of this lexicon (built once while it is the one in use)."""
    kept = _term_indexes.get(id(lexicon))
    if kept is None or kept[0] is not lexicon:
        _term_indexes.clear()
        kept = _term_indexes[id(lexicon)] = (lexicon, TermIndex(lexicon))
    return kept[1]


def _fast_batch(cleaned: Sequence[str]) -> tuple[list[list[str]], TokenBatch]:
    """Return tokenize(text, "rjieba") of each normalised text (any whitespace in it is a single space), and the
    batch encoded.

    The batch is cut in one call and encoded in one pass: the texts joined by "\n", which jieba-rs yields as a
    token of its own (it cuts runs of Chinese, letters and digits, and each whitespace character alone), so the
    joined cut is each text's cut with a "\n" between two (a normalised text has no "\n"). The few tokens jieba
    would split (1-2, 7.3cm) are found by their ids, whitespace tokens dropped by theirs."""
    words = encode(()).vocabulary  # the vocabulary in use (shared with the scorer and SimHash)
    flat = _fast_segmenter().cut("\n".join(cleaned)) if cleaned else []
    ids = words.ids_of(flat)
    shape = _token_shapes(words)
    odd = np.flatnonzero(shape[ids] & _ODD).tolist()
    if odd:
        flat, ids = _split_odd(flat, ids, odd, words)
        shape = _token_shapes(words)
    separator = ids == words.id("\n")
    ends = np.flatnonzero(separator)
    if len(ends) != len(cleaned) - 1 and cleaned:  # never seen; a text per call is right whatever the dictionary holds
        token_lists = [tokenize(text, "rjieba") if text else [] for text in cleaned]
        return token_lists, encode(token_lists)
    blank = (shape[ids] & _BLANK).astype(bool)
    keep = ~(separator | blank)
    text_of = np.cumsum(separator)  # a separator counts for the text after it, and is dropped
    lengths = np.bincount(text_of[keep], minlength=len(cleaned))
    starts, stops = [0, *(ends + 1).tolist()], [*ends.tolist(), len(flat)]
    token_lists = [flat[a:b] for a, b in zip(starts, stops, strict=True)] if cleaned else []
    for i in np.unique(text_of[blank & ~separator]).tolist():
        token_lists[i] = list(compress(token_lists[i], keep[starts[i]:stops[i]].tolist()))
    return token_lists, TokenBatch(words, ids[keep], lengths)


_BLANK, _ODD = 1, 2  # whitespace only; ASCII with a sign in it (jieba splits it unless it is a dictionary word)


class _TokenShapes:
    """What each token of a vocabulary looks like, by id (_BLANK, _ODD bits), each token looked at once."""

    def __init__(self, words: Vocabulary) -> None:
        self.vocabulary = words
        self.shapes = np.zeros(1024, dtype=np.uint8)
        self.filled = 0

    def by_id(self) -> np.ndarray:
        tokens = self.vocabulary.tokens
        end = len(tokens)
        if end > self.filled:
            if end > len(self.shapes):
                self.shapes = np.resize(self.shapes, max(end, 2 * len(self.shapes)))
            self.shapes[self.filled:end] = [
                (0 if t.strip() else _BLANK) | (_ODD if len(t) > 1 and t.isascii() and not t.isalnum() else 0)
                for t in tokens[self.filled:end]
            ]
            self.filled = end
        return self.shapes


_shape_lock = threading.Lock()
_shapes: list[_TokenShapes] = []  # of the vocabulary in use


def _token_shapes(words: Vocabulary) -> np.ndarray:
    with _shape_lock:
        if not _shapes or _shapes[0].vocabulary is not words:
            _shapes[:] = [_TokenShapes(words)]
        return _shapes[0].by_id()


def _split_odd(flat: list[str], ids: np.ndarray, odd: list[int], words: Vocabulary) -> tuple[list[str], np.ndarray]:
    """Split the tokens at `odd` as _split_like_jieba would, in the token list and in its ids."""
    segmenter = _fast_segmenter()
    tokens: list[str] = []
    id_parts: list[np.ndarray] = []
    done = 0
    for at in odd:
        token = flat[at]
        if segmenter.has_word(token):
            continue
        parts = [part for part in _ALNUM_RUN.split(token) if part]
        tokens += flat[done:at]
        tokens += parts
        id_parts += [ids[done:at], words.ids_of(parts)]
        done = at + 1
    if not id_parts:
        return flat, ids
    tokens += flat[done:]
    id_parts.append(ids[done:])
    return tokens, np.concatenate(id_parts)


def analyse(
    text: str, lexicon: LexiconData, negative_below: float, model: SentimentModel,
    tokenizer: Tokenizer = DEFAULT_TOKENIZER,
) -> Analysis:
    """Analyse one post (see analyse_many)."""
    return analyse_many([text], lexicon, negative_below, model, tokenizer=tokenizer)[0]
