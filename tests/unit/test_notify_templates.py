"""Every kind of crisis mail renders in Chinese, escapes untrusted text, and keeps its subject on one line; an alert
after a rise of the level says so; the public drafts claim nothing unchecked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from markdown_it import MarkdownIt

from tasks.incidents.state import Level
from tasks.models import Incident, Notification
from tasks.notify.chat import alert_markdown, alert_text
from tasks.notify.escalation import level_raise, raise_context
from tasks.notify.messages import failure_lines, incident_context
from tasks.notify.templates import ack_form_markdown, incident_markdown, render_mail, safe_url
from tasks.triage.debunk import render_debunk_statement
from tests.unit.conftest import CONFIG, read_toml
from tests.unit.test_templates import HOSTILE, alert_context

TEMPLATES = CONFIG / "templates"
PLAYBOOKS = read_toml("playbooks.toml")

EXTRA: dict[str, dict[str, Any]] = {
    "escalation": {"tier": 2, "tier_name": "分管副总裁", "alerted_at": "2025-11-20 10:05", "waited_minutes": 61,
                   "limit_minutes": "30", "told": ["钱进", "张伟"]},
    "status": {"step": 3, "as_of": "2025-11-20 16:05", "state_name": "处理中", "owner": "李娜",
               "interval_minutes": "120", "negative_count": 40, "reach": "120,000",
               "latest": {"window_end": "2025-11-20 16:00", "volume": 80, "negative_share": "35%"},
               "actions": [{"at": "2025-11-20 10:20", "actor": "李娜", "what": "确认接手"}],
               "needs": ["请负责人 李娜 补充最新情况、已采取的措施和需要的支持"]},
    "apology": {"commitments": PLAYBOOKS["commitments"]["产品质量"], "today": "2025年11月20日"},
    "announcement": {"commitments": PLAYBOOKS["commitments"]["产品质量"], "today": "2025年11月20日"},
    "undeliverable": {"failed_count": 1, "failures": [{"recipient": "liu.yang@shop.example", "kind": "预警",
                                                       "error": "SMTPRecipientsRefused: 550 <script>x</script>"}]},
}
SUBJECT_ENDS = {"escalation": "无人确认，升级至第2梯队（分管副总裁）", "status": "进展通报（第3期）",
                "apology": "致歉声明草稿（请审核）", "announcement": "公开说明草稿（请审核）",
                "undeliverable": "邮件无法送达（1 封）"}
BODY_HAS = {"escalation": ["已 61 分钟无人确认接手", "时限为 30 分钟", "crisis ack"],
            "status": ["一、情况", "负面占比 35%", "二、措施", "李娜：确认接手", "三、需求"],
            "apology": ["深表歉意", "【待核实】相关批次暂停销售并封存送检", "未经审核，不得对外发布", "2025年11月20日"],
            "announcement": ["关于澄星相关情况的说明", "检测结果与改进措施将第一时间公布", "联系我们"],
            "undeliverable": ["liu.yang@shop.example", "无法送达"]}


@pytest.mark.parametrize("kind", sorted(EXTRA))
def test_each_kind_names_the_incident_and_says_what_it_is(kind: str) -> None:
    mail = render_mail(kind, alert_context(**EXTRA[kind]), TEMPLATES)
    assert mail.subject == f"【II级·重大】澄星「产品质量」舆情事件 INC-20251120-001 · {SUBJECT_ENDS[kind]}"
    for part in (mail.text, mail.html):
        assert "舆情危机预警 INC-20251120-001" in part and "触发原因" in part
        for phrase in BODY_HAS[kind]:
            assert phrase in part, (kind, phrase)


@pytest.mark.parametrize("kind", sorted(EXTRA))
def test_each_kind_escapes_post_text_in_html_and_keeps_it_on_one_line(kind: str) -> None:
    mail = render_mail(kind, alert_context(**EXTRA[kind]), TEMPLATES)
    assert "<script" not in mail.html and "&lt;script&gt;" in mail.html
    assert len([line for line in mail.text.splitlines() if "真垃圾" in line]) == 1
    assert "\r" not in mail.text and "\n" not in mail.subject


def test_an_undeliverable_notice_counts_what_it_does_not_list() -> None:
    failures = [{"recipient": f"c{n}@x.example", "kind": "compensation_notice", "error": "550"} for n in range(20)]
    mail = render_mail("undeliverable", alert_context(failed_count=130, failures=failures), TEMPLATES)
    assert "（130 封）" in mail.subject and "另有 110 封" in mail.text and "另有 110 封" in mail.html


def test_a_deputy_is_told_whom_they_stand_in_for() -> None:
    mail = render_mail("alert", alert_context(on_behalf="王芳"), TEMPLATES)
    assert "王芳 正处于免打扰时段" in mail.text and "王芳 正处于免打扰时段" in mail.html
    assert "免打扰" not in render_mail("alert", alert_context(), TEMPLATES).text


def test_a_post_link_appears_only_for_http_urls() -> None:
    hostile = alert_context(posts=[{"platform": "微博", "author": "甲", "reach": "1", "text": "看这里",
                                    "url": "javascript:alert(1)", "link": safe_url("javascript:alert(1)")}])
    assert 'href="javascript' not in render_mail("alert", hostile, TEMPLATES).html


@pytest.mark.parametrize("url, link", [("https://weibo.example/1", "https://weibo.example/1"),
                                       ("HTTP://X.example/a?b=1", "HTTP://X.example/a?b=1"),
                                       ("javascript:alert(1)", ""), ("data:text/html,<script>", ""),
                                       ("https://ok.example/\r\nBcc: x", ""), ("//evil.example", ""), (None, "")])
def test_safe_url(url: str | None, link: str) -> None:
    assert safe_url(url) == link


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_the_mail_artifact_escapes_posts_and_cells() -> None:
    context = alert_context(brand="澄星 | 假列", reason="原因 [点我](javascript:x)")
    rows = [{"kind": "alert", "name": "李娜", "email": "li.na@shop.example", "status": "sent"}]
    html = _html(incident_markdown(context, rows))
    assert "<script" not in html and "<a " not in html and "<img" not in html
    assert "<td>alert</td><td>李娜</td><td>li.na@shop.example</td><td>sent</td>" in html.replace("\n", "")
    assert HOSTILE.splitlines()[0].split("<")[0] in html


def test_the_acknowledgement_form_description_escapes_the_incident() -> None:
    html = _html(ack_form_markdown("INC-1", "澄星<script>", "产品质量", "II", "[点我](javascript:x)\n# 标题"))
    assert "<script" not in html and "<a " not in html and "<h1>" not in html and "确认接手 INC-1" in html


AT = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
OPENED = {"action": "incident.opened", "actor": "flow-run:1", "at": AT, "before": {}, "after": {"level": "II"}}


def _raised(action: str, actor: str, reason: str, rules: tuple[str, ...] = ()) -> dict[str, Any]:
    entry = {"action": action, "actor": actor, "at": AT, "before": {"level": "II"},
             "after": {"level": "I", "reason": reason}}
    return raise_context(level_raise([OPENED, entry], Level.I), rules)


def test_an_alert_after_a_rise_says_from_which_level_who_raised_it_and_why() -> None:
    raised = _raised("incident.escalated", "flow-run:7c1e", "热度升至 81.0，级别 II → I",
                     ("负面帖子扩散：原帖「[点我](http://evil.example) <b>炸了</b>」被转发 900 次",))
    mail = render_mail("alert", alert_context(level="I", level_name="特别重大", raised=raised), TEMPLATES)
    assert mail.subject.startswith("【升级 II→I】【I级·特别重大】澄星「产品质量」")
    for part in (mail.text, mail.html):
        assert "由 II 级（重大）升为 I 级（特别重大）" in part and "热度升至 81.0，级别 II → I" in part
        assert "系统自动升级" in part and "负面帖子扩散" in part and "flow-run" not in part
        assert "2025-11-20 11:00" in part
    assert "http[:]//evil.example" in mail.text and "<b>炸了" not in mail.html and "&lt;b&gt;炸了" in mail.html
    chat = alert_markdown("wecom", alert_context(level="I", level_name="特别重大", raised=raised), {}, [])
    assert "【升级 II→I】" in chat and "由 II 级升为 I 级" in chat and "热度升至 81.0" in chat


def test_a_level_set_higher_by_hand_names_who_set_it_and_their_reason() -> None:
    raised = _raised("incident.level_overridden", "张伟", "央视点名，按 I 级处置")
    text = render_mail("alert", alert_context(level="I", level_name="特别重大", raised=raised), TEMPLATES).text
    assert "升级方：张伟（人工定级）" in text and "升级原因：央视点名，按 I 级处置" in text


def test_a_first_alert_and_a_lowered_level_say_nothing_of_a_rise() -> None:
    lowered = {"action": "incident.level_overridden", "actor": "张伟", "at": AT, "before": {"level": "I"},
               "after": {"level": "II", "reason": "误判"}}
    assert level_raise([OPENED], Level.II) is None and level_raise([OPENED, lowered], Level.II) is None
    mail = render_mail("alert", alert_context(raised=raise_context(None, [])), TEMPLATES)
    assert "升级" not in mail.subject and "级别上调" not in mail.text and "级别上调" not in mail.html


@pytest.mark.parametrize("category", sorted(PLAYBOOKS["commitments"]))
@pytest.mark.parametrize("kind", ["apology", "announcement"])
def test_a_draft_states_nothing_unchecked_and_labels_nothing_in_its_title(kind: str, category: str) -> None:
    context = alert_context(category=category, commitments=PLAYBOOKS["commitments"][category],
                            today="2025年11月20日")
    mail = render_mail(kind, context, TEMPLATES)
    for part in (mail.text, mail.html):
        assert "【待核实】" in part and "已全部下架" not in part and "已暂停销售" not in part
        assert part.count("【待核实】") >= len(context["commitments"]), "every measure is marked to be checked"
    title = mail.text.split("———— 草稿开始 ————\n", 1)[1].splitlines()[0]
    assert title.startswith("澄星") or title.startswith("关于澄星")
    assert category not in title and "「" not in title


def test_the_debunk_draft_asserts_no_finding_before_it_is_checked() -> None:
    text = render_debunk_statement(TEMPLATES, brand="青禾", claim="青禾牛奶致癌", today="2026年11月21日")
    assert text.count("【待核实") >= 3 and "均经检验合格" not in text and "经核实，上述信息与事实不符" not in text


# A stored trigger reason as detection writes it: two rules, their statistics in symbols.
STORED_REASON = ("短期突增：最近 60 分钟「澄星·产品质量」负面 48 条，前 6 小时同长窗口均值 3.0（σ 1.2），超过 3σ，"
                 "Poisson p=2.2e-42；品牌负面占比 60%（基线 10%）；日度异常：最近 24 小时「澄星·产品质量」负面 120 条，"
                 "前 7 天同时段均值 20.0（σ 4.0），超过 3σ，Poisson p=3.1e-03")


def _stored_incident_context() -> dict[str, Any]:
    incident = Incident(key="INC-20251120-001", brand="澄星", category="产品质量", level="II", state="open", heat=65.3,
                        trigger_reason=STORED_REASON, detected_at=AT, is_drill=False, possible_rumour=False)
    return {**incident_context(incident, []), "greeting": "李娜（公关专员）您好：", "on_behalf": "", "raised": {}}


@pytest.mark.usefixtures("clean_settings")
def test_mail_and_robots_give_the_reason_as_the_brief_words_it_one_rule_a_line() -> None:
    context = _stored_incident_context()
    mail = render_mail("alert", context, TEMPLATES)
    chats = [alert_markdown("dingtalk", context, {}, []), alert_text(context, {}, [])]
    for part in (mail.subject, mail.text, mail.html, *chats):
        assert "Poisson" not in part and "p=" not in part and "σ" not in part
    for part in (mail.text, mail.html, *chats):
        assert "超过 3σ" not in part and "高出 3 个标准差，纯属偶然的可能性不到万分之一" in part
        assert "（标准差 4.0），高出 3 个标准差，纯属偶然的可能性约 0.31%" in part
    assert "触发原因：\n- 短期突增：" in mail.text and "\n- 日度异常：" in mail.text
    assert "<li>短期突增：" in mail.html and "<li>日度异常：" in mail.html
    assert "**原因**：\n- 短期突增：" in chats[0] and "原因：\n· 短期突增：" in chats[1]


@pytest.mark.usefixtures("clean_settings")
def test_the_playbook_steps_carry_no_command_which_is_listed_for_the_person_on_duty() -> None:
    text = render_mail("alert", _stored_incident_context(), TEMPLATES).text
    steps = text.split("应急处置步骤：", 1)[1].split("值班人员操作", 1)[0]
    assert "评估并启动补偿方案" in steps and "crisis" not in steps
    assert "值班人员操作（命令行，公关与客服无需操作）：\n- crisis compensate" in text


def test_the_acknowledge_step_is_in_chinese_with_the_command_for_the_person_on_duty() -> None:
    mail = render_mail("alert", alert_context(), TEMPLATES)
    for part in (mail.text, mail.html):
        assert "填写确认人和备注后提交" in part and "ack-INC-20251120-001" in part
        assert "who" not in part and "note" not in part and "acknowledge" not in part
        assert "值班人员也可在命令行确认" in part and "crisis ack INC-20251120-001 --by" in part
        assert "核实后不构成危机（误报或谣言）：在 Prefect 界面运行" in part and "dismiss-incident" in part
        assert "crisis close INC-20251120-001 --as false_alarm" in part


def test_an_undeliverable_notice_names_each_message_and_group_robot_in_chinese() -> None:
    rows = [Notification(recipient="wecom:pr_group", kind="alert", last_error="HTTP 200，错误码 93000：invalid webhook"),
            Notification(recipient="sms:commander_sms:13800000001", kind="escalation", last_error="HTTP 400"),
            Notification(recipient="li.na@shop.example", kind="status", last_error="550 mailbox unavailable")]
    text = render_mail("undeliverable", alert_context(failed_count=3, failures=failure_lines(rows)), TEMPLATES).text
    assert "- 企业微信群 pr_group（预警）：HTTP 200" in text and "- 短信 13800000001（升级预警）" in text
    assert "- li.na@shop.example（进展通报）：550" in text
    assert "wecom:" not in text and "（alert）" not in text and "（status）" not in text
