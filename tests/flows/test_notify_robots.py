"""The notify flow with group robots and the SMS gateway configured (local fakes, tests/robot_fakes.py): a
level I incident reaches the groups, the commander's phone and the mailboxes; a robot refusing our
signature ends the run Failed, naming the channel, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.notify import notify
from tasks.notify.tasks import DeliveryFailed
from tests.helpers import read_mail
from tests.notify_support import make_incident, outbox
from tests.robot_fakes import ZHANG, Platforms, platforms_fixture  # noqa: F401 - the fixture

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_a_level_I_incident_reaches_the_groups_the_commanders_phone_and_the_mailboxes(
    sqlite_db: str, smtp_sink: Path, platforms: Platforms
) -> None:
    key = make_incident("INC-20261127-001", DAY, level="I")
    result = notify(incident_key=key, now=DAY)
    assert result["queued"] == result["sent"] == len(outbox(key)) == len(read_mail(smtp_sink)) + 4
    assert [len(platforms.accepted[k]) for k in ("wecom", "dingtalk", "feishu", "sms")] == [1, 1, 1, 1]
    assert platforms.accepted["sms"][0]["PhoneNumbers"] == ZHANG
    assert platforms.accepted["feishu"][0]["card"]["header"]["template"] == "red"
    again = notify(now=DAY + timedelta(minutes=5))
    assert again["sent"] == 0 and sum(platforms.requests.values()) == 4, "nothing is sent twice"


def test_a_robot_refusing_our_signature_fails_the_run_once_and_the_rest_goes_out(
    sqlite_db: str, smtp_sink: Path, platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SEC-not-the-robots-secret")
    key = make_incident("INC-20261127-001", DAY, level="II")
    with pytest.raises(DeliveryFailed, match=r"1 条消息最终未能送达：dingtalk:legal_group.*310000"):
        notify(incident_key=key, now=DAY)
    assert len(platforms.accepted["wecom"]) == len(platforms.accepted["feishu"]) == 1 and read_mail(smtp_sink)
    assert notify(now=DAY + timedelta(minutes=5))["sent"] >= 1, "the failure notice is mailed; the run passes"
    assert platforms.requests["dingtalk"] == 1
