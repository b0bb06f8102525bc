"""按谣言/误报关闭 runbook: a responder closes an active incident that is no crisis, as unfounded (谣言, handled
by 辟谣) or a false alarm (误报), from the Prefect UI; `crisis close --as` does the same from the command line."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.forms import IncidentKey, Now, ask, run_name
from tasks.aftercare.tasks import after_dismissal, dismiss_incident
from tasks.common import resolve_now
from tasks.incidents.state import RESOLUTION_NAMES, Resolution
from tasks.monitoring.tasks import source_health_rows
from tasks.triage.board import publish_incident_board

# The form shows the Chinese names (误报, 谣言（不实）); the flow maps them back.
_BY_NAME = {name: resolution for resolution, name in RESOLUTION_NAMES.items()}
How = Annotated[str, ask("关闭方式", "误报：检测规则误判，记录触发的规则供调优；谣言（不实）：传言不实，已通过辟谣处理",
                         choices=tuple(_BY_NAME))]
ClosedBy = Annotated[str, ask("关闭人", "你的姓名（记入审计日志）", min_length=1, max_length=128, pattern=r"\S")]
Reason = Annotated[str, ask("理由", "为何不构成危机，例如：促销活动带来的正常讨论；检测报告合格，已发布辟谣声明",
                            min_length=1, max_length=500, pattern=r"\S")]


@flow(name="dismiss-incident", flow_run_name=run_name("dismiss", "incident_key"), log_prints=True)
def dismiss_by_hand(incident_key: IncidentKey, how: How, closed_by: ClosedBy, reason: Reason,
                    now: Now = None) -> list[str]:
    """Close an active incident as unfounded or a false alarm (按谣言/误报关闭).

    1) refuse, with nothing written, an unknown incident, one already resolved or closed, or an empty reason;
    2) close it at once, audited with who and why (a false alarm also records the rules that fired); from then
       on its posts and their reposts open nothing for detection.toml's dismissed_days, and are listed on the
       待核实 board while they spread; 3) queue a 解除通知 to everyone its alerts, escalations and status
       mails went to (sent by the notify sweep); 4) refresh the incident board. Return the rules that fired.
    """
    at = resolve_now(now)
    if how not in _BY_NAME:
        raise ValueError(f"关闭方式须为 {'、'.join(_BY_NAME)} 之一，收到：{how}")
    resolution = _BY_NAME[how]
    done = dismiss_incident(incident_key, resolution, reason, closed_by, at)
    publish_incident_board(at, source_health_rows())
    print(f"{incident_key} 已按{how}关闭，关闭人 {closed_by}。{after_dismissal()}")
    if done.told:
        print(f"解除通知已加入发件箱（{len(done.told)} 人），由通知流程的下一次巡检发出")
    return done.rules if resolution is Resolution.FALSE_ALARM else []
