"""SQL of triage: window statistics per brand and category, linking mentions to their incident."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, Row, Select, Update, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from tasks.db import hold_lock, insert_ignoring_duplicates, prepared, read_rows
from tasks.incidents.state import OTHER_CATEGORY
from tasks.models import (
    DetectionHit,
    EngagementRead,
    Incident,
    IncidentMetric,
    Mention,
    MentionBrand,
    brand_ways,
    names_brand,
)
from tasks.triage.detection import WATCH_MODE, GroupWindow, SpreadingPost

DAY_SECONDS = 86400
TRIAGE_LOCK = 0x74726967  # "trig": a scan's triage and a hand open (crisis open) take turns


def lock_triage(session: Session) -> None:
    """Hold the triage lock until the transaction ends, so a scan opening an incident and a person opening one
    by hand for the same brand and category never both see "none active" and open two."""
    hold_lock(session, TRIAGE_LOCK)


SPREADING_CANDIDATES = 50  # originals looked up per scan (the most reposted, the most reported)
SPREADING_KEPT = 10  # per group


@dataclass
class WindowStats:
    """One brand's mentions inside a window (recovery compares these with a baseline)."""

    brand: str
    volume: int = 0
    negative: int = 0
    negative_reach: int = 0
    first_negative_at: datetime | None = None
    categories: Counter[str] = field(default_factory=Counter)
    critical_terms: Counter[str] = field(default_factory=Counter)

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0


def window_stats(session: Session, start: datetime, end: datetime, drill: bool = False,
                 dismissed_days: int = 0) -> dict[str, WindowStats]:
    """Return per-brand statistics of mentions published in (start, end] (of the drill source when `drill`),
    leaving out a story dismissed within `dismissed_days` of `end` as detection does (see outside_dismissed)."""
    columns = (Mention.negative, Mention.reach, Mention.published_at, Mention.category, Mention.critical_terms)
    rows = _with_other_brands(
        session, select(Mention.brand, *columns), select(MentionBrand.brand, *columns),
        Mention.is_drill.is_(drill), Mention.published_at > start, Mention.published_at <= end,
        *outside_dismissed(end, dismissed_days, drill))
    stats: dict[str, WindowStats] = {}
    for brand, negative, reach, published_at, category, critical in rows:
        s = stats.setdefault(brand, WindowStats(brand=brand))
        s.volume += 1
        if not negative:
            continue
        s.negative += 1
        s.negative_reach += reach
        if s.first_negative_at is None or published_at < s.first_negative_at:
            s.first_negative_at = published_at
        if category:
            s.categories[category] += 1
        for term in filter(None, critical.split(",")):
            s.critical_terms[term] += 1
    return stats





def _with_other_brands(session: Session, first: Select, other: Select, *where: ColumnElement[bool],  # type: ignore[type-arg]
                       params: dict[str, object] | None = None, key: Hashable = None) -> list[Row]:  # type: ignore[type-arg]
    """Return `first`'s rows (a mention under its first brand) and `other`'s (under each other brand it
    names, see MentionBrand), both filtered by `where`: a post naming three watched brands counts for each.
    Both selects start with the brand column and have the same columns after it. `params` fill the bindparams
    of `where`; with a `key` the two statements are built once (tasks.db.prepared) and only run after."""
    def build() -> tuple[Select, Select]:  # type: ignore[type-arg]
        return (first.where(Mention.brand.is_not(None), *where),
                other.join(Mention, Mention.id == MentionBrand.mention_id).where(*where))

    statements = prepared(key, build)
    return [row for statement in statements for row in read_rows(session, statement, params).all()]


