"""`crisis demo`: a generated scenario driven through the real deployments, end to end.

Time is a parameter: the scenario ends at the real `now` and every run gets the simulated moment
it stands for, so the flows that events trigger (with the real clock) see a consistent world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.aftercare.repository import set_step
from tasks.common import local_zone, show_time
from tasks.compensation.repository import incident_totals
from tasks.db import session_scope, upgrade_database
from tasks.errors import CrisisError
from tasks.incidents.repository import first_incident_of, get_incident, last_incident_id
from tasks.incidents.state import IncidentState, state_name
from tasks.models import Incident
from tasks.notify.delivery import DeliveryStatus
from tasks.notify.repository import notifications_of, recipients_of, sent_count
from tasks.notify.tasks import DRAFT_KINDS, acknowledge
from tasks.reputation.report import week_label
from tasks.scenario.files import write_mentions, write_orders
from tasks.scenario.week import Scenario, generate_scenario
from tasks.stack import Stack, start_stack
from tasks.triage.competitors import recent_alerts

# Hours after the crisis start of the after-action checks; each follows a scan of the chatter up to then,
# so recovery is judged on the days after the crisis, not on an empty database.
RECOVERY_CHECK_HOURS = (48, 60, 72)


class DemoFailed(CrisisError):
    """A step of the demo did not produce what it should; the message says which."""


@dataclass
class DemoResult:
    incident_key: str
    level: str
    mails_delivered: int
    orders_compensated: int
    amount_fen: int
    review_path: str
    ui_url: str
    notes: list[str]
    mail_dir: str = ""
    drafts_to: list[str] = field(default_factory=list)
    reputation_path: str = ""

    @property
    def pages(self) -> dict[str, str]:
        """Return the Prefect UI pages to open, by their Chinese name: the boards, the brief, the review."""
        key = self.incident_key.lower()
        return {"事件看板": f"{self.ui_url}/artifacts/key/incident-board",
                "待核实看板": f"{self.ui_url}/artifacts/key/watch-board",
                "事件简报": f"{self.ui_url}/artifacts/key/brief-{key}",
                "复盘报告": f"{self.ui_url}/artifacts/key/review-{key}"}


RUN_POLL_SECONDS = 1  # Prefect's default, 5 s, left each of the demo's 14 runs waiting 2.5 s on average after it ended


def _run(name: str, parameters: dict[str, object], timeout: float = 600) -> object:
    run = run_deployment(name=name, parameters=parameters, timeout=timeout, poll_interval=RUN_POLL_SECONDS)
    if not run.state or not run.state.is_completed():
        raise DemoFailed(f"部署 {name} 的运行未完成（{run.state.name if run.state else '没有状态'}）")
    return run


TRIGGER_PATIENCE_SECONDS = 300  # a trigger's run waits for a worker: on a loaded machine that takes minutes


def _wait_for(check: Callable[[], bool], seconds: float = TRIGGER_PATIENCE_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def _last_incident_id() -> int:
    with session_scope() as session:
        return last_incident_id(session)


def _incident_for(scenario: Scenario, after_id: int) -> Incident | None:
    """Return the incident this run's crisis opened (earlier demo runs left theirs behind)."""
    with session_scope() as session:
        return first_incident_of(session, scenario.brand, after_id)


def _state(key: str) -> IncidentState:
    with session_scope() as session:
        return IncidentState(get_incident(session, key).state)


def _sent(key: str) -> int:
    with session_scope() as session:
        return sent_count(session, get_incident(session, key).id)


