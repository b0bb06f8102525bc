"""Alert e-mails and markdown escaping (tasks/notify/templates.py): untrusted text stays text."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import UndefinedError
from markdown_it import MarkdownIt

from tasks.notify.templates import clean_subject, escape_markdown, one_line, render_mail
from tests.unit.conftest import CONFIG, read_toml

TEMPLATES = CONFIG / "templates"
HOSTILE = "真垃圾<script>alert(1)</script> [点我](http://evil.example)\r\nBcc: victim@example.com\n第二行"


def alert_context(**changes: Any) -> dict[str, Any]:
    """Return a context shaped like tasks/notify/messages.py builds it (incident + personal context)."""
    context: dict[str, Any] = {
        "key": "INC-20251120-001", "brand": "澄星", "category": "产品质量",
        "level": "II", "level_name": "重大", "level_colour": "橙色", "level_css": "#e67e22",
        "heat": 65.3, "reason": "负面声量阈值：最近 60 分钟「澄星」负面提及 12 条",
        "reasons": ["负面声量阈值：最近 60 分钟「澄星」负面提及 12 条"], "commands": ["crisis compensate"],
        "detected_at": "2025-11-20 10:05", "drill": False, "rumour": "", "greeting": "李娜（公关专员）您好：", "on_behalf": "",
        "posts": [{"platform": "微博", "author": one_line("用户<b>甲</b>", 40), "reach": "12,345",
                   "text": one_line(HOSTILE), "url": "https://weibo.example/1", "link": "https://weibo.example/1"}],
        "playbook": read_toml("playbooks.toml")["steps"]["产品质量"],
        "ui_url": "http://127.0.0.1:4200/runs", "sender_name": "舆情危机响应系统", "raised": {},
    }
    context.update(changes)
    return context


def markdown_html(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def test_post_text_is_escaped_in_the_html_part() -> None:
    html = render_mail("alert", alert_context(), TEMPLATES).html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert "<b>甲" not in html


def test_post_text_is_on_one_line_in_the_text_part() -> None:
    text = render_mail("alert", alert_context(), TEMPLATES).text
    post_lines = [line for line in text.splitlines() if "真垃圾" in line]
    assert len(post_lines) == 1
    assert "第二行" in post_lines[0]
    assert "\r" not in text
    assert not any(line.startswith("Bcc:") for line in text.splitlines())


def test_alert_names_the_incident_and_its_playbook() -> None:
    mail = render_mail("alert", alert_context(), TEMPLATES)
    assert "INC-20251120-001" in mail.subject and "II级" in mail.subject and "澄星" in mail.subject
    for part in (mail.text, mail.html):
        assert "crisis ack INC-20251120-001" in part
        assert "品控封存问题批次" in part


def test_subject_stays_on_one_line_when_brand_and_key_hold_line_breaks() -> None:
    context = alert_context(brand="澄星\r\nBcc: victim@example.com", key="INC-1\nX-Evil: 1",
                            category="产品\x00质量")
    subject = render_mail("alert", context, TEMPLATES).subject
    assert not any(c in subject for c in "\r\n\x00")
    assert "Bcc: victim@example.com" in subject  # kept as harmless text


def test_drill_subject_starts_with_the_drill_mark() -> None:
    assert render_mail("alert", alert_context(drill=True), TEMPLATES).subject.startswith("【演练】")
    assert "演练" not in render_mail("alert", alert_context(drill=False), TEMPLATES).subject


def test_a_drill_mail_says_so_before_anything_else() -> None:
    drill, real = render_mail("alert", alert_context(drill=True), TEMPLATES), render_mail("alert", alert_context(
        drill=False), TEMPLATES)
    assert drill.text.startswith("【演练】这是一次应急演练") and "【演练】</strong>这是一次应急演练" in drill.html
    assert "演练" not in real.text and "演练" not in real.html


def test_a_missing_context_key_is_an_error_not_a_blank() -> None:
    context = alert_context()
    del context["reasons"]
    with pytest.raises(UndefinedError, match="reasons"):
        render_mail("alert", context, TEMPLATES)


def test_clean_subject_flattens_control_characters_and_caps_length() -> None:
    assert clean_subject("  a\r\n\r\nb\tc\u2028d  ") == "a b c d"
    assert len(clean_subject("长" * 500)) == 200


def test_one_line_flattens_and_shortens() -> None:
    assert one_line("第一行\r\n第二行\t\t结束") == "第一行 第二行 结束"
    short = one_line("很" * 300, limit=50)
    assert len(short) == 50 and short.endswith("…")
    assert one_line("刚好" * 5, limit=10) == "刚好" * 5


@pytest.mark.parametrize(
    "hostile, forbidden",
    [("[点我](http://evil.example)", "<a "), ("![图](http://evil.example/x.png)", "<img"),
     ("<script>alert(1)</script>", "<script"), ("<http://evil.example>", "<a "),
     ("**粗体**", "<strong>"), ("`代码`", "<code>")],
)
def test_escaped_markdown_renders_as_plain_text(hostile: str, forbidden: str) -> None:
    rendered = markdown_html(f"- 帖子：{escape_markdown(hostile)}")
    assert forbidden not in rendered


def test_escaped_pipes_keep_a_table_row_to_its_columns() -> None:
    row = f"| 2025-11-20 | 张伟 | {escape_markdown('a | b | c')} |"
    rendered = markdown_html("| 时间 | 操作人 | 说明 |\n|---|---|---|\n" + row)
    assert "<td>a | b | c</td>" in rendered


def test_escaped_markdown_cannot_start_a_new_line() -> None:
    escaped = escape_markdown("第一行\n# 标题\r\n| x |")
    assert "\n" not in escaped and "\r" not in escaped
    assert "<h1>" not in markdown_html(escaped)
