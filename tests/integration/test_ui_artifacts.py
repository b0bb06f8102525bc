"""What a Chinese PR team reads in the Prefect UI, looked at in Debian's Chromium on a real `prefect server
start`: the incident board (drills on their own board), an incident's brief and its review with the curve
and the 经验教训 a responder added through the lessons flow, the reputation-board and the weekly 声誉报告 with
its charts. Screenshots go to var/screenshots."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from config.settings import PROJECT_DIR
from flows.lessons import lessons
from flows.reputation import reputation, reputation_weekly
from flows.review import review
from flows.triage import triage_mentions
from tasks.aftercare.tasks import mitigate_incident
from tasks.db import session_scope
from tasks.incidents.service import transition
from tasks.incidents.state import IncidentState
from tasks.models import Incident, Mention
from tasks.notify.tasks import acknowledge
from tasks.stack import Stack, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS
from tests.integration.ui import CHROMIUM, FLAGS, RAW_PAIR, UUID, artifact_view, latest_artifact_id

pytestmark = pytest.mark.integration

END = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Beijing, Friday of 2026-W47
ENGLISH_STATES = re.compile(r"\b(open|acknowledged|responding|monitoring|resolved|closed)\b")
HOSTILE = "<b>客服</b>口径 **应在首个小时内统一**"


def _mentions(n: int, start: datetime, minutes: float, *, negative: bool = True, drill: bool = False,
              category: str | None = "产品质量", critical: str = "", prefix: str) -> None:
    with session_scope() as session:
        for i in range(n):
            at = start + timedelta(minutes=minutes * i / max(n, 1))
            session.add(Mention(
                source="drill" if drill else "weibo", external_id=f"{prefix}{i}", platform="微博",
                url=f"https://weibo.example/{prefix}{i}", author=f"用户{i}", reach=800, published_at=at, fetched_at=at,
                text=f"澄星空气炸锅用了两天就坏了，第{prefix}{i}条" if negative else f"澄星不错 {prefix}{i}",
                content_hash=f"{prefix}{i}", simhash="0" * 16, sentiment=0.1 if negative else 0.9, negative=negative,
                category=category if negative else None, brand="澄星", critical_terms=critical, is_drill=drill))


def _a_crisis_and_a_drill() -> None:
    """Three ordinary days, then a burst of complaints; a drill's critical posts at the same time."""
    for hour in range(72):
        at = END - timedelta(hours=72 - hour)
        _mentions(9, at, 55, negative=False, prefix=f"c{hour}-")
        if hour % 2 == 0:
            _mentions(1, at, 1, prefix=f"n{hour}-")
    _mentions(30, END - timedelta(minutes=50), 45, prefix="b")
    _mentions(4, END - timedelta(minutes=20), 10, drill=True, category="个人信息泄露", critical="泄露", prefix="d")


def _keys() -> tuple[str, str]:
    with session_scope() as session:
        real = session.scalars(select(Incident.key).where(Incident.is_drill.is_(False))).one()
        drill = session.scalars(select(Incident.key).where(Incident.is_drill.is_(True))).one()
    return real, drill


def _through_the_review(key: str) -> None:
    """Acknowledge, mitigate and resolve the incident, write its review, then add a lesson with the form's flow."""
    acknowledge(key, "李娜", "公关接手", END + timedelta(minutes=12))
    mitigate_incident(key, "李娜", "致歉声明已发布", END + timedelta(hours=2))
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        transition(session, incident, IncidentState.RESOLVED, actor="李娜", at=END + timedelta(hours=8))
    review(incident_key=key, now=END + timedelta(hours=9))
    lessons(incident_key=key, by="王强", text=HOSTILE, now=END + timedelta(hours=10))


