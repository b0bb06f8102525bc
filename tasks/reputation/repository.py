"""SQL of the reputation indicators: the mentions a day's indicators read (drills never), the incidents open
at a day's end, and the reputation_daily rows, replaced day by day."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Executable,
    Integer,
    String,
    case,
    delete,
    insert,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from tasks.models import Incident, IncidentMetric, Mention, MentionBrand, ReputationDay


def _named(columns: Sequence[ColumnElement[object]], start: datetime, end: datetime) -> CompoundSelect:
    """Return one SELECT of `columns` per brand a real mention published in [start, end) names: its first
    brand, and each other brand it names (mention_brands)."""
    when = [Mention.is_drill.is_(False), Mention.published_at >= start, Mention.published_at < end]
    first = select(Mention.brand.label("brand"), *columns).where(Mention.brand.is_not(None), *when)
    others = (select(MentionBrand.brand.label("brand"), *columns)
              .join(Mention, Mention.id == MentionBrand.mention_id).where(*when))
    return union_all(first, others)


def _frame(session: Session, statement: Executable) -> pd.DataFrame:
    """Return the rows of a SELECT as a frame, taken straight from the driver's cursor: the columns that would
    need converting are type-coerced in the SELECT, so no per-row processing is wanted (millions of rows)."""
    result = session.connection().execute(statement)
    return pd.DataFrame.from_records(result.cursor.fetchall(), columns=list(result.keys()))


def mention_frame(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Return brand, published_at (UTC, as stored), negative (0/1), sentiment, category and, for a negative one
    only, the text, of every real mention published in [start, end), one row per brand it names. One pass over
    the mentions: the counts and the rising terms read the same rows."""
    columns = [type_coerce(Mention.published_at, String).label("published_at"),
               type_coerce(Mention.negative, Integer).label("negative"), Mention.sentiment, Mention.category,
               case((Mention.negative.is_(True), Mention.text)).label("text")]
    return _frame(session, _named(columns, start, end))


def incident_frames(session: Session, before: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the real incidents detected before `before` (id, brand, opened_at, ended_at = resolved or
    closed, heat) and their measured heat (incident_id, window_end, heat)."""
    incidents = session.execute(select(Incident).where(Incident.is_drill.is_(False), Incident.detected_at < before))
    rows = [{"id": i.id, "brand": i.brand, "opened_at": i.detected_at,
             "ended_at": min((t for t in (i.resolved_at, i.closed_at) if t is not None), default=None), "heat": i.heat}
            for (i,) in incidents]
    frame = pd.DataFrame(rows, columns=["id", "brand", "opened_at", "ended_at", "heat"])
    for column in ("opened_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    metrics = pd.DataFrame(
        session.execute(select(IncidentMetric.incident_id, IncidentMetric.window_end, IncidentMetric.heat)
                        .where(IncidentMetric.incident_id.in_(frame["id"].tolist()),
                               IncidentMetric.window_end < before)).all(),
        columns=["incident_id", "window_end", "heat"])
    metrics["window_end"] = pd.to_datetime(metrics["window_end"], utc=True)
    return frame, metrics


def replace_days(session: Session, days: Sequence[str], rows: Sequence[dict[str, object]], now: datetime) -> int:
    """Replace the reputation rows of `days` with `rows` (JSON columns encoded); return how many were written."""
    session.execute(delete(ReputationDay).where(ReputationDay.day.in_(list(days))))
    encoded = [{**row, "top_categories": json.dumps(row["top_categories"], ensure_ascii=False),
                "rising_terms": json.dumps(row["rising_terms"], ensure_ascii=False), "computed_at": now} for row in rows]
    if encoded:
        session.execute(insert(ReputationDay), encoded)
    return len(encoded)


def stored_days(session: Session, first: str, last: str) -> set[str]:
    """Return the days in [first, last] that have reputation rows."""
    return set(session.scalars(select(ReputationDay.day).where(ReputationDay.day.between(first, last)).distinct()))


def reputation_frame(session: Session, first: str, last: str) -> pd.DataFrame:
    """Return the stored reputation rows of [first, last] (JSON columns decoded), by day and brand."""
    rows = session.scalars(select(ReputationDay).where(ReputationDay.day.between(first, last))
                           .order_by(ReputationDay.day, ReputationDay.brand))
    columns = [c.key for c in ReputationDay.__table__.columns]
    frame = pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)
    for column in ("top_categories", "rising_terms"):
        frame[column] = frame[column].map(json.loads)
    return frame


def incidents_active(session: Session, start: datetime, end: datetime) -> list[Incident]:
    """Return the real incidents detected before `end` and not resolved or closed before `start`, oldest first."""
    return list(session.scalars(
        select(Incident).where(Incident.is_drill.is_(False), Incident.detected_at < end,
                               or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
                               or_(Incident.closed_at.is_(None), Incident.closed_at >= start))
        .order_by(Incident.detected_at)))
