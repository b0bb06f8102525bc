"""The batch analysis (analyse_many: one Aho-Corasick pass for the lexicon terms of the whole batch, token ids
shared by the numpy scorer and SimHash) against the same analysis done one text at a time from the plain per-text
functions, on real reviews and generated mentions.

Reads ../shared/data/sentiment in place: skipped when the folder is missing here, a failure on CI.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from datetime import UTC, datetime

import pandas as pd
import pytest

from tasks.monitoring.analysis import (
    Analysis,
    LexiconData,
    analyse_many,
    categorise,
    load_user_dictionary,
    match_brands,
    normalise,
    tokenize,
)
from tasks.monitoring.claims import health_claims_in, is_debunk, warnings_about
from tasks.monitoring.sentiment import CLAUSE_CAP, SentimentModel, clause_features
from tasks.monitoring.simhash import simhash
from tests.conftest import SHARED_DATA
from tests.unit.conftest import shipped_lexicon

SENTIMENT_DIR = SHARED_DATA / "sentiment"
SETS = ("online_shopping_10_cats", "waimai_10k", "NLPCC2014_SC_zh_train", "FewCLUE_EPRSTMT_train_dev",
        "SenticNet_Chinese_reviews", "ChnSentiCorp_htl_all")
PER_SET = 100
SEED = 20251203
NEGATIVE_BELOW = 0.4


@functools.cache
def model() -> SentimentModel:
    from tasks.monitoring.sentiment_model import get_model

    return get_model()


@pytest.fixture(scope="module")
def lexicon() -> LexiconData:
    data = shipped_lexicon()
    load_user_dictionary(data.dictionary_words())
    return data


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """PER_SET reviews of each labelled set, a week of generated mentions (brands, health claims, debunks),
    and texts built to trip a batch: a term split across two neighbouring texts, a text of over 256 tokens, runs
    of letters and signs that jieba splits, empty texts next to each other."""
    if not SENTIMENT_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the labelled review data is required on CI and is missing: {SENTIMENT_DIR}")
        pytest.skip(f"{SENTIMENT_DIR} missing (on CI this fails)")
    from tasks.scenario.week import generate_scenario

    found: list[str] = []
    for name in SETS:
        column = pd.read_csv(SENTIMENT_DIR / f"{name}.csv", encoding="utf-8")["text"].dropna().astype(str)
        found.extend(column.sample(PER_SET, random_state=SEED))
    found.extend(str(row["text"]) for row in generate_scenario(7, datetime(2025, 11, 20, tzinfo=UTC), days=7).mentions)
    long_review = max(found, key=len)
    made_up = ["青禾牛奶被曝致癌，检出禁用农药", "青禾牛奶不含禁用农药", "买了澄星", "空气炸锅，网传致癌不实", "", "  \t ",
               "紧急通知：最近都不要吃青禾牛奶", "要不要吃青禾牛奶？", "请停止使用澄星电水壶，转告家人",
               # one cut for the whole batch: runs jieba splits (7.3cm, 1-2), whitespace, texts with no tokens in a row
               "尺寸7.3cm 送货1-2天 t.cn/abc 好评", "C++ ++ a--b 3.5% x_y", "", "", "第一行\n第二行\r\n  第三行", "。"]
    return [*found, *made_up, "好" * 300, "差，" * 200, long_review * 3]


def reference_probability(tokens: list[str]) -> float:
    """P(positive) as the module docstring of sentiment.py defines it, from the feature sets of each clause."""
    weights = model().weights
    total, decided = 0.0, False
    for clause in clause_features(tokens):
        known = [weights[f] for f in clause if f in weights]
        if known:
            total += max(-CLAUSE_CAP, min(CLAUSE_CAP, sum(known)))
            decided = True
    if not decided:
        return 0.5
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, model().prior + total))))


def one_at_a_time(text: str, lexicon: LexiconData) -> tuple[Analysis, float]:
    """Return the analysis of one text from the per-text functions (terms searched in the text itself), and its
    reference probability."""
    clean = normalise(text)
    tokens = tokenize(clean, "rjieba") if clean else []
    probability = reference_probability(tokens)
    named = match_brands(clean, lexicon)
    brand, product = named[0] if named else (None, None)
    debunk = is_debunk(clean, lexicon.debunk)
    names = (*lexicon.brands.get(brand or "", ()), *lexicon.products.get(brand or "", ()))
    category = categorise(clean, lexicon)
    warned = warnings_about(clean, names) if brand and not debunk else []
    claims = [*health_claims_in(clean, lexicon.claim_terms(category)), *warned] if brand and not debunk else []
    category = lexicon.warned_category(category) if warned else category
    return Analysis(
        tokens=tokens, positive=round(probability, 4),
        negative=not debunk and (bool(claims) or probability < NEGATIVE_BELOW),
        brand=brand, product=product, category=category,
        critical_terms=tuple(t for t in lexicon.critical if t in clean),
        content_hash=hashlib.sha256(clean.encode("utf-8")).hexdigest(), simhash=simhash(tokens),
        debunk=debunk, health_claims=tuple(claims), also=tuple(named[1:]),
    ), probability


def test_the_batch_gives_what_each_text_gives_alone(texts: list[str], lexicon: LexiconData) -> None:
    """Labels, brands, categories, critical terms, claims, hashes and SimHash identical; P(positive) equal but
    for the order of a float sum."""
    batch = analyse_many(texts, lexicon, NEGATIVE_BELOW, model(), tokenizer="rjieba")
    assert len(batch) == len(texts)
    for text, got in zip(texts, batch, strict=True):
        expected, probability = one_at_a_time(text, lexicon)
        assert got.positive == pytest.approx(expected.positive, abs=1e-4), text
        assert model().probability(got.tokens) == pytest.approx(probability, abs=1e-9), text
        if abs(probability - NEGATIVE_BELOW) > 1e-9:
            assert got.negative == expected.negative, text
        same = {name: value for name, value in expected._asdict().items() if name not in ("positive", "negative")}
        assert {name: getattr(got, name) for name in same} == same, text
    assert sum(a.brand is not None for a in batch) > 500, "the generated mentions name brands"
    assert any(a.debunk for a in batch) and any(a.health_claims for a in batch) and any(a.category for a in batch)


def test_every_result_owns_its_token_list(texts: list[str], lexicon: LexiconData) -> None:
    """Texts that find the same lexicon terms share what those terms tell, and a text met again (analysed once)
    its analysis: never a token list handed out twice. What else a result holds cannot be changed under another."""
    assert len(set(texts)) < len(texts) - 100, "the generated week repeats texts, as bare reposts do"
    batch = analyse_many(texts, lexicon, NEGATIVE_BELOW, model())
    lists = [id(a.tokens) for a in batch]
    assert len(set(lists)) == len(lists)
    assert all(type(a.tokens) is list for a in batch)
    held = [x for a in batch for x in (a.critical_terms, a.health_claims, a.also)]
    assert all(type(x) is tuple for x in held) and any(held)
