"""Lessons runbook (经验教训): what responders learned, added to the review before it is final."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.forms import IncidentKey, Now, ask, run_name
from tasks.aftercare.review_tasks import LESSON_LIMIT, record_lesson, write_review
from tasks.common import resolve_now

By = Annotated[str, ask("填写人", "你的姓名（记入审计日志，复盘中署名）", min_length=1, pattern=r"\S")]
Text = Annotated[str, ask("经验教训", "一条经验或教训：做对了什么、哪里要改、下次怎么做；多条请分次填写",
                          min_length=1, max_length=LESSON_LIMIT, pattern=r"\S")]


@flow(name="lessons", flow_run_name=run_name("lessons", "incident_key"), log_prints=True)
def lessons(incident_key: IncidentKey, by: By, text: Text, now: Now = None) -> int:
    """Add one lesson to the incident's review (复盘).

    1) record it, audited, with who and when — refused once the incident is closed (复盘通过: the
       review is final); the same text by the same person is kept once;
    2) when the review is already written (the incident is resolved), rewrite it so the lesson shows
       in the artifact, var/reviews and the next mail; otherwise the review lists it when written.
    """
    at = resolve_now(now)
    result = record_lesson(incident_key, by, text, at)
    if result.review_written:
        write_review(incident_key, at)
    return result.count
