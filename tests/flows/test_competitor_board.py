"""The scan flow over the demo's week with its competitor (the flow tests' Prefect server): the rival's fire scare an hour
before our crisis raises one competitor alert (同类风险预警), the notify sweep mails it to the PR lead and our
kitchen-appliance owner, and the `competitor-board` artifact shows it in Chinese; our crisis opens our incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.monitor import scan
from flows.notify import notify
from tasks.scenario.files import write_mentions
from tasks.scenario.week import generate_scenario
from tests.helpers import read_mail, text_part
from tests.notify_support import emails_of

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _board() -> list[dict[str, object]]:
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["competitor-board"])),
                                            sort=ArtifactSort.CREATED_DESC, limit=1)
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def test_a_rivals_crisis_before_ours_is_told_once_and_boarded(sqlite_db: str, smtp_sink: Path,
                                                               var_dir: Path) -> None:
    scenario = generate_scenario(7, END, rivals=True)
    mentions = var_dir / "week.jsonl"
    write_mentions(scenario, mentions)
    before = scan(now=scenario.crisis_start - timedelta(hours=1), extra_file=str(mentions))
    assert before["changes"] == [], "the rival's crisis opens nothing of ours"
    after = scan(now=scenario.crisis_start + timedelta(minutes=30), extra_file=str(mentions))
    assert [c["kind"] for c in after["changes"]] == ["opened"]

    notify(now=scenario.crisis_start + timedelta(minutes=35))
    warned = [m for m in read_mail(smtp_sink) if "同类风险预警" in m["Subject"]]
    assert {m["X-Envelope-To"] for m in warned} == emails_of("李娜", "林涛") and len(warned) == 2
    assert "焰峰空气炸锅" in text_part(warned[0], "plain") and "供应商、原料、设计" in text_part(warned[0], "plain")

    scan(now=scenario.crisis_start + timedelta(minutes=40), extra_file=str(mentions))  # the board, refreshed
    (row,) = _board()
    assert row["竞品"] == "焰峰" and row["类别"] == "厨房电器 · 人身安全/食品安全" and "焰峰空气炸锅" in str(row["涉及产品"])
    assert "关键风险词" in str(row["触发规则/原因"]) and "已发送 2/2" in str(row["已通知"])
