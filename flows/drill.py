"""Drill runbook (应急演练和评估): rehearse the plan on a generated crisis, then grade the response."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.utilities.annotations import quote
from pydantic import WithJsonSchema

from config.drills import load_drills
from flows.forms import Now, ask, optional, plain_parameters, run_name
from flows.triage import triage_mentions
from tasks.audit import flow_actor
from tasks.common import resolve_now, show_time
from tasks.drills.tasks import due_drills, generate_drill, grade_drill, inject_drill, link_drill_incident, scenario_for
from tasks.monitoring.tasks import analyse_mentions
from tasks.notify.tasks import deliver_outbox

SCENARIOS = load_drills().scenarios  # the form's dropdown, as of deployment: `make deploy` again after editing
Scenario = Annotated[str, ask("演练场景", "；".join(f"{name}：{s.title}" for name, s in SCENARIOS.items()),
                              choices=SCENARIOS)]
Seed = optional(int, "随机种子", "留空用场景自带的种子；同一种子生成同一场危机")
Starter = Annotated[str, ask("发起人", "你的姓名，记入审计日志和演练记录", min_length=1, max_length=128, pattern=r"\S")]
# A number box to fill in (scripts pass the id as a number): the schedule grades every drill whose time is up.
DrillId = Annotated[int | None, WithJsonSchema({"type": "integer"}),
                    ask("演练编号", "要立即评估的演练（crisis drill list 可查）；到时的演练由定时运行自动评估")]


@plain_parameters
@flow(name="drill", flow_run_name=run_name("drill", "scenario", stamp=True), log_prints=True)
def drill(started_by: Starter, scenario: Scenario = "quality", seed: Seed = None,
          now: Now = None) -> dict[str, object]:
    """Start a drill of a scenario in config/drills.toml.

    1) generate the scenario's crisis on ordinary chatter (the scenario's seed unless `seed` is given:
    the same seed makes the same crisis); 2) analyse it and
    store it in the drill source, with the drill's record, in one transaction (refused while another
    drill runs); 3) triage at once: the crisis opens a drill incident (DRILL-…) and its events start
    the real notify and acknowledge runs, every mail marked 【演练】; later scans keep grading it as
    its posts come in. No customer notice is sent and compensation of a drill is always a dry run.
    The `drill-grade` deployment grades the response when the scenario's time is up.
    """
    at = resolve_now(now)
    injection = generate_drill(scenario, seed if seed is not None else scenario_for(scenario).seed, at)
    rows = analyse_mentions(quote(injection.mentions), at)
    drill_id = inject_drill(quote(injection), quote(rows), started_by, at)
    triage_mentions(window_end=at)
    key = link_drill_incident(drill_id)
    grade_after = scenario_for(scenario).grade_after_minutes
    create_markdown_artifact(
        key=f"drill-{drill_id}",
        markdown=(f"# 【演练】演练进行中 #{drill_id} · `{scenario}`\n\n"
                  f"- 演练事件：{key or '尚未生成（随后的扫描会继续研判）'}\n"
                  f"- 开始：{show_time(at)}；评估：{show_time(at + timedelta(minutes=grade_after))}"
                  f"（drill-grade 部署自动评估，或 `crisis drill grade {drill_id}`）\n"
                  "- 演练邮件主题均以【演练】开头；不会向客户发送通知；补偿只做试算\n"),
        description=f"演练 #{drill_id}")
    return {"drill": drill_id, "scenario": scenario, "incident": key}


@plain_parameters
@flow(name="drill-grade", flow_run_name=run_name("drill-grade", "drill_id"), log_prints=True)
def drill_grade(drill_id: DrillId = None, now: Now = None) -> list[dict[str, object]]:
    """Grade one drill at once (`drill_id`), or every running drill whose time is up (the schedule).

    Detection, level, first alert, acknowledgement against the level's target, repair steps and a
    compensation dry run are scored; the scorecard is written to var/drills/<id>/, published as the
    `drill-<id>` artifact and mailed (【演练】) to everyone the drill alerted.
    """
    at = resolve_now(now)
    ids = [drill_id] if drill_id is not None else due_drills(at)
    results = [grade_drill(i, at, flow_actor()) for i in ids]
    if results:
        deliver_outbox(at)
    return results
