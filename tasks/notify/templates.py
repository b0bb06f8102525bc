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
