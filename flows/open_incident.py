"""人工立案 runbook: open an incident a person judged to be a crisis where no rule opened one (a post on the
待核实 board, a call from the press), from the Prefect UI; `crisis open` does the same from the command line."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from prefect import flow

from config.files import load_lexicon
from flows.forms import Now, ask, optional, run_name
from tasks.common import resolve_now
from tasks.incidents.state import OTHER_CATEGORY, Level
from tasks.monitoring.tasks import source_health_rows
from tasks.triage.board import publish_incident_board
from tasks.triage.tasks import announce_incidents, open_by_hand

_LEXICON = load_lexicon()  # the form's dropdowns, as of deployment: `make deploy` again after editing lexicon.toml
Brand = Annotated[str, ask("品牌", "监测中的我方品牌（config/lexicon.toml 的 brands）；竞品不开我方事件",
                           choices=_LEXICON.brands)]
Category = Annotated[str, ask("危机类别", "事件归入的类别；词库没有对应类别词时选 其他",
                              choices=[*_LEXICON.categories, OTHER_CATEGORY])]
OpenedBy = Annotated[str, ask("立案人", "你的姓名（记入审计日志，显示在事件看板）", min_length=1, max_length=128,
                              pattern=r"\S")]
Reason = Annotated[str, ask("立案理由", "为何判断为危机，例如：待核实看板上的门店走失儿童传闻两小时转发过千",
                            min_length=1, max_length=500, pattern=r"\S")]
LevelChoice = optional(str, "级别", "留空则按当前数据自动定级（与规则开启的事件相同）", choices=tuple(Level))


@flow(name="open-incident", flow_run_name=run_name("open", "brand", stamp=True), log_prints=True)
def open_incident_by_hand(brand: Brand, category: Category, opened_by: OpenedBy, reason: Reason,
                          level: LevelChoice = None, now: Now = None) -> dict[str, object]:
    """Open an incident by hand (人工立案).

    1) refuse, with nothing written, a brand we do not watch (competitors included), an unknown category or
       level, or a brand and category that already has an incident in hand; 2) open it graded and filled like
       one a rule opens (the window's negatives and their reposts), the level set by hand when given, audited
       with who and why; 3) announce it (the alert and the escalation follow as for any new incident) and
       refresh the incident board.
    """
    at = resolve_now(now)
    change = open_by_hand(brand, category, by=opened_by, reason=reason, at=at, level=level)
    announce_incidents()
    publish_incident_board(at, source_health_rows())  # the last scan's: a hand open reads no source
    print(f"已人工立案 {change.incident_key}：{brand} · {category}，{change.level.value} 级，立案人 {opened_by}")
    for key, n in (change.overruled or {}).items():
        print(f"并入 {key}（已按误报或谣言关闭）的 {n} 条帖子：该传播重新计入检测，后续转发归入本事件")
    return asdict(change)