def attach_negative_mentions(session: Session, incident: Incident, since: datetime, until: datetime) -> int:
    """Link the brand and category's unlinked negative mentions published in [since, until] to the incident."""
    category = Mention.category.is_(None) if incident.category == OTHER_CATEGORY else (
        Mention.category == incident.category)  # written into the statement: its key names the category
    # One UPDATE per way of naming the brand: the first reads the (brand, published_at) index of unattached
    # negatives, which names_brand's OR would not use (it read every mention of every brand in the incident's
    # span, for each active incident at every scan).
    def build() -> list[Update]:
        conditions = (Mention.is_drill.is_(incident.is_drill), category, Mention.negative.is_(True),
                      Mention.incident_id.is_(None), Mention.published_at >= bindparam("since"),
                      Mention.published_at <= bindparam("until"))
        return [update(Mention).where(names, *conditions).values(incident_id=bindparam("incident"))
                for names in brand_ways(incident.brand)]

    params = {"since": since, "until": until, "incident": incident.id}
    session.flush()  # run on the connection: no mention loaded in the session needs updating with them
    connection = session.connection()
    return sum(connection.execute(statement, params).rowcount or 0 for statement in prepared(
        ("attach_negative", incident.brand, incident.category, incident.is_drill), build))


def attach_spreading(session: Session, incident: Incident, posts: Sequence[SpreadingPost]) -> int:
    """Link the group's spreading originals no incident holds yet to the incident, however long ago they were
    published: an old post spreading again is the incident's evidence (and, if it is dismissed, part of the
    story dismissed), though it falls before the incident's start."""
    ids = [p.mention_id for p in posts if p.mention_id is not None]
    if not ids:
        return 0
    return session.execute(update(Mention).where(Mention.id.in_(ids), Mention.incident_id.is_(None),
                                                 Mention.is_drill.is_(incident.is_drill))
                           .values(incident_id=incident.id)).rowcount or 0


# attach_reposts' UPDATE by primary key, one row per repeat found
_TABLE = Mention.__table__
_ATTACH_BY_KEY = (update(_TABLE).where(_TABLE.c.id == bindparam("key"), _TABLE.c.incident_id.is_(None))
                  .values(incident_id=bindparam("incident")))


def attach_reposts(session: Session, incident: Incident, until: datetime) -> int:
    """Link the unlinked reposts and near-duplicates (same content hash or SimHash, see monitoring) of the
    incident's mentions to it, whatever their own category or sentiment: "转发微博" spreads the crisis too."""
    # Found through the duplicate_of_id index alone, then set by primary key: as one UPDATE with every condition,
    # SQLite's planner (its default estimates, and statistics where most mentions repeat nothing) read every
    # mention up to `until` through the (is_drill, published_at) index instead: 40 ms per incident per scan at
    # 100,000 mentions, growing with the table. Those no incident holds yet are told apart in the same read, by an
    # expression no index serves (the incident's 1,000 reposts it already holds were read at every scan).
    found = read_rows(session, prepared("unattached_repeats", lambda: select(
        Mention.id, Mention.is_drill, Mention.published_at).where(
            Mention.duplicate_of_id.in_(select(Mention.id).where(Mention.incident_id == bindparam("incident"))
                                        .scalar_subquery()),
            func.coalesce(Mention.incident_id, 0) == 0)), {"incident": incident.id})
    keys = [{"key": key, "incident": incident.id} for key, drill, published in found
            if drill == incident.is_drill and published <= until]
    if keys:  # the scan holds the triage lock: nobody attaches them in between
        session.execute(_ATTACH_BY_KEY, keys)
    return len(keys)


def negative_times(session: Session, incident: Incident, since: datetime, until: datetime) -> list[datetime]:
    """Return when the brand's negative mentions of the incident's category were published in (since, until]."""
    return list(session.scalars(select(Mention.published_at).where(
        names_brand(incident.brand), Mention.is_drill.is_(incident.is_drill), Mention.negative.is_(True),
        Mention.published_at > since, Mention.published_at <= until,
        (Mention.category.is_(None) if incident.category == OTHER_CATEGORY
         else Mention.category == incident.category))))


