"""config/roster.toml: the shipped organisation loads, and mistakes in deputies, quiet hours and tiers
are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.files import load_roster
from config.settings import SettingsError
from tests.unit.conftest import CONFIG


@pytest.fixture
def roster_file(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    clean_settings.setenv("CRISIS_CONFIG_DIR", str(copy))
    return copy / "roster.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_roster_has_deputies_quiet_hours_and_three_tiers(clean_settings: pytest.MonkeyPatch) -> None:
    roster = load_roster()
    people = {p.name: p for p in roster.people}
    assert {roster.roles[r] for r in ("commander", "pr", "legal", "cs", "quality", "scribe")} == {
        "应急指挥", "公关专员", "法务专员", "客服", "品控", "记录员"}
    assert people["王芳"].deputy == "郑洁" and people["王芳"].quiet_hours == "23:00-07:00"
    assert [t.roles for t in roster.escalation.tiers] == [["commander"], ["executive"], ["chief"]]
    assert "commander" in roster.notify.I and "legal" in roster.notify.by_category["个人信息泄露"]


def test_a_deputy_who_is_not_in_the_roster_is_named(roster_file: Path) -> None:
    _edit(roster_file, 'deputy = "郑洁"', 'deputy = "郑杰"')
    with pytest.raises(SettingsError, match=r"roster\.toml: 代理人（people\.\*\.deputy）不在 \[\[people\]\] 名单中.*郑杰"):
        load_roster()


def test_bad_quiet_hours_name_the_person_and_field(roster_file: Path) -> None:
    _edit(roster_file, 'quiet_hours = "23:00-07:00"', 'quiet_hours = "23:00-7"')
    with pytest.raises(SettingsError, match=r"roster\.toml.*people\.2\.quiet_hours"):
        load_roster()


def test_a_tier_with_an_undeclared_role_is_named(roster_file: Path) -> None:
    _edit(roster_file, 'roles = ["chief"]\n\n#', 'roles = ["ceo"]\n\n#')
    with pytest.raises(SettingsError, match=r"roles: 这些角色未在 \[roles\] 中声明：\['ceo'\]"):
        load_roster()