def _scan_until_incident(scenario: Scenario, mentions: Path, notes: list[str]) -> Incident:
    known = _last_incident_id()
    for offset in (timedelta(hours=-1), timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=90),
                   timedelta(minutes=120)):
        at = scenario.crisis_start + offset
        _run("scan/scan", {"now": at.isoformat(), "extra_file": str(mentions)})
        incident = _incident_for(scenario, known)
        if incident:
            minutes = int(offset.total_seconds() // 60)
            notes.append(f"危机开始后 {minutes} 分钟的扫描开启了 {incident.key}")
            return incident
    raise DemoFailed("五次扫描都没有因这场危机开启事件")


def _competitor_alerts(scenario: Scenario) -> list[str]:
    """Return a note per competitor alert this run's scans raised (同类风险预警: a rival's crisis, no incident of
    ours; earlier demo runs left theirs behind)."""
    with session_scope() as session:
        return [f"同类风险预警：竞品{a.competitor}「{a.category}」（{a.day}），已通知公关与同类产品负责人，"
                f"见 competitor-board" for a in recent_alerts(session)
                if a.detected_at >= scenario.crisis_start - timedelta(hours=2)]


def run_demo(stack: Stack, seed: int | None = None, say: Callable[[str], None] = print) -> DemoResult:
    """Run the whole lifecycle through the deployments and return what happened."""
    notes: list[str] = []
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seed = seed if seed is not None else int(now.timestamp()) % 1_000_000
    upgrade_database()
    say("启动本地环境（Prefect 服务器、SMTP 接收器、部署、worker）…")
    start_stack(stack)
    scenario = generate_scenario(seed, now, rivals=True)  # with the competitor's own crisis an hour before ours
    folder = stack.var / "demo" / str(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_mentions(scenario, folder / "mentions.jsonl")
    write_orders(scenario, folder / "orders.csv")
    say(f"场景 {seed}：{len(scenario.mentions)} 条提及，{show_time(scenario.crisis_start)} 起"
        f"{scenario.product}的{scenario.category}危机")
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        return _lifecycle(stack, scenario, folder, notes, say)


def _lifecycle(stack: Stack, scenario: Scenario, folder: Path, notes: list[str],
               say: Callable[[str], None]) -> DemoResult:
    incident = _scan_until_incident(scenario, folder / "mentions.jsonl", notes)
    notes += _competitor_alerts(scenario)
    key = incident.key
    say(f"事件 {key} 已开启，{incident.level} 级；等待通知触发器（最多 5 分钟）…")
    if not _wait_for(lambda: _sent(key) > 0):
        notes.append(f"通知触发器 {TRIGGER_PATIENCE_SECONDS} 秒内未触发：改为直接运行通知巡检")
        _run("notify/notify", {})
    say(f"已发出 {_sent(key)} 封邮件；李娜确认接手")
    acknowledge(key, "李娜", "演示：公关专员接手", scenario.crisis_start + timedelta(hours=2))
    _run("compensate/compensate", {
        "incident_key": key, "orders_path": str(folder / "orders.csv"), "policy": "coupon-20",
        "dry_run": False, "requested_by": "刘洋", "note": "演示补偿",
        "now": (scenario.crisis_start + timedelta(hours=6)).isoformat(),
    })
    _repair_steps(key, scenario.crisis_start)
    say("补偿已发放，修复步骤已记录；观察舆情恢复（after-action 运行）…")
    for hours in RECOVERY_CHECK_HOURS:
        at = (scenario.crisis_start + timedelta(hours=hours)).isoformat()
        _run("scan/scan", {"now": at, "extra_file": str(folder / "mentions.jsonl")})
        _run("after-action/after-action", {"incident_key": key, "now": at})
    review = stack.var / "reviews" / f"{key}.md"
    state = _state(key)
    if state != IncidentState.RESOLVED:  # the trigger waits for a resolution that did not come: say so, not wait
        notes.append(f"恢复检查未全部通过，事件仍为「{state_name(state)}」（见 crisis show {key}）："
                     "复盘触发器不会触发，改为直接运行复盘")
        say(f"事件仍为「{state_name(state)}」，未解决；直接运行复盘…")
        _run("review/review", {"incident_key": key})
    else:
        say("事件已解决；等待复盘（由 crisis.incident.resolved 触发，最多 5 分钟）…")
        if not _wait_for(review.exists):
            notes.append(f"复盘触发器 {TRIGGER_PATIENCE_SECONDS} 秒内未触发：改为直接运行复盘")
            _run("review/review", {"incident_key": key})
    if not _wait_for(lambda: _review_delivered(key)):  # the review run mails it after writing the file
        notes.append(f"复盘报告邮件 {TRIGGER_PATIENCE_SECONDS} 秒内未全部发出：稍后由通知巡检投递")
    result = _result(stack, key, review, notes)
    result.reputation_path = _reputation_report(stack, scenario, say)
    return result


def _reputation_report(stack: Stack, scenario: Scenario, say: Callable[[str], None]) -> str:
    """Run the weekly 声誉报告 (the Monday deployment) for the scenario's crisis week, with its rival; return its
    file."""
    at = scenario.crisis_start + timedelta(hours=max(RECOVERY_CHECK_HOURS))
    local = scenario.crisis_start.astimezone(local_zone()).date()
    week = week_label(local - timedelta(days=local.weekday()))
    say(f"生成 {week} 的声誉报告（reputation-weekly 运行）…")
    _run("reputation-weekly/reputation-weekly", {"week": week, "now": at.isoformat()})
    path = stack.var / "reports" / f"reputation-{week}.md"
    if not path.exists():
        raise DemoFailed(f"没有生成声誉报告：{path}")
    return str(path)


def _review_delivered(key: str) -> bool:
    """Tell whether the review mail is queued and every copy of it has left the outbox (sent, or failed)."""
    with session_scope() as session:
        statuses = [n.status for n in notifications_of(session, get_incident(session, key).id) if n.kind == "review"]
    return bool(statuses) and all(s in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for s in statuses)


def _repair_steps(key: str, start: datetime) -> None:
    """Record the PR team's repair steps as responders would with `crisis step`."""
    steps = [
        ("apology", "李娜", 3, "done", "https://example.com/weibo/apology"),
        ("disclosure", "李娜", 8, "done", "https://example.com/notice/quality-report"),
        ("compensation", "刘洋", 8, "done", "var/compensation"),
        ("improvement", "陈静", 72, "doing", None),
        ("trust", "李娜", 120, "todo", None),
    ]
    with session_scope() as session:
        incident = get_incident(session, key)
        for step, owner, due_hours, state, evidence in steps:
            set_step(session, incident, step, actor=owner, at=start + timedelta(hours=min(due_hours, 7)),
                     state=state, owner=owner, due_at=start + timedelta(hours=due_hours), evidence=evidence)


def _result(stack: Stack, key: str, review: Path, notes: list[str]) -> DemoResult:
    with session_scope() as session:
        incident = get_incident(session, key)
        totals = incident_totals(session, incident.id).values()
        drafts_to = sorted(recipients_of(session, incident.id, kinds=DRAFT_KINDS))
    if not review.exists():
        raise DemoFailed(f"没有生成复盘报告：{review}")
    return DemoResult(key, incident.level, _sent(key), sum(n for n, _ in totals), sum(f for _, f in totals),
                      str(review), stack.ui_url, notes, mail_dir=str(stack.var / "mail"), drafts_to=drafts_to)
