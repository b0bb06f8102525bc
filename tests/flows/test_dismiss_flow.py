"""The dismiss-incident deployment (按谣言/误报关闭, the Prefect UI's form for `crisis close --as`): the same
refusals and the same audited closing as the CLI, the form in Chinese, and the story it dismisses opens
nothing at the next scan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prefect.flows import load_flow_from_entrypoint

from tasks.audit import entries_for, verify_chain
from tasks.db import session_scope
from tasks.errors import InvalidTransition, NotFound
from tests.notify_support import incident
from tests.tasks.test_reposts_cascade import COMPLAINT, START, cascade_file, scan

ROOT = Path(__file__).resolve().parents[2]


def test_the_form_offers_the_two_ways_in_chinese() -> None:
    flow = load_flow_from_entrypoint(str(ROOT / "flows/dismiss.py:dismiss_by_hand"))
    fields = flow.parameters.model_dump_for_openapi()["properties"]
    assert fields["how"]["enum"] == ["谣言（不实）", "误报"]
    assert (fields["how"]["title"], fields["closed_by"]["title"], fields["reason"]["title"]) == ("关闭方式", "关闭人", "理由")


def test_the_deployment_closes_a_false_alarm_audited_and_its_story_opens_nothing_again(
        sqlite_db: str, tmp_path: Path) -> None:
    from flows.dismiss import dismiss_by_hand

    path = cascade_file(tmp_path, COMPLAINT, reposts=400, minutes=60)
    (opened,) = [c for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n)) if c.kind == "opened"]
    key = opened.incident_key
    with pytest.raises(NotFound, match="未找到事件 INC-20261127-099"):
        dismiss_by_hand(incident_key="INC-20261127-099", how="误报", closed_by="张伟", reason="促销")
    with pytest.raises(ValueError, match="关闭方式须为 谣言（不实）、误报 之一"):
        dismiss_by_hand(incident_key=key, how="false_alarm", closed_by="张伟", reason="促销")
    assert incident(key).state == "open", "a refused form changes nothing"

    rules = dismiss_by_hand(incident_key=key, how="误报", closed_by="张伟", reason="促销活动带来的正常讨论",
                            now=START + timedelta(minutes=12))
    assert rules == ["short_spike", "viral_post"]
    closed = incident(key)
    assert (closed.state, closed.resolution, closed.resolution_note) == ("closed", "false_alarm", "促销活动带来的正常讨论")
    with session_scope() as session:
        (entry,) = [e for e in entries_for(session, "incident", key) if e.action == "incident.false_alarm"]
        assert entry.actor == "张伟" and "viral_post" in entry.after
        assert verify_chain(session).ok
    assert [scan(path, START + timedelta(minutes=5 * n)) for n in range(3, 9)] == [[]] * 6

    with pytest.raises(InvalidTransition, match="事件处于「已关闭」"):
        dismiss_by_hand(incident_key=key, how="谣言（不实）", closed_by="张伟", reason="再关一次")