def record_hits(session: Session, rows: list[dict[str, object]]) -> None:
    """Store the rules that fired at a scan; a hit already stored for its window is kept as it was."""
    if rows:
        session.execute(insert_ignoring_duplicates(DetectionHit), rows)


def watch_hits(session: Session, at: datetime) -> list[DetectionHit]:
    """Return the 待核实 rows (spreading_watch) the scan at `at` recorded, by brand and category; drills left out."""
    return list(session.scalars(prepared("watch_hits", lambda: select(DetectionHit).where(
        DetectionHit.mode == WATCH_MODE, DetectionHit.is_drill.is_(False), DetectionHit.window_end == bindparam("at"))
        .order_by(DetectionHit.brand, DetectionHit.category)), {"at": at}))


def first_watched(session: Session, since: datetime) -> dict[tuple[str, str, str], datetime]:
    """Return, per rule, brand and category listed as 待核实 after `since`, the first scan that listed it (a
    post spreading towards an incident and a dismissed story still spreading are two rows, each with its own)."""
    return {(rule, brand, category): first for rule, brand, category, first in session.execute(
        select(DetectionHit.rule, DetectionHit.brand, DetectionHit.category, func.min(DetectionHit.window_end))
        .where(DetectionHit.mode == WATCH_MODE, DetectionHit.is_drill.is_(False), DetectionHit.window_end > since)
        .group_by(DetectionHit.rule, DetectionHit.brand, DetectionHit.category))}


def record_metric(session: Session, row: dict[str, object]) -> None:
    """Store an incident's metrics of one window, unless that window's are already stored."""
    exists = read_rows(session, prepared("metric_of_window", lambda: select(IncidentMetric.id).where(
        IncidentMetric.incident_id == bindparam("incident_id"), IncidentMetric.window_end == bindparam("window_end"))),
                       {"incident_id": row["incident_id"], "window_end": row["window_end"]}).first()
    if exists is None:
        session.add(IncidentMetric(**row))


def last_activity(session: Session, incident: Incident) -> datetime:
    """Return when a rule last fired for the incident (or when it was detected): background
    complaints that join it do not keep it alive forever."""
    latest = read_rows(session, prepared("last_activity", lambda: select(func.max(DetectionHit.window_end)).where(
        DetectionHit.incident_id == bindparam("incident"), DetectionHit.mode == "enforce")),
                       {"incident": incident.id}).scalar()
    return max(latest, incident.detected_at) if latest else incident.detected_at


def holds_any(session: Session, incident: Incident, mention_ids: Sequence[int | None]) -> bool:
    """Tell whether the incident holds any of the mentions (ids; None is no mention)."""
    ids = [key for key in mention_ids if key is not None]
    return bool(ids) and session.scalar(select(Mention.id).where(
        Mention.id.in_(ids), Mention.incident_id == incident.id).limit(1)) is not None


def lookback(end: datetime, minutes: int) -> datetime:
    """Return the start of a window of `minutes` ending at `end`."""
    return end - timedelta(minutes=minutes)


def _seconds(values: list[datetime]) -> np.ndarray:
    return np.array([v.timestamp() for v in values], dtype=np.float64)


@dataclass(frozen=True)
class Dismissed:
    """An incident a responder closed as unfounded (谣言) or a false alarm (误报)."""

    key: str
    brand: str
    category: str
    resolution: str


def _dismissed_within(end: datetime, days: int, drill: bool) -> list[ColumnElement[bool]]:
    return _dismissed_between(end - timedelta(days=days), end, drill)


def _dismissed_between(since: object, end: object, drill: bool) -> list[ColumnElement[bool]]:
    """Conditions: closed as unfounded or a false alarm in (since, end] (times, or bindparams for them)."""
    return [Incident.resolution.is_not(None), Incident.is_drill.is_(drill), Incident.closed_at <= end,
            Incident.closed_at > since]


