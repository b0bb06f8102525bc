"""Render Chinese e-mails from Jinja2 templates in config/templates. Pure.

HTML templates autoescape, so post text can never become markup; subjects are forced onto one
line without control characters, so nothing can inject a header through them. Untrusted text (posts,
notes, names people typed, evidence) is shown inert wherever it appears (`inert`, the templates' `inert`
filter, and escape_markdown for artifacts): a URL, `www.`, `mailto:` or an e-mail address in it never
becomes a link. The only links are our own, to an http(s) URL that tasks.common.http_url accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.common import http_url

if TYPE_CHECKING:
    from jinja2 import Environment

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# What markdown renderers (GFM autolinks) and mail clients turn into links by themselves.
_SCHEME = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*):(?=//)", re.IGNORECASE)
_LINK_SCHEME = re.compile(r"(?<![a-z0-9+.-])(mailto|xmpp|tel|sms):", re.IGNORECASE)
_WWW = re.compile(r"(?<![a-z0-9.-])(www)\.", re.IGNORECASE)
_EMAIL = re.compile(r"([a-z0-9._%+-])@(?=[a-z0-9-]+\.[a-z0-9])", re.IGNORECASE)
# Characters that could end a markdown link's target or be read as markup inside it, percent-encoded.
_LINK_TARGET = str.maketrans({c: f"%{ord(c):02X}" for c in "()[]<> \"'`\\"})
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
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape  # only when mail is written

    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["inert"] = lambda value: inert(str(value))  # str() of a missing value raises, as it should
    return env


def render_mail(kind: str, context: dict[str, Any], templates_dir: Path) -> RenderedMail:
    """Render `<kind>.subject.j2`, `<kind>.txt.j2` and `<kind>.html.j2` with the context."""
    return mail_renderer(kind, templates_dir)(context)


def mail_renderer(kind: str, templates_dir: Path) -> Callable[[dict[str, Any]], RenderedMail]:
    """Return a function rendering mail of `kind` (its three templates loaded once: for many addressees)."""
    env = _environment(templates_dir)
    subject, text, html = (env.get_template(f"{kind}.{part}.j2") for part in ("subject", "txt", "html"))
    return lambda context: RenderedMail(clean_subject(subject.render(context)), text.render(context),
                                        html.render(context))


def line_renderer(name: str, templates_dir: Path) -> Callable[[dict[str, Any]], str]:
    """Return a function rendering the template `name` as one line of plain text (an SMS, a chat message)."""
    template = _environment(templates_dir).get_template(name)
    return lambda context: one_line(template.render(context), 1000)


def inert(text: str) -> str:
    """Return untrusted text with nothing a renderer or mail client would make a link of: `http://` becomes
    `http[:]//` (any scheme), `mailto:` `mailto[:]`, `www.` `www[.]` and `a@b.example` `a[@]b.example`.
    Readable, and copying it does not give a working link. The one function for it, in mail and artifacts."""
    text = _SCHEME.sub(r"\1[:]", text)
    text = _LINK_SCHEME.sub(r"\1[:]", text)
    text = _WWW.sub(r"\1[.]", text)
    return _EMAIL.sub(r"\1[@]", text)


def _escape(text: str) -> str:
    """Escape text for markdown on one line: no links, images, HTML, tables or headings."""
    flat = _CONTROL.sub(" ", text)
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", flat).replace("<", "&lt;").replace(">", "&gt;")


def escape_markdown(text: str) -> str:
    """Escape untrusted text for a markdown artifact (no links, images, HTML or tables; URLs inert)."""
    return _escape(inert(text))


def safe_url(url: str | None) -> str:
    """Return an http(s) URL fit for a link, or '' (javascript:, data: and broken URLs never link)."""
    return http_url(url) or ""


def markdown_link(label: str, url: str | None) -> str:
    """Return a markdown link with an escaped label to the http(s) `url`, its target percent-encoded where
    markdown could end or reread it (`)`, `<`, quotes, spaces); '' when the URL is not one to link."""
    target = safe_url(url)
    return f"[{escape_markdown(label)}]({target.translate(_LINK_TARGET)})" if target else ""


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
        *(f"| {markdown_cell(r['kind'])} | {_escape(r['name'])} | {_escape(r['email'])} | "
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
        "填写**确认人**（接手人姓名）和**备注**，提交即确认接手：记入审计日志，并停止升级通知。"
    )
