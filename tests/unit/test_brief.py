"""What PR and customer-service people read of an incident: the board's one-sentence reason, the brief's
Chinese states, its readable trend and a checklist without commands (tasks/triage/brief.py,
tasks/incidents/state.py)."""

from __future__ import annotations

import re

from tasks.incidents.state import STATE_NAMES, IncidentState, state_name
from tasks.triage.brief import RULE_SENTENCES, BriefData, reason_sentence, render_brief, split_command, trend_lines
from tasks.triage.detection import RULES
from tests.unit.conftest import ROOT

HOURS = [f"{(15 + h) % 24:02d}时" for h in range(24)]


def brief(**changes: object) -> str:
    data = dict(key="INC-20261120-001", brand="澄星", category="产品质量", level="III", level_name="较大",
                state=state_name("responding"), heat=40.0, reason="短期突增", detected="2026-11-20 10:00",
                owner="未确认", hourly_negative=[0] * 20 + [3, 12, 35, 9], hour_labels=HOURS, top_posts=["帖子"],
                level_steps=["由公关专员牵头处置"],
                playbook=["核实事实", "评估并启动补偿方案（crisis compensate）"])
    return render_brief(BriefData(**{**data, **changes}))  # type: ignore[arg-type]


def test_every_state_has_the_chinese_name_people_read() -> None:
    assert set(STATE_NAMES) == set(IncidentState)
    assert [state_name(s) for s in ("open", "responding", "monitoring", "resolved", "closed")] == \
        ["新建", "处理中", "观察中", "已解决", "已关闭"]


def test_the_board_reason_is_one_short_sentence_per_rule_without_numbers() -> None:
    assert set(RULES) <= set(RULE_SENTENCES)
    sentence = reason_sentence(["viral_post", "short_spike"], "短期突增：最近 15 分钟负面 30 条，Poisson p=1.2e-09")
    assert sentence == "负面短时突增，负面帖快速扩散。"
    assert not re.search(r"\d|=", sentence)
    assert reason_sentence([], "短期突增：最近 15 分钟负面 30 条") == "短期突增。", "no rule recorded: the label"
    assert reason_sentence(["critical_terms"], rumour=True) == "出现风险词；疑似谣言。"
    assert max(len(reason_sentence([rule])) for rule in RULES) <= 8, "fits the board without sideways scroll"


def test_a_step_loses_its_command_which_goes_to_the_person_on_duty() -> None:
    assert split_command("评估并启动补偿方案（crisis compensate）") == ("评估并启动补偿方案", "crisis compensate")
    assert split_command("监测辟谣帖占比；确认不实后 crisis close KEY --as unfounded --reason … 结案", "INC-1") == \
        ("监测辟谣帖占比；确认不实后结案", "crisis close INC-1 --as unfounded --reason …")
    assert split_command("核实事实") == ("核实事实", "")


def test_the_brief_checklist_has_no_command_and_no_english_state() -> None:
    text = brief()
    checklist = text.split("## 处置步骤")[1].split("##")[0]
    assert "- [ ] 评估并启动补偿方案" in checklist and "crisis" not in checklist
    assert "## 值班人员操作" in text and "- `crisis compensate`" in text
    assert "状态 **处理中**" in text and "responding" not in text


def test_every_playbook_step_reads_without_a_command() -> None:
    import tomllib

    playbooks = tomllib.loads((ROOT / "config" / "playbooks.toml").read_text(encoding="utf-8"))
    steps = [s for group in playbooks["steps"].values() for s in group] + playbooks["debunk"]["steps"]
    texts = [split_command(s)[0] for s in steps]
    assert not [t for t in texts if "crisis" in t or "--" in t]


def test_the_trend_shows_bars_the_peak_hour_and_the_hourly_numbers() -> None:
    lines = trend_lines([0] * 20 + [3, 12, 35, 9], HOURS)
    text = "\n".join(lines)
    assert lines[0].startswith("`▁") and "█" in lines[0]
    assert "峰值 **35** 条/小时（13时）" in text and "最近一小时 **9** 条" in text and "共 59 条" in text
    assert "| 时段 | 15时 | 16时 |" in text and "| 时段 | 03时 |" in text
    assert "| 负面（条） | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 12 | 35 | 9 |" in text
    assert trend_lines([0] * 24, HOURS) == ["最近 24 小时没有负面帖子。"]
