"""SQL of the scan: mentions with their duplicate and repost links and engagement counts, each source's
progress and health, drop files read; the backfill's re-analysis of stored mentions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Row, Select, Table, bindparam, case, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates, prepared, read_rows, sqlite_insert_ignoring_duplicates
from tasks.models import EngagementRead, Mention, MentionBrand, ProcessedFile, SourceHealth, SourceState
from tasks.monitoring.duplicates import Fingerprint, Reading, RepostPair, hex_bands, link_duplicates
from tasks.monitoring.health import SourceOutcome, next_health
from tasks.monitoring.sources import FileMark, SourceProgress
from tasks.monitoring.sources_files import DropFile

CHUNK = 2000
# A mention row's key for the other watched brands it names beyond `brand`: [(brand, product or None), …].
ALSO_BRANDS = "also_brands"
# Bound on the earlier originals a batch is compared with (the newest first).
RECENT_LIMIT = 50_000
# A batch of up to this many branded posts reads only the originals sharing a content hash or a SimHash band with
# one of them (5 bound values a post); a larger one reads every original of its brands and window.
SHARED_BANDS_UP_TO = 1000


def store_new_mentions(session: Session, rows: Sequence[dict[str, object]], window: timedelta) -> tuple[int, int]:
    """Insert the rows not stored before (unique source + external id; a key's first row is the one kept), with
    the other watched brands each names (a row's ALSO_BRANDS: [(brand, product), …]), each new branded mention
    that repeats an earlier one or a fellow new one within `window` pointing at that original
    (duplicates.link_duplicates). Engagement counts of stored mentions read again higher are raised first
    (raise_engagement). Return (inserted, linked)."""
    first = {(r["source"], r["external_id"]): r for r in reversed(rows)}  # the first row of a key is the one inserted
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite reads which rows are stored once, for both steps; PostgreSQL only those with counts (its insert
    # tells which rows were new by RETURNING).
    stored = _stored_counts(session, list(first.values())) if sqlite else None
    raise_engagement(session, rows, stored)
    earlier = recent_originals(session, rows, window)
    also = {(r["source"], r["external_id"]): r[ALSO_BRANDS] for r in rows if r.get(ALSO_BRANDS)}
    counted = {(r["source"], r["external_id"]): _read_of(r) for r in rows
               if r.get("fetched_at") is not None and any(r.get(name) is not None for name in _COUNTS)}
    if stored is not None:
        keys, links = _sqlite_insert_linked(session, rows, set(stored), earlier, window)
    else:
        keys, links = _insert_then_link(session, rows, first, earlier, window)
    inserted = 0
    extra: list[dict[str, object]] = []
    reads: list[dict[str, object]] = []
    for key, source, external_id in keys:
        inserted += 1
        extra.extend({"mention_id": key, "brand": b, "product": p}
                     for b, p in also.get((source, external_id), ()))  # type: ignore[attr-defined]
        if (source, external_id) in counted:
            reads.append({"mention_id": key, **counted[(source, external_id)]})
    if extra:
        session.execute(insert_ignoring_duplicates(MentionBrand), extra)
    _record_reads(session, reads)
    return inserted, len(links)


def _fingerprint(key: int, row: dict[str, object]) -> Fingerprint:
    return Fingerprint(key, row["brand"], row["content_hash"], int(row["simhash"], 16),  # type: ignore[arg-type, call-overload]
                       row["published_at"])  # type: ignore[arg-type]


def _without_also(rows: Sequence[dict[str, object]]) -> Sequence[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != ALSO_BRANDS} if ALSO_BRANDS in r else r for r in rows]


_LARGEST_ID = select(func.max(Mention.__table__.c.id))
_DEFER_FOREIGN_KEYS = text("PRAGMA defer_foreign_keys = ON")


def _sqlite_insert_linked(session: Session, rows: Sequence[dict[str, object]], seen: set[tuple[object, object]],
                          earlier: list[Fingerprint], window: timedelta) -> tuple[list[tuple[int, str, str]], dict[int, int]]:
    """SQLite: give each row to insert its id before inserting it, so its duplicate link goes in with the row
    rather than in an UPDATE after (100,000 generated mentions, 26,656 links: 1.2-1.7 s of a 7 s store). The
    session's BEGIN IMMEDIATE holds SQLite's one write lock from the first statement: the rows not stored yet stay
    so until this insert, and the ids above the largest one before are free. `seen`: the keys stored already."""
    table = Mention.__table__
    fresh = []  # the first row of each key not stored, in the batch's order
    for row in rows:
        key = (row["source"], row["external_id"])
        if key not in seen:
            seen.add(key)
            fresh.append(row)
    before = read_rows(session, _LARGEST_ID).scalar() or 0
    ids = range(before + 1, before + 1 + len(fresh))
    links = link_duplicates(earlier, [_fingerprint(i, row) for i, row in zip(ids, fresh, strict=True)
                                      if row["brand"] is not None], window=window)
    # An original may come later in the batch than its duplicate (a file is not always in order of publication):
    # its foreign key is checked at commit, once every row is in (SQLite ends the deferral with the transaction).
    session.execute(_DEFER_FOREIGN_KEYS)
    inserted = 0
    for start in range(0, len(fresh), CHUNK):
        part = ids[start : start + CHUNK]
        inserted += sqlite_insert_ignoring_duplicates(session, table, _without_also(fresh[start : start + CHUNK]),
                                                      {"id": part, "duplicate_of_id": [links.get(i) for i in part]})
    if inserted != len(fresh):  # never seen: the write lock keeps every other writer out
        raise RuntimeError(f"提及入库：应新增 {len(fresh)} 条，实际 {inserted} 条；本批未提交")
    keys = [(i, str(row["source"]), str(row["external_id"])) for i, row in zip(ids, fresh, strict=True)]
    return keys, links


def _insert_then_link(session: Session, rows: Sequence[dict[str, object]], first: dict[tuple[object, object], dict[str, object]],
                      earlier: list[Fingerprint], window: timedelta) -> tuple[list[tuple[int, str, str]], dict[int, int]]:
    """PostgreSQL: insert (RETURNING the new rows' ids: another scan may insert at the same time), then point the
    duplicates at their originals."""
    table = Mention.__table__
    # Core, not the ORM entity: the ORM's bulk INSERT … RETURNING compiles a statement per few rows (~20× slower).
    statement = insert_ignoring_duplicates(table).returning(table.c.id, table.c.source, table.c.external_id)
    keys = [tuple(key) for start in range(0, len(rows), CHUNK)
            for key in session.execute(statement, _without_also(rows[start : start + CHUNK]))]
    links = link_duplicates(earlier, [_fingerprint(key, first[(source, external_id)]) for key, source, external_id in keys
                                      if first[(source, external_id)]["brand"] is not None], window=window)
    _link(session, links)
    return keys, links  # type: ignore[return-value]


def _read_of(row: dict[str, object]) -> dict[str, object]:
    return {"read_at": row["fetched_at"], **{name: row.get(name) for name in _COUNTS}}


def _record_reads(session: Session, reads: list[dict[str, object]]) -> None:
    """Store engagement reads (a read already stored for that post and time stays as it was)."""
    for start in range(0, len(reads), CHUNK):
        session.execute(insert_ignoring_duplicates(EngagementRead), reads[start : start + CHUNK])


def recent_originals(session: Session, rows: Sequence[dict[str, object]], window: timedelta) -> list[Fingerprint]:
    """Return stored originals of the rows' brands published within `window` of them (call before inserting)."""
    branded = [r for r in rows if r.get("brand") is not None]
    if not branded:
        return []
    times = [r["published_at"] for r in branded]
    drill = bool(branded[0].get("is_drill", False))  # a batch is all drill or all real; never linked across
    query = (select(Mention.id, Mention.brand, Mention.content_hash, Mention.simhash, Mention.published_at)
             .where(Mention.brand.in_({r["brand"] for r in branded}), Mention.is_drill.is_(drill),
                    Mention.published_at >= min(times) - window,  # type: ignore[type-var, operator]
                    Mention.published_at <= max(times) + window,  # type: ignore[type-var, operator]
                    Mention.duplicate_of_id.is_(None))
             .order_by(Mention.published_at.desc()).limit(RECENT_LIMIT))
    bands = hex_bands()
    if len(branded) <= SHARED_BANDS_UP_TO and bands is not None:
        # Only the originals link_duplicates could match: the same content hash, or a SimHash band in common (the
        # database compares the stored hex digits). A scan of a few new posts then reads a few rows, not two days'.
        query = query.where(or_(
            Mention.content_hash.in_({r["content_hash"] for r in branded}),
            *(func.substr(Mention.simhash, start, length).in_({str(r["simhash"])[start - 1:start - 1 + length]
                                                              for r in branded})
              for start, length in bands)))
    return [Fingerprint(k, b, c, int(s, 16), p) for k, b, c, s, p in session.execute(query)]


def _link(session: Session, links: dict[int, int]) -> None:
    """Point each duplicate at its original (one executemany UPDATE by primary key)."""
    table = Mention.__table__
    statement = (update(table).where(table.c.id == bindparam("mention_id"))
                 .values(duplicate_of_id=bindparam("original_id")))
    pairs = [{"mention_id": key, "original_id": original} for key, original in links.items()]
    for start in range(0, len(pairs), CHUNK):
        session.execute(statement, pairs[start : start + CHUNK])


_COUNTS = ("reposts", "comments", "likes")


def raise_engagement(session: Session, rows: Sequence[dict[str, object]],
                     stored: dict[tuple[object, object], tuple] | None = None) -> None:  # type: ignore[type-arg]
    """Raise the stored engagement counts of mentions read again with higher ones (never lower them; the
    text and analysis stay as first stored). Only rows already stored are updated: a batch of new posts
    costs one SELECT per chunk, not an UPDATE per row (none when `stored`, _stored_counts of the rows, is given)."""
    table = Mention.__table__
    counted = [r for r in rows if any(r.get(name) is not None for name in _COUNTS)]
    if stored is None:
        stored = _stored_counts(session, counted)
    params = [{"s": r["source"], "e": r["external_id"], **{f"new_{name}": r.get(name) for name in _COUNTS}}
              for r in counted if (r["source"], r["external_id"]) in stored]
    if not params:
        return
    _record_reads(session, [
        {"mention_id": stored[key][0], **_read_of(r)} for r in counted
        if (key := (r["source"], r["external_id"])) in stored and r.get("fetched_at") is not None
        and any(r.get(name) is not None and r[name] > (old if old is not None else -1)  # type: ignore[operator]
                for name, old in zip(_COUNTS, stored[key][1:], strict=True))])
    higher = {name: func.coalesce(table.c[name], -1) < bindparam(f"new_{name}") for name in _COUNTS}
    statement = (update(table)
                 .where(table.c.source == bindparam("s"), table.c.external_id == bindparam("e"), or_(*higher.values()))
                 .values({name: case((higher[name], bindparam(f"new_{name}")), else_=table.c[name])
                          for name in _COUNTS}))
    for start in range(0, len(params), CHUNK):
        session.execute(statement, params[start : start + CHUNK])


def _stored_counts(session: Session, rows: Sequence[dict[str, object]]) -> dict[tuple[object, object], tuple]:  # type: ignore[type-arg]
    """Return {(source, external_id): (id, reposts, comments, likes)} of the rows that are already stored."""
    by_source: dict[object, list[object]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row["external_id"])
    found: dict[tuple[object, object], tuple] = {}  # type: ignore[type-arg]
    stored = prepared("stored_counts", lambda: select(
        Mention.external_id, Mention.id, Mention.reposts, Mention.comments, Mention.likes).where(
            Mention.source == bindparam("source"), Mention.external_id.in_(bindparam("ids", expanding=True))))
    for source, ids in by_source.items():
        for start in range(0, len(ids), CHUNK):
            for external_id, *values in read_rows(session, stored, {"source": source, "ids": ids[start : start + CHUNK]}):
                found[(source, external_id)] = tuple(values)
    return found


def sources_with_reposts(session: Session, sources: set[str]) -> list[str]:
    """Return which of `sources` have any stored mention that reposts another (uses the repost index)."""
    reposting = prepared("source_reposts", lambda: select(Mention.id).where(
        Mention.source == bindparam("source"), Mention.repost_of.is_not(None)).limit(1))
    return sorted(s for s in sources if read_rows(session, reposting, {"source": s}).first() is not None)


@cache
def _repost_pair_query() -> tuple[Select, Table, Table]:  # type: ignore[type-arg]
    """The pairs' SELECT (repost `r` joined to its stored original `o`), built once: building it from ORM aliases
    took 3 ms a call, more than running it (a replayed event stores a batch at each of its scans)."""
    r, o = Mention.__table__.alias("r"), Mention.__table__.alias("o")
    query = (select(r.c.id, r.c.external_id, r.c.brand, r.c.product, r.c.category, r.c.negative, r.c.sentiment,
                    r.c.debunk, r.c.duplicate_of_id, o.c.id, o.c.brand, o.c.product, o.c.category, o.c.negative,
                    o.c.sentiment, o.c.duplicate_of_id, r.c.critical_terms, o.c.critical_terms, r.c.claims, o.c.claims)
             .join_from(r, o, (o.c.source == r.c.source) & (o.c.external_id == r.c.repost_of)))
    return query, r, o  # type: ignore[return-value]


def repost_pairs(session: Session, source: str, reposts: Sequence[str], originals: Sequence[str]) -> list[RepostPair]:
    """Return the stored reposts of `source` among the external ids `reposts`, and those reposting one of
    `originals`, each with its stored original (a repost whose original is not stored yet is left out)."""
    query, r, _ = _repost_pair_query()
    query = query.where(r.c.source == source)
    found: dict[int, RepostPair] = {}
    for column, keys in ((r.c.external_id, reposts), (r.c.repost_of, originals)):
        for start in range(0, len(keys), CHUNK):
            for row in session.execute(query.where(column.in_(keys[start : start + CHUNK]))):
                found[row[0]] = RepostPair(row[0], row[1], Reading(*row[2:7], row[16] or "", row[18] or ""),
                                           bool(row[7]), row[8], row[9],
                                           Reading(*row[10:15], row[17] or "", row[19] or ""), row[15])
    return list(found.values())


def apply_spread(session: Session, changes: dict[int, tuple[Reading, int]]) -> None:
    """Write what each repost counts for and link it to its original; mentions that pointed at the repost
    point at that original instead (a link always names the first post)."""
    table = Mention.__table__
    statement = update(table).where(table.c.id == bindparam("rid")).values(
        brand=bindparam("b"), product=bindparam("p"), category=bindparam("c"), negative=bindparam("n"),
        sentiment=bindparam("sv"), critical_terms=bindparam("ct"), claims=bindparam("cl"),
        duplicate_of_id=bindparam("target"))
    repoint = (update(table).where(table.c.duplicate_of_id == bindparam("rid"), table.c.id != bindparam("target"))
               .values(duplicate_of_id=bindparam("target")))
    params = [{"rid": key, "b": reading.brand, "p": reading.product, "c": reading.category, "n": reading.negative,
               "sv": reading.sentiment, "ct": reading.critical_terms, "cl": reading.claims, "target": target}
              for key, (reading, target) in changes.items()]
    for start in range(0, len(params), CHUNK):
        session.execute(statement, params[start : start + CHUNK])
        session.execute(repoint, [{"rid": p["rid"], "target": p["target"]} for p in params[start : start + CHUNK]])
    _inherit_brands(session, {key: target for key, (reading, target) in changes.items()
                              if target is not None and reading.brand is not None})


def _inherit_brands(session: Session, targets: dict[int, int]) -> None:
    """Give each repost the other watched brands its original names (a repost of a list is about each)."""
    originals = sorted(set(targets.values()))
    names: dict[int, list[tuple[str, str | None]]] = {}
    for start in range(0, len(originals), CHUNK):
        for key, brand, product in session.execute(select(MentionBrand.mention_id, MentionBrand.brand,
                                                          MentionBrand.product)
                                                   .where(MentionBrand.mention_id.in_(originals[start : start + CHUNK]))):
            names.setdefault(key, []).append((brand, product))
    rows = [{"mention_id": repost, "brand": brand, "product": product}
            for repost, original in targets.items() for brand, product in names.get(original, ())]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert_ignoring_duplicates(MentionBrand), rows[start : start + CHUNK])


def load_progress(session: Session, source: str) -> SourceProgress | None:
    """Return where the source's last scan left off, if it ever ran."""
    state = session.get(SourceState, source)
    if state is None:
        return None
    return SourceProgress(state.cursor, state.watermark, state.etag, state.last_modified)


def save_progress(session: Session, source: str, progress: SourceProgress, now: datetime) -> None:
    """Keep where the source's next scan starts."""
    state = session.get(SourceState, source) or SourceState(source=source)
    state.cursor, state.watermark = progress.cursor, progress.watermark
    state.etag, state.last_modified, state.updated_at = progress.etag, progress.last_modified, now
    session.add(state)


def files_already_read(session: Session, source: str, files: Sequence[DropFile]) -> set[str]:
    """Return the paths among `files` read before: same path, size and mtime, or the same content."""
    if not files:
        return set()
    known = set(session.execute(
        select(ProcessedFile.path, ProcessedFile.size, ProcessedFile.mtime_ns)
        .where(ProcessedFile.source == source, ProcessedFile.path.in_([str(f.path) for f in files]))).tuples())
    done = {str(f.path) for f in files if (str(f.path), f.size, f.mtime_ns) in known}
    rest = [f for f in files if str(f.path) not in done]
    if rest:
        seen = set(session.scalars(select(ProcessedFile.sha256).where(
            ProcessedFile.source == source, ProcessedFile.sha256.in_([f.sha256 for f in rest]))))
        done |= {str(f.path) for f in rest if f.sha256 in seen}
    return done


def record_files(session: Session, source: str, marks: Sequence[FileMark], now: datetime) -> None:
    """Record drop files as read (a file already recorded stays as it was)."""
    rows = [{"source": source, "path": m.path, "size": m.size, "mtime_ns": m.mtime_ns, "sha256": m.sha256,
             "mentions": m.mentions, "problems": m.problems, "processed_at": now} for m in marks]
    if rows:
        session.execute(insert_ignoring_duplicates(ProcessedFile), rows)


_HEALTH = ("kind", "status", "last_run_at", "last_success_at", "last_error", "last_error_at",
           "consecutive_failures", "last_count", "last_problems")


def _as_dict(row: SourceHealth) -> dict[str, object]:
    return {name: getattr(row, name) for name in _HEALTH}


def record_health(session: Session, outcome: SourceOutcome, now: datetime) -> None:
    """Update the source's health with this scan's outcome."""
    row = session.get(SourceHealth, outcome.source)
    values = next_health(_as_dict(row) if row else None, outcome, now)
    row = row or SourceHealth(source=outcome.source)
    for name in _HEALTH:
        setattr(row, name, values[name])
    session.add(row)


def stored_health(session: Session) -> dict[str, dict[str, object]]:
    """Return every source's stored health by name."""
    return {row.source: _as_dict(row) for row in session.scalars(select(SourceHealth))}


def mention_ids_published(session: Session, since: datetime, until: datetime) -> list[int]:
    """Return the ids of the mentions published in [since, until], in id order."""
    return list(session.scalars(select(Mention.id).where(Mention.published_at >= since, Mention.published_at <= until)
                                .order_by(Mention.id)))


def mention_texts(session: Session, first_id: int, last_id: int, since: datetime,
                  until: datetime) -> list[Row[tuple[int, str, str, str, str | None]]]:
    """Return (id, text, source, external_id, repost_of) of the mentions with ids in [first_id, last_id]
    published in [since, until]."""
    return list(session.execute(select(Mention.id, Mention.text, Mention.source, Mention.external_id,
                                       Mention.repost_of).where(
        Mention.id.between(first_id, last_id), Mention.published_at >= since, Mention.published_at <= until)).all())


def store_analysis(session: Session, values: list[dict[str, object]]) -> None:
    """Overwrite the analysis columns of mentions by id (one executemany UPDATE; keys: mid, sentiment,
    negative, category, brand, product, critical_terms, claims, debunk) and the other brands each names
    (ALSO_BRANDS), replacing those stored."""
    table = Mention.__table__
    statement = update(table).where(table.c.id == bindparam("mid")).values(
        sentiment=bindparam("sentiment"), negative=bindparam("negative"), category=bindparam("category"),
        brand=bindparam("brand"), product=bindparam("product"), critical_terms=bindparam("critical_terms"),
        claims=bindparam("claims"), debunk=bindparam("debunk"))
    if not values:
        return
    session.connection().execute(statement, [{k: v for k, v in row.items() if k != ALSO_BRANDS} for row in values])
    ids = [row["mid"] for row in values]
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(MentionBrand).where(MentionBrand.mention_id.in_(ids[start : start + CHUNK])))
    extra = [{"mention_id": row["mid"], "brand": b, "product": p}
             for row in values for b, p in row.get(ALSO_BRANDS) or ()]  # type: ignore[attr-defined]
    for start in range(0, len(extra), CHUNK):
        session.execute(insert_ignoring_duplicates(MentionBrand), extra[start : start + CHUNK])