def take_dismissed_story(session: Session, incident: Incident, end: datetime, days: int) -> dict[str, int]:
    """Move the posts of the brand and category's incidents dismissed within `days` to `incident`, one a person
    opened by hand: the person overrules the dismissal, so the story counts again and its reposts join the
    new incident. Return {dismissed incident key: posts moved}; the dismissed incidents stay closed."""
    if days <= 0:
        return {}
    dismissed = dict(session.execute(select(Incident.id, Incident.key).where(
        *_dismissed_within(end, days, incident.is_drill), Incident.brand == incident.brand,
        Incident.category == incident.category, Incident.id != incident.id)).tuples().all())
    moved: dict[str, int] = {}
    for key, name in dismissed.items():
        n = session.execute(update(Mention).where(Mention.incident_id == key).values(incident_id=incident.id)).rowcount
        if n:
            moved[name] = n
    return moved


def dismissed_incidents(session: Session, end: datetime, days: int, drill: bool = False) -> dict[int, Dismissed]:
    """Return {incident id: incident} of the incidents closed as unfounded or a false alarm in the `days` before
    `end` (detection.toml's dismissed_days; real ones, or the drill's when `drill`). Their posts (those they hold),
    and the reposts and near-duplicates of them that keep coming, open nothing again."""
    if days <= 0:
        return {}
    dismissed = prepared(("dismissed", drill), lambda: select(
        Incident.id, Incident.key, Incident.brand, Incident.category, Incident.resolution).where(
            *_dismissed_between(bindparam("since"), bindparam("end"), drill)))
    return {key: Dismissed(name, brand, category, str(resolution)) for key, name, brand, category, resolution
            in read_rows(session, dismissed, {"end": end, "since": end - timedelta(days=days)})}


def outside_dismissed(end: datetime, days: int, drill: bool) -> list[ColumnElement[bool]]:
    """Return the conditions that leave out a story dismissed within `days` before `end` (dismissed_incidents): the
    posts its incident holds, and the reposts and near-duplicates of them (none when `days` is 0)."""
    if days <= 0:
        return []
    return [_story_of(select(Incident.id).where(*_dismissed_within(end, days, drill))).is_(None)]


