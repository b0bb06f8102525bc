"""SQL of the competitor alerts (同类风险预警): record one per competitor × crisis category × local day, what a
rival's crisis names (its products, its widest-reaching posts), the alerts for the board and who was told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates
from tasks.incidents.state import OTHER_CATEGORY
from tasks.models import CompetitorAlert, Mention, MentionBrand, Notification, names_brand

POSTS_SHOWN = 3


def insert_alert(session: Session, row: dict[str, object]) -> int | None:
    """Store the alert unless the competitor's category already has one that day; return its id, None if it had."""
    inserted = session.execute(insert_ignoring_duplicates(CompetitorAlert).returning(CompetitorAlert.id), [row])
    return next(iter(inserted.scalars()), None)


def _negative_in(brand: str, category: str, since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [Mention.is_drill.is_(False), Mention.negative.is_(True),
            Mention.category.is_(None) if category == OTHER_CATEGORY else Mention.category == category,
            Mention.published_at > since, Mention.published_at <= until]


def products_named(session: Session, brand: str, category: str, since: datetime, until: datetime) -> list[str]:
    """Return the brand's products its negative mentions of the category in (since, until] name, most named first."""
    where = _negative_in(brand, category, since, until)
    counts: dict[str, int] = {}
    first = (select(Mention.product, func.count()).where(Mention.brand == brand, Mention.product.is_not(None), *where)
             .group_by(Mention.product))
    other = (select(MentionBrand.product, func.count()).join(Mention, Mention.id == MentionBrand.mention_id)
             .where(MentionBrand.brand == brand, MentionBrand.product.is_not(None), *where)
             .group_by(MentionBrand.product))
    for statement in (first, other):
        for product, n in session.execute(statement):
            counts[product] = counts.get(product, 0) + n
    return sorted(counts, key=lambda p: (-counts[p], p))


def top_posts(session: Session, brand: str, category: str, since: datetime, until: datetime) -> list[Mention]:
    """Return the brand's widest-reaching negative originals of the category in (since, until]."""
    return list(session.scalars(
        select(Mention).where(names_brand(brand), Mention.duplicate_of_id.is_(None),
                              *_negative_in(brand, category, since, until))
        .order_by(Mention.reach.desc(), Mention.id).limit(POSTS_SHOWN)))


def recent_alerts(session: Session, limit: int = 50) -> list[CompetitorAlert]:
    """Return the newest alerts first."""
    return list(session.scalars(select(CompetitorAlert)
                                .order_by(CompetitorAlert.day.desc(), CompetitorAlert.id.desc()).limit(limit)))


def told(session: Session, dedup_prefix: str) -> list[tuple[str, str]]:
    """Return (recipient, status) of each outbox message whose dedup key starts with the prefix, in queue order."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(Notification.recipient, Notification.status)
        .where(Notification.dedup_key.startswith(dedup_prefix, autoescape=True)).order_by(Notification.id))]
