"""Render Chinese e-mails from Jinja2 templates in config/templates. Pure.

HTML templates autoescape, so post text can never become markup; subjects are forced onto one
line without control characters, so nothing can inject a header through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_LINKABLE = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
MAX_SUBJECT = 200


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def clean_subject(subject: str) -> str:
    """Return the subject on one line, control characters (CR, LF, NUL…) replaced by spaces."""
    single = _CONTROL.sub(" ", subject).strip()
    return re.sub(r" {2,}", " ", single)[:MAX_SUBJECT]


def one_line(text: str, limit: int = 280) -> str:
    """Return untrusted text on one line, shortened for a list of posts."""
    flat = re.sub(r" {2,}", " ", _CONTROL.sub(" ", text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _environment(templates_dir: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_mail(kind: str, context: dict[str, Any], templates_dir: Path) -> RenderedMail:
    """Render `<kind>.subject.j2`, `<kind>.txt.j2` and `<kind>.html.j2` with the context."""
    env = _environment(templates_dir)
    return RenderedMail(
        subject=clean_subject(env.get_template(f"{kind}.subject.j2").render(context)),
        text=env.get_template(f"{kind}.txt.j2").render(context),
        html=env.get_template(f"{kind}.html.j2").render(context),
    )


def escape_markdown(text: str) -> str:
    """Escape untrusted text for a markdown artifact (no links, images, HTML or tables)."""
    flat = _CONTROL.sub(" ", text)
    return re.sub(r"([\\`*_\[\]#|<>~])", r"\\\1", flat)


def safe_url(url: str | None) -> str:
    """Return an http(s) URL fit for a link, or '' (javascript:, data: and broken URLs never link)."""
    candidate = (url or "").strip()
    if not _LINKABLE.match(candidate) or _CONTROL.search(candidate) or " " in candidate:
        return ""
    return candidate


def markdown_cell(text: object) -> str:
    """Return untrusted text escaped for one markdown table cell or list item."""
    return escape_markdown(str(text))


def incident_markdown(context: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """Return the markdown artifact of an incident's mail: facts, recipients and top posts, all escaped."""
    lines = [
        f"## {markdown_cell(context['key'])} · {context['level']} 级（{context['level_name']}）",
        "",
        f"- 品牌：{markdown_cell(context['brand'])}　类别：{markdown_cell(context['category'])}　"
        f"热度：{context['heat']} / 100",
        f"- 触发原因：{markdown_cell(context['reason'])}",
        "",
        "| 类型 | 收件人 | 邮箱 | 状态 |",
        "|---|---|---|---|",
        *(f"| {markdown_cell(r['kind'])} | {markdown_cell(r['name'])} | {markdown_cell(r['email'])} | "
          f"{markdown_cell(r['status'])} |" for r in rows),
        "",
        "### 代表性帖子",
        "",
        *(f"- [{markdown_cell(p['platform'])}] {markdown_cell(p['author'])}（触达 {markdown_cell(p['reach'])}）："
          f"{markdown_cell(p['text'])} {markdown_cell(p['url'])}" for p in context["posts"]),
    ]
    return "\n".join(lines) + "\n"


def ack_form_markdown(key: str, brand: str, category: str, level: str, reason: str) -> str:
    """Return the description shown above the acknowledgement form in the Prefect UI."""
    return (
        f"### 确认接手 {markdown_cell(key)}\n\n"
        f"{markdown_cell(brand)} ·「{markdown_cell(category)}」· {markdown_cell(level)} 级\n\n"
        f"触发原因：{markdown_cell(reason)}\n\n"
        "填写 **who**（接手人姓名）和 **note**（备注），提交即确认接手：记入审计日志，并停止升级通知。"
    )