def _look(ui_url: str, api_url: str, real: str, shots: Path) -> dict[str, dict[str, object]]:
    ids = {name: latest_artifact_id(api_url, key) for name, key in (
        ("board", "incident-board"), ("drills", "drill-board"), ("brief", f"brief-{real.lower()}"),
        ("review", f"review-{real.lower()}"), ("reputation", "reputation-board"), ("weekly", "reputation-2026-w47"))}
    wanted = {"board": real, "drills": "DRILL-", "brief": "代表性帖子", "review": "经验教训", "reputation": "澄星",
              "weekly": "声誉报告"}
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(PATIENCE_SECONDS * 1000)
        seen = {name: artifact_view(page, f"{ui_url}/artifacts/artifact/{ids[name]}", shots / f"ui-{name}.png",
                                    wanted[name]) for name in ids}
        browser.close()
    return seen


def test_the_board_a_brief_and_the_review_read_in_chinese_in_the_prefect_ui(
        local_stack: Stack, smtp_sink: Path, sqlite_db: str, chromium_present: None) -> None:
    ensure_prefect_server(local_stack)
    _a_crisis_and_a_drill()
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        triage_mentions(window_end=END, source_health=[{"name": "weibo", "status": "ok"},
                                                       {"name": "douyin", "status": "failing"}])
        real, drill = _keys()
        _through_the_review(real)
        reputation(day=date(2026, 11, 20), days=4, now=END + timedelta(hours=12))
        reputation_weekly(week="2026-W47", now=END + timedelta(days=3))
    seen = _look(local_stack.ui_url, local_stack.api_url, real, PROJECT_DIR / "var" / "screenshots")

    for name, view in seen.items():
        text = str(view["text"])
        assert not UUID.search(text), f"{name}: {UUID.search(text)}"
        assert not RAW_PAIR.search(text), f"{name}: {RAW_PAIR.search(text)}"
        assert not ENGLISH_STATES.search(text), f"{name}: {ENGLISH_STATES.search(text)}"
        assert view["scrolls"] == [], f"{name} scrolls sideways at 1500 px"

    board = str(seen["board"]["text"])
    for header in ("事件编号", "级别", "状态", "品牌 · 类别", "热度", "负责人", "触发原因"):
        assert header in board
    assert real in board and "新建" in board and "负面短时突增，负面高于往日。" in board
    assert "Poisson" not in board and drill not in board, "the numbers stay in the brief; drills on their board"
    assert "数据来源：weibo 正常，douyin 读取失败" in board
    drills = str(seen["drills"]["text"])
    assert "【演练】" in drills and drill in drills and real not in drills

    brief = str(seen["brief"]["text"])
    assert "新建" in brief and "▁" in brief and "负面（条）" in brief and "峰值" in brief
    checklist = brief.split("处置步骤")[1].split("值班人员操作")[0]
    assert "crisis" not in checklist and "评估并启动补偿方案" in checklist

    text = str(seen["review"]["text"])
    assert f"事件复盘 {real}" in text and "已解决" in text
    assert seen["review"]["images"] and all(width > 0 for width in seen["review"]["images"]), "the curve shows"
    assert "系统（舆情研判，triage-mentions 流程）" in text, "the flow that opened it, by name"
    assert "以 " in text and "开启" in text and "李娜 接手" in text
    lesson = text.split("经验教训")[1]
    assert f"{HOSTILE}（王强，" in lesson and "待填写" not in lesson, "shown as typed, not as markup"

    board = str(seen["reputation"]["text"])
    for header in ("品牌", "类型", "声量", "负面占比", "声量份额", "未结事件"):
        assert header in board, header
    assert "澄星" in board and "焰峰" in board and "竞品" in board, "ours and the rival, marked"
    weekly = str(seen["weekly"]["text"])
    assert "声誉报告 2026-W47" in weekly and "各品牌本周指标" in weekly and "趋势" in weekly
    assert real in weekly, "the week's incident is listed"
    assert len(seen["weekly"]["images"]) == 2 and all(width > 0 for width in seen["weekly"]["images"]), "charts show"
