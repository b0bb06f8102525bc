"""The 辟谣 statement draft (关于网传“…”的说明) from config/templates/debunk_statement.md.j2. Pure.

The claim comes from a post: the caller escapes it for Markdown before it reaches the template.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "debunk_statement.md.j2"


def render_debunk_statement(templates_dir: Path, *, brand: str, claim: str, today: str) -> str:
    """Render the draft statement refuting `claim` for `brand`, dated `today` (all already escaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # imported when a statement is drafted

    env = Environment(loader=FileSystemLoader(str(templates_dir)), autoescape=False, undefined=StrictUndefined,
                      keep_trailing_newline=True)
    return env.get_template(TEMPLATE).render(brand=brand, claim=claim, today=today)
