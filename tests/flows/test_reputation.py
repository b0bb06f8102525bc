"""The reputation flows against the flow tests' Prefect server: the nightly run stores the day and shows it on the
`reputation-board` (rivals marked 竞品); `crisis report reputation` runs the weekly flow, which publishes the
声誉报告 with its charts inline and mails it once to the PR lead and the commander."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from typer.testing import CliRunner

from cli.app import app
from flows.reputation import reputation
from tests.helpers import read_mail
from tests.notify_support import emails_of
from tests.tasks.test_reputation import DAY, NOW, _week_of_posts


def _artifact(key: str):  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1)
    return artifact


def test_the_board_and_the_weekly_report(sqlite_db: str, smtp_sink: Path) -> None:
    _week_of_posts()
    result = reputation(day=DAY, days=1, now=NOW)
    assert result == {"first": "2026-11-26", "last": "2026-11-26", "rows": 4}
    board = _artifact("reputation-board").data
    rows = json.loads(board) if isinstance(board, str) else board
    assert [(r["品牌"], r["类型"]) for r in rows] == [("木棉优选", "本品牌"), ("澄星", "本品牌"), ("青禾", "本品牌"),
                                                  ("焰峰", "竞品")]
    ours = rows[1]
    assert (ours["声量"], ours["负面占比"], ours["声量份额"], ours["未结事件"]) == (9, "44.4%", "64.3%", 0)

    cli = CliRunner().invoke(app, ["report", "reputation", "--week", "2026-W48", "--now", "2026-11-30T09:00"])
    assert cli.exit_code == 0, cli.output
    assert "reputation-2026-W48.md" in cli.output.replace("\n", "")
    report = str(_artifact("reputation-2026-w48").data)
    assert report.startswith("# 声誉报告 2026-W48") and report.count("](data:image/png;base64,") == 2
    assert ".png)" not in report, "no link to a file the UI cannot reach"
    mail = read_mail(smtp_sink)
    assert {m["X-Envelope-To"] for m in mail} == emails_of("张伟", "李娜") and len(mail) == 2
    assert date(2026, 11, 23).isoformat() in mail[0]["Subject"]
