"""`crisis analyze` and `crisis sentiment train`, as an operator runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches
from tasks.monitoring import sentiment_model

runner = CliRunner()
POSTS = ["澄星空气炸锅用了两天就坏了，质量太差，客服也不理人！", "青禾牛奶很好喝，物流很快，五星好评", "澄星破壁机漏电，差点起火"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_analyze_scores_a_gbk_csv_export(var_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("编号,内容\n" + "\n".join(f"{i},{t}" for i, t in enumerate(POSTS)), encoding="gbk")
    result = runner.invoke(app, ["analyze", str(export), "--text-column", "内容"])
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "export-analysed.csv")
    assert list(rows[0]) == ["正文", "正面概率", "标签", "类别", "品牌", "产品", "关键词", "辟谣", "依据"]
    assert [r["正文"] for r in rows] == POSTS
    assert [r["标签"] for r in rows] == ["负面", "非负面", "负面"]
    assert rows[0]["品牌"] == "澄星" and rows[0]["类别"] == "产品质量"
    assert set(rows[2]["关键词"].split()) == {"漏电", "起火"}


def test_analyze_shows_why_a_post_reads_negative(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "posts.txt").write_text("\n".join(POSTS) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    assert runner.invoke(app, ["analyze", str(tmp_path / "posts.txt"), "--out", str(out)]).exit_code == 0
    rows = _rows(out)
    # both are words of the safety category, a claim category: the claims about the product come first, in words
    assert rows[2]["依据"].startswith("风险说法：起火、漏电；")
    for row in rows:
        parts = [p.rsplit(" ", 1) for p in row["依据"].split("；") if not p.startswith("风险说法：")]
        weights = [float(w) for _, w in parts]
        assert len(parts) == 3 and weights == sorted(weights, key=abs, reverse=True), row["依据"]
        # the strongest piece of evidence leans the way the post was read
        assert (weights[0] < 0) == (row["标签"] == "负面"), row["依据"]
        assert all(feature and feature.strip() for feature, _ in parts)


def test_analyze_reads_plain_text_one_post_per_line(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "posts.txt").write_text("\n".join(POSTS) + "\n\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    assert runner.invoke(app, ["analyze", str(tmp_path / "posts.txt"), "--out", str(out)]).exit_code == 0
    assert len(_rows(out)) == 3


def test_analyze_names_a_missing_column(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("id,body\n1,好\n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(tmp_path / "e.csv")])
    assert result.exit_code == 1
    assert "e.csv: 没有 'text' 列" in result.output


def test_a_retrained_model_is_used_by_the_scans(var_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pos.txt").write_text("发货神速\n发货神速 包装好\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("包装烂了\n包装烂了 生气\n", encoding="utf-8")
    model = tmp_path / "model.json.gz"
    result = runner.invoke(app, ["sentiment", "train", "--pos", str(tmp_path / "pos.txt"),
                                 "--neg", str(tmp_path / "neg.txt"), "--out", str(model)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("CRISIS_ANALYSIS__MODEL_PATH", str(model))
    clear_caches()
    sentiment_model.get_model.cache_clear()
    try:
        trained = sentiment_model.get_model()
        assert trained.source == "pos.txt + neg.txt"
        assert trained.probability(["发货", "神速"]) > 0.5 > trained.probability(["包装", "烂", "了"])
    finally:
        sentiment_model.get_model.cache_clear()


def test_training_from_a_csv_names_bad_labels(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("text,label\n好,1\n差,0\n一般,maybe\n", encoding="utf-8")
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(tmp_path / "l.csv"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "l.csv:4: label: 不是 0/1 或 负面/非负面（'maybe'）" in result.output


def test_an_analysed_file_corrected_by_hand_trains_a_model(var_dir: Path, tmp_path: Path) -> None:
    """The analyst's loop: analyse an export, correct the 标签 column where the reading was wrong, train on it."""
    (tmp_path / "posts.txt").write_text("\n".join(f"{p}{t}" for p in PRODUCTS for t in PRAISE + COMPLAINTS) + "\n",
                                        encoding="utf-8")
    analysed = tmp_path / "posts-analysed.csv"
    assert runner.invoke(app, ["analyze", str(tmp_path / "posts.txt"), "--out", str(analysed)]).exit_code == 0
    rows = _rows(analysed)
    for row in rows:  # the person's corrections
        row["标签"] = "负面" if any(row["正文"].endswith(t) for t in COMPLAINTS) else "非负面"
    with analysed.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    model = tmp_path / "corrected.json.gz"
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(analysed), "--text-column", "正文",
                                 "--label-column", "标签", "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert f"已用 {len(PRODUCTS) * len(COMPLAINTS)} 条负面、{len(PRODUCTS) * len(PRAISE)} 条正面文本训练" in result.output


