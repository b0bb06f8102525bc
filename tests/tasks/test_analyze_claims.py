"""`crisis analyze` on a news-style health scare and a debunk: the label, the debunk column and why (issue 15)."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()
SCARE = "【央视曝光】青禾承认旗下青禾牛奶含有国家禁用农药，专家指出该农药可致癌，香港已下架相关产品。"
DEBUNK = "青禾官方辟谣：网传青禾牛奶致癌系谣言，检测报告显示一切合格，造谣者已被警方处理。"
COMPLAINT = "青禾牛奶喝完拉肚子，客服也不理人，太差了！"


def test_analyze_says_which_claim_or_debunk_decided_the_label(var_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "posts.txt").write_text("\n".join([SCARE, DEBUNK, COMPLAINT]) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = runner.invoke(app, ["analyze", str(tmp_path / "posts.txt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        scare, debunk, complaint = csv.DictReader(handle)
    assert scare["标签"] == "负面" and scare["类别"] == "人身安全/食品安全"
    assert scare["依据"].startswith("风险说法：") and "致癌" in scare["依据"].split("；")[0]
    assert debunk["标签"] == "非负面" and debunk["辟谣"] == "是" and debunk["依据"].startswith("辟谣")
    assert complaint["标签"] == "负面" and complaint["辟谣"] == ""
    assert not complaint["依据"].startswith(("风险说法", "辟谣"))