def group_windows(session: Session, end: datetime, window_minutes: int, short_hours: int, long_days: int,
                  influencer_reach: int, drill: bool = False, ignored: Counter[Dismissed] | None = None,
                  dismissed_days: int = 0, unheld: set[Dismissed] | None = None) -> dict[tuple[str, str], GroupWindow]:
    """Return what detection needs per brand x category at `end`, over real mentions, or over the drill
    source's when `drill`: the negative mentions of the last day (or of the window and the short baseline, if
    longer) one by one, the others as counts per brand (window, short baseline, day), and the days of the long
    baseline as counts per day (one GROUP BY each, whatever their volume).

    A story dismissed within `dismissed_days` (see dismissed_incidents) is left out of the negative mentions, and
    so of every rule: a responder's 误报 is not raised again by the same posts and their reposts at the next
    scan. `ignored`, if given, counts per dismissed incident the negatives of the window left out, each post
    once whatever brands it names (0 for a story left out only before the window); `unheld`, if given, gets
    the dismissed incidents with a repost left out that they do not hold yet (theirs to take)."""
    window = window_minutes * 60
    oldest = end - timedelta(days=long_days + 1)  # the long baseline's first day, and the spreading posts'
    recent_since = end - timedelta(seconds=max(DAY_SECONDS, window + short_hours * 3600))
    anything = prepared(("any_mention", drill), lambda: select(Mention.id).where(
        Mention.is_drill.is_(drill), Mention.published_at <= bindparam("end"),
        Mention.published_at > bindparam("since")).limit(1))
    if read_rows(session, anything, {"end": end, "since": min(oldest, recent_since)}).first() is None:
        return {}  # nothing any part below reads: the drill pass of almost every scan (no drill running) ends here
    columns = (Mention.category, Mention.negative, Mention.reach, Mention.published_at, Mention.critical_terms,
               Mention.id, Mention.duplicate_of_id, Mention.reposts, Mention.claims)
    negatives = [Mention.is_drill.is_(drill), Mention.negative.is_(True), Mention.published_at > bindparam("since"),
                 Mention.published_at <= bindparam("end")]
    values = {"since": recent_since, "end": end}
    dismissed = dismissed_incidents(session, end, dismissed_days, drill)
    outside: list[ColumnElement[bool]] = []
    if dismissed:  # told apart in the database: a dismissed story of 100,000 posts is not read at every scan
        story = _story_of(list(dismissed))
        _left_out(session, story, dismissed, negatives, values, end - timedelta(seconds=window), ignored, unheld)
        outside.append(story.is_(None))
    rows = _with_other_brands(session, select(Mention.brand, *columns), select(MentionBrand.brand, *columns),
                              *negatives, *outside, params=values, key=None if outside else ("negatives", drill))
    # Column by column: a Row's attribute costs a Python call (25 ms a column at 33,000 rows, against 1 ms by
    # position), and a day holding a crisis of 30,000 reposts is 30,000 rows at every scan.
    brand_of, category_of, _, _, published, critical_of, id_of, duplicate_of, reposts_of, claims_of = (
        zip(*rows, strict=True) if rows else ((),) * 10)
    age = end.timestamp() - _seconds(published)  # seconds before `end`
    groups: dict[tuple[str, str], GroupWindow] = {}
    if rows:
        days = _day_counts(session, end, long_days, drill, outside)
        calm = _calm_counts(session, end, window, short_hours, drill)
        brands = np.array(brand_of, dtype=object)
        categories = np.array([c or OTHER_CATEGORY for c in category_of], dtype=object)
        saying = (np.array([bool(c) for c in critical_of], dtype=bool), np.array([bool(c) for c in claims_of], dtype=bool))
        for brand in sorted(set(brands)):
            _fill_brand(groups, rows, age, brands == brand, categories, saying, days.get(brand, {}),
                        calm.get(brand, (0, 0, 0)), brand, window, short_hours, long_days, influencer_reach)
    for key, posts in _spreading(session, (id_of, duplicate_of, reposts_of), age, window, end, oldest, drill,
                                 dismissed).items():
        if key in groups:
            groups[key].spreading = posts
        elif any(p.growth for p in posts):  # an older post spreading again, with no new mention stored
            groups[key] = GroupWindow(brand=key[0], category=key[1], spreading=posts)
    return groups


def _story_of(held: list[int] | Select[tuple[int]]) -> ColumnElement[int | None]:
    """Return the dismissed incident (of `held`) whose story a mention is: the one that holds it, or else the one
    that holds the post it repeats (duplicate_of_id, read by primary key); NULL for every other mention."""
    original = aliased(Mention)
    repeated = (select(original.incident_id).where(original.id == Mention.duplicate_of_id, original.incident_id.in_(held))
                .scalar_subquery())
    return case((Mention.incident_id.in_(held), Mention.incident_id), else_=repeated)


def _left_out(session: Session, story: ColumnElement[int | None], dismissed: dict[int, Dismissed],
              negatives: Sequence[ColumnElement[bool]], values: dict[str, object], window_start: datetime,
              ignored: Counter[Dismissed] | None, unheld: set[Dismissed] | None) -> None:
    """Count per dismissed story its negatives left out in the window (`ignored`, each post once whatever brands it
    names), and name the stories with a post their incident does not hold yet (`unheld`); `values` fill the
    bindparams of `negatives`."""
    posts = (select(story.label("story"), Mention.published_at, Mention.incident_id)
             .where(Mention.brand.is_not(None), *negatives).subquery())
    counts = select(posts.c.story, func.sum(case((posts.c.published_at > window_start, 1), else_=0)),
                    func.sum(case((posts.c.incident_id.is_(None) | posts.c.incident_id.not_in(list(dismissed)), 1),
                                  else_=0))).where(posts.c.story.is_not(None)).group_by(posts.c.story)
    for key, in_window, not_held in read_rows(session, counts, values):
        if ignored is not None:
            ignored[dismissed[key]] += int(in_window or 0)
        if unheld is not None and not_held:
            unheld.add(dismissed[key])


