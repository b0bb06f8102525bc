"""`crisis analyze` and `crisis sentiment train`, as an operator runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.files import clear_caches
from tasks.cli import app
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
    assert [r["text"] for r in rows] == POSTS
    assert [r["label"] for r in rows] == ["negative", "positive", "negative"]
    assert rows[0]["brand"] == "澄星" and rows[0]["category"] == "产品质量"
    assert set(rows[2]["critical_terms"].split()) == {"漏电", "起火"}


def test_analyze_shows_why_a_post_reads_negative(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "posts.txt").write_text("\n".join(POSTS) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    assert runner.invoke(app, ["analyze", str(tmp_path / "posts.txt"), "--out", str(out)]).exit_code == 0
    rows = _rows(out)
    for row in rows:
        parts = [p.rsplit(" ", 1) for p in row["evidence"].split("；")]
        weights = [float(w) for _, w in parts]
        assert len(parts) == 3 and weights == sorted(weights, key=abs, reverse=True), row["evidence"]
        # the strongest piece of evidence leans the way the post was read
        assert (weights[0] < 0) == (row["label"] == "negative"), row["evidence"]
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
    assert "e.csv: no column 'text'" in result.output


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
    assert "l.csv:4: label: not 0/1 ('maybe')" in result.output
