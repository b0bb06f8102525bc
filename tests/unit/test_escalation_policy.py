"""When to escalate and whom to tell (tasks/notify/escalation.py). Pure: time is a parameter."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tasks.notify.escalation import Tier, due_tier, periods_elapsed, status_needs, step_recipients
from tasks.notify.routing import Recipient
from tests.unit.conftest import ROOT
from tests.unit.test_purity import FORBIDDEN, PROBE

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TEN = timedelta(minutes=10)
COMMANDER = Recipient("张伟", "zhang.wei@shop.example", ("commander",), deputy="周强")
PR = Recipient("李娜", "li.na@shop.example", ("pr",), deputy="吴敏")
CS = Recipient("刘洋", "liu.yang@shop.example", ("cs",))
COMMANDER_DEPUTY = Recipient("周强", "zhou.qiang@shop.example", ("deputy",))
PR_DEPUTY = Recipient("吴敏", "wu.min@shop.example", ("deputy",))
VP = Recipient("钱进", "qian.jin@shop.example", ("executive",))
PEOPLE = [COMMANDER, PR, CS, COMMANDER_DEPUTY, PR_DEPUTY, VP]
DIRECTORY = {p.name: p for p in PEOPLE}
TIERS = [Tier("应急指挥与各岗位副手", ("commander",), deputies=True), Tier("分管副总裁", ("executive",))]


@pytest.mark.parametrize("waited, tier", [(timedelta(0), 0), (TEN - timedelta(seconds=1), 0), (TEN, 1),
                                          (2 * TEN - timedelta(seconds=1), 1), (2 * TEN, 2), (50 * TEN, 2)])
def test_one_tier_per_full_period_up_to_the_last(waited: timedelta, tier: int) -> None:
    assert due_tier(T0, T0 + waited, TEN, tier_count=2) == tier


def test_periods_before_the_start_count_as_none_and_a_period_must_be_positive() -> None:
    assert periods_elapsed(T0, T0 - TEN, TEN) == 0
    with pytest.raises(ValueError, match="positive"):
        periods_elapsed(T0, T0, timedelta(0))


def test_tier_one_tells_the_commander_and_every_deputy_and_chases_those_told() -> None:
    told = [PR, CS]
    chosen = step_recipients(TIERS, 0, 1, told, PEOPLE, DIRECTORY)
    assert [p.name for p in chosen] == ["张伟", "吴敏", "周强", "李娜", "刘洋"]


def test_tier_two_adds_the_vice_president_only() -> None:
    chosen = step_recipients(TIERS, 1, 2, [PR, CS], PEOPLE, DIRECTORY)
    assert [p.name for p in chosen] == ["钱进", "李娜", "刘洋"]


def test_a_late_step_over_two_tiers_tells_each_person_once() -> None:
    chosen = step_recipients(TIERS, 0, 2, [COMMANDER, PR], PEOPLE, DIRECTORY)
    assert sorted(p.name for p in chosen) == sorted(["张伟", "周强", "吴敏", "钱进", "李娜"])


def test_needs_name_the_owner_or_the_missing_acknowledgement() -> None:
    assert status_needs("open", None, 0, "I")[0].startswith("尚无人确认接手")
    owned = status_needs("monitoring", "李娜", 12, "III")
    assert owned[0].startswith("请负责人 李娜") and not any("补偿" in n for n in owned)
    assert any("结束事件" in n for n in owned)


def test_the_new_pure_modules_stay_pure() -> None:
    modules = ["tasks.notify.escalation", "tasks.notify.routing", "tasks.notify.templates"]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules), json.dumps(FORBIDDEN)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout)
    assert report == {"offenders": {}, "broken": {}, "loaded": []}