def _calm_counts(session: Session, end: datetime, window: int, short_hours: int,
                 drill: bool) -> dict[str, tuple[int, int, int]]:
    """Return per brand how many of its mentions that are not negative were published in the window, in the
    short baseline before it, and in the last day (the denominators of the negative shares)."""
    window_since = end - timedelta(seconds=window)
    short_since = window_since - timedelta(hours=short_hours)
    day_since = end - timedelta(seconds=DAY_SECONDS)
    published = Mention.published_at
    window_at, short_at, day_at = bindparam("window_since"), bindparam("short_since"), bindparam("day_since")
    buckets = (func.sum(case((published > window_at, 1), else_=0)),
               func.sum(case(((published <= window_at) & (published > short_at), 1), else_=0)),
               func.sum(case((published > day_at, 1), else_=0)))
    values = {"window_since": window_since, "short_since": short_since, "day_since": day_since,
              "since": min(short_since, day_since), "end": end}
    counts: dict[str, tuple[int, int, int]] = {}
    for brand, *found in _counted_per_brand(session, (), buckets, Mention.is_drill.is_(drill),
                                            Mention.negative.is_(False), published > bindparam("since"),
                                            published <= bindparam("end"), params=values, key=("calm", drill)):
        counts[brand] = tuple(a + int(b or 0) for a, b in zip(counts.get(brand, (0, 0, 0)), found, strict=True))  # type: ignore[assignment]
    return counts


def _counted_per_brand(session: Session, keys: Sequence[ColumnElement[object]], counts: Sequence[ColumnElement[object]],
                       *where: ColumnElement[bool], params: dict[str, object] | None = None,
                       key: Hashable = None) -> list[Row]:  # type: ignore[type-arg]
    """Return (brand, *keys, *counts) grouped by brand and keys, a mention counted under its first brand and under
    each other brand it names (MentionBrand), as _with_other_brands lists them one by one. `params` and `key` as
    there: with a `key`, the statements are built once."""
    def build() -> list[Select]:  # type: ignore[type-arg]
        first = select(Mention.brand, *keys, *counts).where(Mention.brand.is_not(None), *where)
        other = (select(MentionBrand.brand, *keys, *counts).join(Mention, Mention.id == MentionBrand.mention_id)
                 .where(*where))
        return [query.group_by(*query.selected_columns[:1 + len(keys)]) for query in (first, other)]

    statements = prepared(key, build)
    return [row for query in statements for row in read_rows(session, query, params).all()]


# brand -> (category or None, negative) -> mentions per day of the long baseline (index d: published in
# (end - (d + 2) days, end - (d + 1) days])
DayCounts = dict[str, dict[tuple[str | None, bool], np.ndarray]]


def _day_counts(session: Session, end: datetime, long_days: int, drill: bool,
                outside: Sequence[ColumnElement[bool]] = ()) -> DayCounts:
    """Return the long baseline's mentions per brand, category, polarity and day before the last one (`outside`:
    conditions leaving out a dismissed story, which the window leaves out too: a 误报 of a thousand posts last
    week must not raise the bar the next real complaint has to pass)."""
    values = {f"day{k}": end - timedelta(days=k) for k in range(long_days + 2)}  # day{k}: k days before `end`
    bounds = [bindparam(name) for name in values]
    day = case(*((Mention.published_at > bounds[d + 2], d) for d in range(long_days)))
    counts: DayCounts = {}
    for brand, category, negative, d, n in _counted_per_brand(
            session, (Mention.category, Mention.negative, day), (func.count(),), Mention.is_drill.is_(drill),
            Mention.published_at > bounds[long_days + 1], Mention.published_at <= bounds[1], *outside,
            params=values, key=None if outside else ("days", long_days, drill)):
        per = counts.setdefault(brand, {}).setdefault((category or None, bool(negative)), np.zeros(long_days, int))
        per[d] += n
    return counts


