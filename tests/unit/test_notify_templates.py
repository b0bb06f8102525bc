"""Every kind of crisis mail renders in Chinese, escapes untrusted text, and keeps its subject on one line."""

from __future__ import annotations

from typing import Any

import pytest
from markdown_it import MarkdownIt

from tasks.notify.templates import ack_form_markdown, incident_markdown, render_mail, safe_url
from tests.unit.conftest import CONFIG, read_toml
from tests.unit.test_templates import HOSTILE, alert_context

TEMPLATES = CONFIG / "templates"
PLAYBOOKS = read_toml("playbooks.toml")

EXTRA: dict[str, dict[str, Any]] = {
    "escalation": {"tier": 2, "tier_name": "分管副总裁", "alerted_at": "2025-11-20 10:05", "waited_minutes": 61,
                   "limit_minutes": "30", "told": ["钱进", "张伟"]},
    "status": {"step": 3, "as_of": "2025-11-20 16:05", "state_name": "处置中", "owner": "李娜",
               "interval_minutes": "120", "negative_count": 40, "reach": "120,000",
               "latest": {"window_end": "2025-11-20 16:00", "volume": 80, "negative_share": "35%"},
               "actions": [{"at": "2025-11-20 10:20", "actor": "李娜", "what": "确认接手"}],
               "needs": ["请负责人 李娜 补充最新情况、已采取的措施和需要的支持"]},
    "apology": {"commitments": PLAYBOOKS["commitments"]["产品质量"], "today": "2025年11月20日"},
    "announcement": {"commitments": PLAYBOOKS["commitments"]["产品质量"], "today": "2025年11月20日"},
    "undeliverable": {"failed_count": 1, "failures": [{"recipient": "liu.yang@shop.example", "kind": "alert",
                                                       "error": "SMTPRecipientsRefused: 550 <script>x</script>"}]},
}
SUBJECT_ENDS = {"escalation": "无人确认，升级至第2梯队（分管副总裁）", "status": "进展通报（第3期）",
                "apology": "致歉声明草稿（请审核）", "announcement": "公开说明草稿（请审核）",
                "undeliverable": "邮件无法送达（1 封）"}
BODY_HAS = {"escalation": ["已 61 分钟无人确认接手", "时限为 30 分钟", "crisis ack"],
            "status": ["一、情况", "负面占比 35%", "二、措施", "李娜：确认接手", "三、需求"],
            "apology": ["深表歉意", "相关批次已暂停销售并封存送检", "未经审核，不得对外发布", "2025年11月20日"],
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