PRODUCTS = ["空气炸锅", "电水壶", "羽绒被", "牛奶", "毛巾", "破壁机", "坚果礼盒", "保温杯"]
PRAISE = ["质量很好，五星好评", "物流很快，包装完好，推荐", "用着很满意，还会回购", "做工精致，物超所值"]
COMPLAINTS = ["用了两天就坏了，要求退款", "客服不理人，太差了", "发货太慢，包装破损，失望", "有异味，质量差，退货"]


def _labelled_csv(path: Path, per_class: int) -> Path:
    """Labelled reviews written here: every product with every phrase, as an operator's export would be."""
    rows = [(f"{p}{t}", label) for label, phrases in (("1", PRAISE), ("0", COMPLAINTS))
            for i, (p, t) in enumerate((p, t) for p in PRODUCTS for t in phrases) if i < per_class]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def test_check_scores_the_current_model_and_the_new_one_on_the_operators_reviews(var_dir: Path, tmp_path: Path) -> None:
    labelled = _labelled_csv(tmp_path / "shop.csv", per_class=30)
    model = tmp_path / "shop.json.gz"
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(labelled), "--check", "--out", str(model)],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "在你的 30 条负面、30 条正面文本上" in result.output
    scores = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) == 4 and cells[0] in ("当前模型", "只用你的文本"):
            scores[cells[0]] = float(cells[1])
    assert set(scores) == {"当前模型", "只用你的文本"}
    assert scores["当前模型"] >= 0.8, "plain praise and complaints read right by the default model"
    assert scores["只用你的文本"] >= 0.9, "the phrases repeat across products: held-out reviews are easy"
    assert "5 折交叉验证" in result.output and model.is_file()


def test_the_check_never_scores_a_review_with_a_model_trained_on_it(
        var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sentiment_model.read_labelled_csv(_labelled_csv(tmp_path / "shop.csv", per_class=20), "text", "label")
    trained_on: list[list[list[str]]] = []
    scored: list[list[list[str]]] = []
    train, scores = sentiment_model.train_labelled, sentiment_model._scores

    def spy_train(labelled: sentiment_model.Labelled, *args: object) -> object:
        trained_on.append(labelled.negative + labelled.positive)
        return train(labelled, *args)

    def spy_scores(model: object, negative: list[list[str]], positive: list[list[str]]) -> object:
        scored.append(negative + positive)
        return scores(model, negative, positive)

    monkeypatch.setattr(sentiment_model, "train_labelled", spy_train)
    monkeypatch.setattr(sentiment_model, "_scores", spy_scores)
    sentiment_model.check_labelled(texts, folds=4)
    assert len(trained_on) == 4 and len(scored) == 5  # the current model on all, then one fit per fold
    every = texts.negative + texts.positive
    assert sorted(map(tuple, scored[0])) == sorted(map(tuple, every))
    for training, held_out in zip(trained_on, scored[1:], strict=True):
        assert len(training) + len(held_out) == len(every)
        assert not {tuple(t) for t in held_out} & {tuple(t) for t in training}


def test_too_few_reviews_for_the_check_are_refused_naming_the_file(var_dir: Path, tmp_path: Path) -> None:
    labelled = _labelled_csv(tmp_path / "few.csv", per_class=3)
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(labelled), "--check", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "few.csv: 5 折检验每类至少要 5 条文本" in result.output
    assert not (tmp_path / "m").exists(), "nothing is written when the check cannot run"


def test_reviews_added_to_the_default_recipe_teach_it_their_words(
        var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.monitoring.analysis import tokenize

    # A slice of the recipe's own corpus keeps the fit quick; build_default_model trains on all of it.
    monkeypatch.setattr(sentiment_model, "recipe_training", lambda: (
        [tokenize(t) for t in sentiment_model.corpus("neg")[:400]],
        [tokenize(t) for t in sentiment_model.corpus("pos")[:400]]))
    labelled = tmp_path / "shop.csv"
    labelled.write_text("text,label\n" + "".join(f"澄星炸锅糊底{i}次,0\n澄星炸锅酥脆{i}次,1\n" for i in range(6)),
                        encoding="utf-8")
    model_path = tmp_path / "shop.json.gz"
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(labelled), "--add-to-default", "--weight", "2",
                                 "--out", str(model_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "加上默认配方（你的文本 ×2）" in result.output
    model = sentiment_model.SentimentModel.load(model_path)
    assert model.source == "default recipe + shop.csv ×2"
    assert model.weights["糊底"] < 0 < model.weights["酥脆"], "the operator's words"
    assert model.weights["失望"] < 0, "the recipe's words"


def test_a_weight_without_the_recipe_is_refused(var_dir: Path, tmp_path: Path) -> None:
    labelled = _labelled_csv(tmp_path / "shop.csv", per_class=5)
    result = runner.invoke(app, ["sentiment", "train", "--csv", str(labelled), "--weight", "3", "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "--weight 只在 --add-to-default 时生效" in result.output
    assert not (tmp_path / "m").exists()