def _repost_growth(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Return {mention id: reposts gained} of the posts whose platform-reported repost count rose between the
    last read before `start` and a read in (start, end] (a post first read in the window has no growth)."""
    latest = dict(read_rows(session, prepared("latest_reposts", lambda: select(
        EngagementRead.mention_id, func.max(EngagementRead.reposts)).where(
            EngagementRead.read_at > bindparam("start"), EngagementRead.read_at <= bindparam("end"),
            EngagementRead.reposts.is_not(None)).group_by(EngagementRead.mention_id)),
        {"start": start, "end": end}).tuples().all())
    before: dict[int, tuple[datetime, int]] = {}
    ids = sorted(latest)
    for first in range(0, len(ids), 2000):
        for key, read_at, reposts in session.execute(
                select(EngagementRead.mention_id, EngagementRead.read_at, EngagementRead.reposts)
                .where(EngagementRead.mention_id.in_(ids[first : first + 2000]), EngagementRead.read_at <= start,
                       EngagementRead.reposts.is_not(None))):
            if key not in before or read_at > before[key][0]:
                before[key] = (read_at, reposts)
    return {key: count - before[key][1] for key, count in latest.items() if key in before and count > before[key][1]}


def _spreading(session: Session, negatives: tuple[Sequence[int], Sequence[int | None], Sequence[int | None]],
               age: np.ndarray, window: int, end: datetime, since: datetime, drill: bool,
               dismissed: Collection[int]) -> dict[tuple[str, str], list[SpreadingPost]]:
    """Return per brand x category its negative originals that spread most: counted by their negative
    reposts (and near-duplicates) published in the window, or by the repost count their platform reported
    when published within the last day (a debunking repost is not negative, so it does not count), or by the
    reposts gained between two reads by a negative original published since `since`. `negatives` are the
    window's negative rows (group_windows), as columns: id, duplicate_of_id, reposts; `age` their seconds before
    `end`."""
    ids_of, duplicate_of, reposts_of = negatives
    in_window, seen = (age < window).tolist(), set()
    linked: Counter[int] = Counter()
    reported: list[tuple[int, int]] = []
    for i in np.flatnonzero(age < DAY_SECONDS).tolist():  # each post of the last day once, in order
        key = ids_of[i]  # (a post naming two brands is two rows)
        if key in seen:
            continue
        seen.add(key)
        if duplicate_of[i]:
            if in_window[i]:
                linked[duplicate_of[i]] += 1  # type: ignore[index]
        elif reposts_of[i]:
            reported.append((reposts_of[i], key))  # type: ignore[arg-type]
    reported.sort(reverse=True)
    ids = {key for key, _ in linked.most_common(SPREADING_CANDIDATES)}
    ids |= {key for _, key in reported[:SPREADING_CANDIDATES]}
    growth = _repost_growth(session, end - timedelta(seconds=window), end)
    if growth:
        negative_originals = set(session.scalars(select(Mention.id).where(
            Mention.id.in_(growth), Mention.negative.is_(True), Mention.duplicate_of_id.is_(None),
            Mention.brand.is_not(None), Mention.is_drill.is_(drill), Mention.published_at > since,
            Mention.published_at <= end,
            *([or_(Mention.incident_id.is_(None), Mention.incident_id.not_in(list(dismissed)))] if dismissed else ()))))
        grown = sorted(((n, key) for key, n in growth.items() if key in negative_originals), reverse=True)
        ids |= {key for _, key in grown[:SPREADING_CANDIDATES]}
    if not ids:
        return {}
    originals = session.execute(
        select(Mention.id, Mention.external_id, Mention.text, Mention.reach, Mention.brand, Mention.category,
               Mention.published_at, Mention.reposts)
        .where(Mention.id.in_(ids), Mention.negative.is_(True), Mention.brand.is_not(None),
               Mention.duplicate_of_id.is_(None)))
    others: dict[int, list[str]] = {}
    for key, brand in session.execute(select(MentionBrand.mention_id, MentionBrand.brand)
                                      .where(MentionBrand.mention_id.in_(ids))):
        others.setdefault(key, []).append(brand)
    groups: dict[tuple[str, str], list[SpreadingPost]] = {}
    for key, external_id, text, reach, brand, category, published, count in originals:
        fresh = (end - published).total_seconds() < DAY_SECONDS
        for named in (brand, *others.get(key, ())):
            groups.setdefault((named, category or OTHER_CATEGORY), []).append(SpreadingPost(
                external_id, " ".join(text.split())[:30], reach, linked.get(key, 0), count if fresh else None,
                growth.get(key), key))
    return {k: sorted(v, key=lambda p: -p.spread)[:SPREADING_KEPT] for k, v in groups.items()}


def _fill_brand(groups, rows, age, mine, categories, saying, days, calm, brand,  # type: ignore[no-untyped-def]
                window, short_hours, long_days, influencer_reach) -> None:
    """Add the brand's groups: `rows` are negative mentions (`mine` those of the brand, `saying` those carrying a
    critical term and those making a claim), `calm` the brand's other mentions in the window, the short baseline
    and the day."""
    in_window, in_short = mine & (age < window), mine & (age >= window) & (age < window + short_hours * 3600)
    in_day = mine & (age < DAY_SECONDS)
    negatives = (int(in_window.sum()), int(in_short.sum()), int(in_day.sum()))
    days_total = sum(days.values(), np.zeros(long_days, int))
    days_negative = sum((n for (_, neg), n in days.items() if neg), np.zeros(long_days, int))
    shares = tuple(float(n) / (n + other) if n + other else 0.0 for n, other in zip(negatives, calm, strict=True)) + (
        float(days_negative.sum()) / int(days_total.sum()) if days_total.sum() else 0.0,)
    observed = np.flatnonzero(days_total).tolist()  # days the brand was watched
    for category in sorted(set(categories[mine])):
        own = mine & (categories == category)
        g = GroupWindow(brand=brand, category=category, brand_volume=negatives[0] + calm[0],
                        brand_negative=negatives[0], baseline_share=shares[1],
                        day_share=shares[2], day_baseline_share=shares[3])
        windows = short_hours * 3600 // window
        bins = ((age[own & in_short] - window) // window).astype(int)
        g.baseline_counts = np.bincount(bins, minlength=windows)[:windows].tolist()
        for counts, said in zip((g.critical, g.claims), saying, strict=True):
            bins = ((age[own & in_short & said] - window) // window).astype(int)
            counts.baseline = np.bincount(bins, minlength=windows)[:windows].tolist()
        g.day_negative = int((own & in_day).sum())
        counts = sum((n for (c, neg), n in days.items() if neg and (c or OTHER_CATEGORY) == category),
                     np.zeros(long_days, int))
        g.day_baseline = [int(counts[d]) for d in observed] if len(observed) >= 3 else []
        _window_details(g, [rows[i] for i in np.flatnonzero(own & in_window)], influencer_reach)
        if g.negative or g.day_negative:
            groups[(brand, category)] = g


def _window_details(g: GroupWindow, rows: list, influencer_reach: int) -> None:  # type: ignore[type-arg]
    g.negative = len(rows)
    g.negative_reach = sum(r.reach * (2 if r.reach >= influencer_reach else 1) for r in rows)
    g.top_reach = max((r.reach for r in rows), default=0)
    g.first_negative_at = min((r.published_at for r in rows), default=None)
    for r in rows:
        g.critical.add(r.critical_terms, r.duplicate_of_id is not None)
        g.claims.add(r.claims, r.duplicate_of_id is not None)
