"""Check every operator-editable file at once (`crisis config check`, `crisis up`): one problem per file and field.
The roster's chat channels too: an SMS recipient without a mobile number, a channel secret's unset variable.

The loaders stop at a file's first bad key when a flow needs it; this reads them all, plus the mail
templates (syntax, and variables the code never passes), so a mistake is found before an alert is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateSyntaxError, meta

from config.detection import load_detection
from config.drills import load_drills
from config.files import (
    Roster,
    load_lexicon,
    load_playbooks,
    load_policies,
    load_roster,
    load_sentiment_seeds,
    load_severity,
    load_sources,
)
from config.loading import ConfigFileError
from config.settings import CONFIG_DIR, SettingsError, load_settings, read_environment
from tasks.notify.templates import _environment as mail_environment

# What the code passes each kind of mail (tasks/notify/messages.py incident_context and personal_context,
# plus each kind's own keys); a template using anything else fails at send time, so it is named here.
_INCIDENT = frozenset({"key", "brand", "category", "level", "level_name", "level_colour", "level_css", "heat",
                       "reason", "reasons", "detected_at", "drill", "rumour", "posts", "playbook", "commands", "ui_url",
                       "sender_name", "greeting", "on_behalf"})
MAIL_VARIABLES: dict[str, frozenset[str]] = {
    "alert": _INCIDENT | {"raised"},
    "apology": _INCIDENT | {"commitments", "today"},
    "announcement": _INCIDENT | {"commitments", "today"},
    "escalation": _INCIDENT | {"tier", "tier_name", "alerted_at", "waited_minutes", "limit_minutes", "told"},
    "status": _INCIDENT | {"step", "as_of", "state_name", "owner", "interval_minutes", "negative_count", "reach",
                           "latest", "actions", "needs"},
    "undeliverable": _INCIDENT | {"failed_count", "failures"},
    "compensation_notice": frozenset({"customer", "shop", "contact", "title", "kind", "award", "orders",
                                      "more_orders"}),
    # tasks/triage/warning_tasks.py: a competitor's crisis (同类风险预警), no incident of ours
    "competitor_alert": frozenset({"competitor", "product_category", "category", "day", "heat", "products", "rule",
                                   "reason", "our_products", "question", "detected_at", "posts", "board_url",
                                   "sender_name", "greeting"}),
}
MAIL_PARTS = ("subject.j2", "txt.j2", "html.j2")
DOCUMENT_VARIABLES = {"debunk_statement.md.j2": frozenset({"brand", "claim", "today"}),
                      "compensation_notice.sms.j2": frozenset({"shop", "contact", "order_id", "product", "award",
                                                               "kind"})}

FILE_LOADERS: tuple[Callable[[], object], ...] = (
    load_lexicon, load_severity, load_roster, load_policies, load_sources, load_playbooks, load_detection,
    load_drills, load_sentiment_seeds,
)


@dataclass(frozen=True)
class Problem:
    file: str  # e.g. /srv/crisis/config/roster.toml
    field: str  # e.g. people.2.email, 第 3 行, 变量 foo; "" for the whole file
    message: str

    def __str__(self) -> str:
        return self.file + (f" {self.field}" if self.field else "") + f"：{self.message}"


def check_config() -> list[Problem]:
    """Load the settings and every config file afresh and check the templates; return every problem found."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _settings_problems(exc, CONFIG_DIR / "settings.toml")
    problems: list[Problem] = []
    for loader in FILE_LOADERS:
        try:
            loaded = getattr(loader, "__wrapped__", loader)()
        except ConfigFileError as exc:
            problems += [Problem(str(exc.path), field, message) for field, message in exc.problems]
            continue
        except SettingsError as exc:
            problems.append(Problem(str(settings.config_dir), "", str(exc)))
            continue
        if loader is load_roster:
            problems += _roster_problems(loaded, settings.config_dir / "roster.toml")  # type: ignore[arg-type]
            problems += _shop_problems(settings.shop.sms_channel, loaded, settings.config_dir / "settings.toml")  # type: ignore[arg-type]
    return problems + check_templates(settings.config_dir / "templates")


def _roster_problems(roster: Roster, path: Path) -> list[Problem]:
    """Name each address that cannot be mailed, each SMS recipient without a mobile number and each channel
    secret whose environment variable is unset (Secret blocks are read when sending)."""
    unset = [(f"channels.{name}.{field}", f"环境变量 {variable} 未设置：这个渠道的消息将无法发送")
             for name, channel in roster.channels.items()
             for field in ("key_env", "secret_env") if (variable := getattr(channel, field))
             and not read_environment(variable)]
    return [Problem(str(path), field, message)
            for field, message in [*roster.address_problems(), *roster.channel_problems(), *unset]]


def _shop_problems(sms_channel: str, roster: Roster, path: Path) -> list[Problem]:
    """Name a [shop] sms_channel that is no SMS channel of the roster (customer notices could not be texted)."""
    channel = roster.channels.get(sms_channel) if sms_channel else None
    if not sms_channel or (channel is not None and channel.kind == "sms"):
        return []
    return [Problem(str(path), "shop.sms_channel", f"roster.toml 中没有名为 {sms_channel} 的短信渠道（kind = \"sms\"）")]


def _settings_problems(exc: SettingsError, path: Path) -> list[Problem]:
    lines = str(exc).splitlines()
    keyed = [line.strip() for line in lines[1:] if line.startswith("  ")]
    if not keyed:
        return [Problem(str(path), "", str(exc))]
    return [Problem(str(path), line.partition(" ")[0], line.partition(": ")[2]) for line in keyed]


def check_templates(directory: Path) -> list[Problem]:
    """Return the templates' problems: syntax, unknown filters, missing parts or includes, unknown variables."""
    env = mail_environment(directory)  # the filters and settings render_mail uses
    problems: list[Problem] = []
    broken = False
    for path in sorted(directory.glob("*.j2")):
        try:
            env.get_template(path.name)
        except TemplateSyntaxError as exc:
            problems.append(Problem(str(path), f"第 {exc.lineno} 行", f"模板语法错误：{exc.message}"))
            broken = True
        except TemplateError as exc:
            problems.append(Problem(str(path), "", f"模板无法加载：{exc}"))
            broken = True
    expected = {f"{kind}.{part}": names for kind, names in MAIL_VARIABLES.items() for part in MAIL_PARTS}
    for name, allowed in {**expected, **DOCUMENT_VARIABLES}.items():
        if not (directory / name).is_file():
            problems.append(Problem(str(directory / name), "", "缺少这个模板文件"))
            continue
        try:
            unknown = sorted(_variables(env, name, set()) - allowed - set(env.globals))
        except TemplateError as exc:
            if not broken:  # a broken include is named above
                problems.append(Problem(str(directory / name), "", f"模板无法加载：{exc}"))
            continue
        problems += [Problem(str(directory / name), f"变量 {variable}",
                             f"未定义的变量（这类邮件只有：{'、'.join(sorted(allowed))}）") for variable in unknown]
    return problems


def _variables(env: Environment, name: str, seen: set[str]) -> set[str]:
    """Return the variables a template reads, its includes' included."""
    if name in seen:
        return set()
    seen.add(name)
    assert env.loader is not None
    tree = env.parse(env.loader.get_source(env, name)[0])
    found = set(meta.find_undeclared_variables(tree))
    for included in meta.find_referenced_templates(tree):
        if included is not None:
            found |= _variables(env, included, seen)
    return found
