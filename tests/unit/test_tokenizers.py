"""jieba-rs (the fast path) against jieba (the reference) with our user dictionary, on real reviews.

The sentiment model is trained on jieba's tokens, so the fast tokenizer must cut review texts the
same way nearly always and must not move the negative label. Reads ../shared/data/sentiment in
place: skipped when the folder is missing here, a failure on CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tasks.monitoring.analysis import Analysis, LexiconData, analyse_many, load_user_dictionary, normalise, tokenize
from tests.conftest import SHARED_DATA
from tests.unit.conftest import ROOT, shipped_lexicon

SENTIMENT_DIR = SHARED_DATA / "sentiment"
SETS = ("online_shopping_10_cats", "waimai_10k", "NLPCC2014_SC_zh_train", "FewCLUE_EPRSTMT_train_dev",
        "SenticNet_Chinese_reviews", "ChnSentiCorp_htl_all")
PER_SET = 500
SEED = 20251120
NEGATIVE_BELOW = 0.4


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    """Up to PER_SET non-empty review texts of each labelled set (fixed seed)."""
    if not SENTIMENT_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the labelled review data is required on CI and is missing: {SENTIMENT_DIR}")
        pytest.skip(f"{SENTIMENT_DIR} missing (on CI this fails)")
    texts: list[str] = []
    for name in SETS:
        column = pd.read_csv(SENTIMENT_DIR / f"{name}.csv", encoding="utf-8")["text"].dropna().astype(str)
        column = column[column.str.strip() != ""]
        texts.extend(column.sample(min(PER_SET, len(column)), random_state=SEED))
    return texts


@pytest.fixture(scope="module")
def both_ways(reviews: list[str], lexicon: LexiconData) -> tuple[list[Analysis], list[Analysis]]:
    """The reviews analysed with jieba, then with jieba-rs."""
    from tasks.monitoring.sentiment_model import get_model

    m = get_model()
    return (analyse_many(reviews, lexicon, NEGATIVE_BELOW, m, tokenizer="jieba"),
            analyse_many(reviews, lexicon, NEGATIVE_BELOW, m, tokenizer="rjieba"))


@pytest.fixture(scope="module")
def lexicon() -> LexiconData:
    """config/lexicon.toml, its words loaded into both tokenizers' dictionaries."""
    data = shipped_lexicon()
    load_user_dictionary(data.dictionary_words())
    return data


@pytest.mark.parametrize(("field", "share"), [("tokens", 0.98), ("negative", 0.99)])
def test_jieba_rs_agrees_with_jieba_on_tokens_and_labels(
    both_ways: tuple[list[Analysis], list[Analysis]], field: str, share: float,
) -> None:
    """At least 98 % of reviews cut exactly like jieba; at most 1 % change their negative label."""
    reference, fast = both_ways
    same = sum(getattr(a, field) == getattr(b, field) for a, b in zip(reference, fast, strict=True))
    assert same / len(reference) >= share, f"{same}/{len(reference)} identical {field}"


def test_the_tokenizer_changes_nothing_but_tokens_sentiment_and_simhash(
    both_ways: tuple[list[Analysis], list[Analysis]],
) -> None:
    def text_facts(a: Analysis) -> tuple[object, ...]:
        return a.brand, a.product, a.category, a.critical_terms, a.content_hash

    reference, fast = both_ways
    assert [text_facts(a) for a in reference] == [text_facts(b) for b in fast]


@pytest.mark.parametrize("text", ["净重1.2kg，用198-100的券买的", "短链t.cn/abc，C++好用", "拼多多买的澄星空气炸锅"])
def test_jieba_rs_splits_number_and_latin_runs_as_jieba_does(lexicon: LexiconData, text: str) -> None:
    clean = normalise(text)
    assert tokenize(clean, "rjieba") == tokenize(clean, "jieba")


def test_without_rjieba_every_text_goes_through_jieba() -> None:
    probe = (
        "import json, sys; sys.modules['rjieba'] = None\n"
        "from tasks.monitoring import analysis as a\n"
        "try:\n    a.tokenize('好', 'rjieba'); raised = False\n"
        "except ModuleNotFoundError:\n    raised = True\n"
        "print(json.dumps([a.DEFAULT_TOKENIZER, raised]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["jieba", True]
