"""Prefect task of the rumour signal (谣言): judge every active incident's origin and store the mark."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from prefect import get_run_logger, task

from tasks.db import retry_transient_db, session_scope
from tasks.incidents import repository as incidents
from tasks.incidents.service import mark_rumour
from tasks.monitoring.lexicon import lexicon_data
from tasks.triage.rumour import Post, assess

# The origin: an incident's first posts and its widest-reaching ones.
ORIGIN_POSTS = 5
CLEARED = "信号消除：源头过半的帖子带第一手证据（订单号、图片或页面链接），不再像谣言"


@task(retries=2, retry_delay_seconds=[2, 8], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db)
def flag_rumours(now: datetime, actor: str) -> list[str]:
    """Judge whether each active incident is a possible rumour (谣言) as of `now`; mark it with the reason,
    audited, when its origin has the shape of one. Return the keys whose mark changed.

    The mark is sticky: it is cleared (audited) only when the signal clears for good — the origin turns out
    substantiated (at least half of it first-hand evidence). A run that merely sees fewer signals (the
    debunking share falls back) keeps it. Safe to re-run: a mark that already says so changes nothing.
    """
    changed: list[str] = []
    with session_scope() as session:
        active = incidents.active_incidents(session)
        # read only when there is something to judge: an idle scan with no incident open skips the lexicon
        brands = list(lexicon_data().brands) if active else []  # with the names a replay watches
        for incident in active:
            origin = {m.id: m for m in [*incidents.earliest_posts(session, incident.id, ORIGIN_POSTS),
                                        *incidents.top_posts(session, incident.id, ORIGIN_POSTS)]}
            verdict = assess([Post(m.text, m.debunk, m.published_at) for m in origin.values()],
                             partial(incidents.debunk_flags, session, incident.brand, incident.started_at, now,
                                     incident.is_drill), brands)
            if verdict.possible:
                mark = mark_rumour(session, incident, True, verdict.reason, actor=actor, at=now)
            else:
                mark = verdict.substantiated and mark_rumour(session, incident, False, CLEARED, actor=actor, at=now)
            if mark:
                changed.append(incident.key)
    if changed:
        get_run_logger().warning("谣言信号有变化：%s", "、".join(changed))
    return changed
