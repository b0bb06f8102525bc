"""`crisis demo`: a generated scenario driven through the real deployments, end to end.

Time is a parameter: the scenario ends at the real `now` and every run gets the simulated moment
it stands for, so the flows that events trigger (with the real clock) see a consistent world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.aftercare.repository import set_step
from tasks.compensation.repository import incident_totals
from tasks.db import session_scope, upgrade_database
from tasks.errors import CrisisError
from tasks.incidents.repository import first_incident_of, get_incident, last_incident_id
from tasks.models import Incident
from tasks.notify.repository import sent_count
from tasks.notify.tasks import acknowledge
from tasks.scenario.files import write_mentions, write_orders
from tasks.scenario.week import Scenario, generate_scenario
from tasks.stack import Stack, start_stack

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


def _run(name: str, parameters: dict[str, object], timeout: float = 600) -> object:
    run = run_deployment(name=name, parameters=parameters, timeout=timeout)
    if not run.state or not run.state.is_completed():
        raise DemoFailed(f"deployment {name} ended {run.state.name if run.state else 'without a state'}")
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
            notes.append(f"scan at crisis start {offset} opened {incident.key}")
            return incident
    raise DemoFailed("the crisis did not open an incident in five scans")


def run_demo(stack: Stack, seed: int | None = None, say: Callable[[str], None] = print) -> DemoResult:
    """Run the whole lifecycle through the deployments and return what happened."""
    notes: list[str] = []
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seed = seed if seed is not None else int(now.timestamp()) % 1_000_000
    upgrade_database()
    say("starting the local stack (Prefect server, SMTP sink, deployments, worker)…")
    start_stack(stack)
    scenario = generate_scenario(seed, now)
    folder = stack.var / "demo" / str(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_mentions(scenario, folder / "mentions.jsonl")
    write_orders(scenario, folder / "orders.csv")
    say(f"scenario {seed}: {len(scenario.mentions)} mentions, crisis about {scenario.product} "
        f"at {scenario.crisis_start.isoformat()}")
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        return _lifecycle(stack, scenario, folder, notes, say)


def _lifecycle(stack: Stack, scenario: Scenario, folder: Path, notes: list[str],
               say: Callable[[str], None]) -> DemoResult:
    incident = _scan_until_incident(scenario, folder / "mentions.jsonl", notes)
    key = incident.key
    say(f"incident {key} opened at level {incident.level}; waiting for the notify trigger (up to 5 minutes)…")
    if not _wait_for(lambda: _sent(key) > 0):
        notes.append(f"the notify trigger did not fire within {TRIGGER_PATIENCE_SECONDS} s: ran the sweep instead")
        _run("notify/notify", {})
    say(f"{_sent(key)} alert(s) delivered; acknowledging as 李娜")
    acknowledge(key, "李娜", "演示：公关专员接手", scenario.crisis_start + timedelta(hours=2))
    _run("compensate/compensate", {
        "incident_key": key, "orders_path": str(folder / "orders.csv"), "policy": "coupon-20",
        "dry_run": False, "requested_by": "刘洋", "note": "演示补偿",
        "now": (scenario.crisis_start + timedelta(hours=6)).isoformat(),
    })
    _repair_steps(key, scenario.crisis_start)
    say("compensation applied, repair steps recorded; watching the recovery (after-action runs)…")
    for hours in RECOVERY_CHECK_HOURS:
        at = (scenario.crisis_start + timedelta(hours=hours)).isoformat()
        _run("scan/scan", {"now": at, "extra_file": str(folder / "mentions.jsonl")})
        _run("after-action/after-action", {"incident_key": key, "now": at})
    say("resolved; waiting for the review (started by the crisis.incident.resolved trigger, up to 5 minutes)…")
    review = stack.var / "reviews" / f"{key}.md"
    if not _wait_for(review.exists):
        notes.append(f"the review trigger did not fire within {TRIGGER_PATIENCE_SECONDS} s: ran the review directly")
        _run("review/review", {"incident_key": key})
    return _result(stack, key, review, notes)


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
    if not review.exists():
        raise DemoFailed(f"no review at {review}")
    return DemoResult(key, incident.level, _sent(key), sum(n for n, _ in totals), sum(f for _, f in totals),
                      str(review), stack.ui_url, notes)
