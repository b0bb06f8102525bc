"""Who is told (tasks/notify/routing.py), with the shipped roster.toml."""

from __future__ import annotations

from tasks.notify.routing import Recipient, recipients
from tests.unit.conftest import read_toml

ROSTER = read_toml("roster.toml")
PEOPLE = [Recipient(p["name"], p["email"], tuple(p["roles"])) for p in ROSTER["people"]]
BY_LEVEL = {level: roles for level, roles in ROSTER["notify"].items() if level != "by_category"}
BY_CATEGORY = ROSTER["notify"]["by_category"]


def names(level: str, category: str, people: list[Recipient] = PEOPLE) -> list[str]:
    return [p.name for p in recipients(level, category, people, BY_LEVEL, BY_CATEGORY)]


def test_level_iv_tells_customer_service_only() -> None:
    assert names("IV", "物流配送") == ["刘洋"]


def test_privacy_leak_adds_the_legal_role_in_roster_order() -> None:
    assert names("IV", "个人信息泄露") == ["王芳", "刘洋"]


def test_safety_adds_quality_and_legal() -> None:
    assert names("III", "人身安全/食品安全") == ["李娜", "王芳", "刘洋", "陈静"]


def test_level_i_tells_every_role_holder_of_the_matrix_once_but_no_deputy() -> None:
    called = set(BY_LEVEL["I"])
    assert names("I", "人身安全/食品安全") == [p.name for p in PEOPLE if called & set(p.roles)]
    assert "张伟" in names("I", "物流配送") and "周强" not in names("I", "物流配送")


def test_a_category_role_already_called_by_the_level_adds_nobody() -> None:
    assert names("II", "产品质量") == names("II", "物流配送") == ["张伟", "李娜", "刘洋", "陈静"]


def test_a_person_with_several_roles_or_addresses_in_two_cases_is_told_once() -> None:
    people = [
        Recipient("甲", "Jia@Shop.example", ("pr", "cs")),
        Recipient("甲（备用）", "jia@shop.example", ("legal",)),
        Recipient("乙", "yi@shop.example", ("scribe",)),
    ]
    assert names("III", "个人信息泄露", people) == ["甲"]


def test_unknown_level_and_category_tell_nobody() -> None:
    assert names("V", "其他") == []
