"""Quiet hours and deputies (tasks/notify/routing.py): who gets a message, and from when."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from tasks.notify.routing import Delivery, QuietHours, Recipient, plan_deliveries

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = QuietHours.parse("23:00-07:00")
LEGAL = Recipient("王芳", "wang.fang@shop.example", ("legal",), deputy="郑洁", quiet=NIGHT)
LEGAL_DEPUTY = Recipient("郑洁", "zheng.jie@shop.example", ("deputy",))
VP = Recipient("钱进", "qian.jin@shop.example", ("executive",), quiet=NIGHT)
PR = Recipient("李娜", "li.na@shop.example", ("pr",), deputy="吴敏")
DIRECTORY = {p.name: p for p in (LEGAL, LEGAL_DEPUTY, VP, PR)}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize("moment, quiet", [(time(23, 0), True), (time(2, 30), True), (time(6, 59), True),
                                           (time(7, 0), False), (time(12, 0), False), (time(22, 59), False)])
def test_quiet_hours_wrap_midnight(moment: time, quiet: bool) -> None:
    assert NIGHT.contains(moment) is quiet


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch.contains(time(12, 45)) and not lunch.contains(time(13, 30)) and not lunch.contains(time(23, 0))


def test_quiet_hours_end_on_the_next_morning_or_the_same_one() -> None:
    assert NIGHT.end_after(at(23, 30)) == datetime(2026, 11, 28, 7, 0, tzinfo=SHANGHAI)
    assert NIGHT.end_after(at(2, 0)) == at(7, 0)


def test_awake_people_are_told_at_once() -> None:
    assert plan_deliveries([LEGAL, PR], "II", at(10), DIRECTORY) == [Delivery(LEGAL, LEGAL), Delivery(PR, PR)]


def test_at_night_an_awake_deputy_stands_in() -> None:
    (plan,) = plan_deliveries([LEGAL], "III", at(2), DIRECTORY)
    assert plan.to == LEGAL_DEPUTY and plan.addressee == LEGAL and plan.not_before is None and plan.on_behalf


def test_without_a_deputy_the_message_waits_until_the_quiet_hours_end() -> None:
    (plan,) = plan_deliveries([VP], "II", at(2), DIRECTORY)
    assert plan.to == VP and plan.not_before == at(7)


def test_level_i_wakes_everyone_at_once() -> None:
    assert plan_deliveries([LEGAL, VP], "I", at(2), DIRECTORY) == [Delivery(LEGAL, LEGAL), Delivery(VP, VP)]


def test_a_deputy_already_told_in_their_own_right_gets_one_message() -> None:
    plans = plan_deliveries([LEGAL, LEGAL_DEPUTY], "II", at(2), DIRECTORY)
    assert plans == [Delivery(LEGAL_DEPUTY, LEGAL_DEPUTY)]


def test_a_deputy_asleep_too_means_waiting() -> None:
    sleepy = {**DIRECTORY, "郑洁": Recipient("郑洁", "zheng.jie@shop.example", ("legal",), quiet=NIGHT)}
    (plan,) = plan_deliveries([LEGAL], "II", at(2), sleepy)
    assert plan.to == LEGAL and plan.not_before == at(7)
