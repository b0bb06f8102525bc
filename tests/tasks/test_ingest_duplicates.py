"""Storing links reposts and near-duplicates to the earlier mention they repeat (content hash + SimHash,
same brand, 48 h), across batches and within one; a re-store changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import event, select

from tasks.db import session_scope
from tasks.models import Mention
from tasks.monitoring import repository
from tasks.monitoring.sources import RawMention
from tasks.monitoring.tasks import analyse_mentions, store_mentions
from tasks.triage.repository import attach_reposts

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
POST = ("上周在旗舰店买的澄星空气炸锅，用了两天就坏了，加热的时候一直冒黑烟，还有一股塑料烧焦的味道，联系客服三次都"
        "没有人处理，只会让我等通知，大家千万别买，太失望了，已经向消费者协会投诉")
NEW = ("澄星官方客服今天终于回电话了，说这一批次的空气炸锅温控元件有问题，可以免费换新，但是要自己寄回去，运费还得先"
       "垫付，处理周期大概两周，感觉诚意不够")
OTHER = ("青禾牛奶这次的新包装很好看，味道也比以前浓一些，早餐配面包刚刚好，孩子很喜欢喝，会继续回购，"
         "希望价格能再实惠一点，超市里经常缺货")


def _store(*mentions: tuple[str, str, str, timedelta]) -> int:
    raw = [RawMention(source=source, external_id=ident, text=text, published_at=NOW + offset)
           for source, ident, text, offset in mentions]
    with disable_run_logger():
        return store_mentions.fn(analyse_mentions.fn(raw, NOW))


def _links() -> dict[str, str | None]:
    with session_scope() as session:
        rows = session.execute(select(Mention.id, Mention.external_id, Mention.duplicate_of_id)).all()
    names = {key: ident for key, ident, _ in rows}
    return {ident: names.get(dup) if dup else None for _, ident, dup in rows}


# A small batch asks the database only for the originals sharing a content hash or a SimHash band with its posts
# (repository.SHARED_BANDS_UP_TO); a large one reads every recent original. Both must link alike.
@pytest.mark.parametrize("shared_bands_up_to", [1000, 0], ids=["few-new-posts", "many-new-posts"])
def test_reposts_and_near_duplicates_are_linked_to_the_original(
        database: str, shared_bands_up_to: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "SHARED_BANDS_UP_TO", shared_bands_up_to)
    assert _store(("weibo", "a1", POST, timedelta(hours=-5)), ("weibo", "a2", OTHER, timedelta(hours=-5))) == 2
    second = (
        ("douyin", "b1", POST, timedelta(hours=-1)),  # the same text elsewhere: same content hash
        ("weibo", "b2", "//@小王: " + POST, timedelta(hours=-2)),  # a repost with a comment: SimHash 2 bits off
        ("weibo", "b3", POST + " #避雷#", timedelta(hours=-2)),  # 5 bits off: counted as its own post
        ("weibo", "b4", POST, timedelta(days=3)),  # the same text 3 days on: a new wave, not a repost
        ("weibo", "c1", NEW, timedelta(minutes=-30)),  # new in this batch…
        ("weibo", "c2", NEW + "！", timedelta(minutes=-10)),  # …and repeated in it (3 bits off)
        ("weibo", "c3", "转发 " + NEW, timedelta(minutes=-10)),  # 4 bits off: its own post
    )
    assert _store(*second) == 7
    links = _links()
    assert links == {"a1": None, "a2": None, "b1": "a1", "b2": "a1", "b3": None, "b4": None, "c1": None,
                     "c2": "c1", "c3": None}
    assert _store(*second) == 0
    assert _links() == links, "a re-store links nothing anew"
    # A batch of one stored post and a new repeat of it: only the new one is stored, and linked to the stored one.
    assert _store(("weibo", "c1", NEW, timedelta(minutes=-30)), ("weibo", "d1", NEW, timedelta(minutes=-5))) == 1
    assert _links() == {**links, "d1": "c1"}


def test_a_repeat_before_its_original_in_the_batch_is_linked_and_stored_rows_keep_their_ids(database: str) -> None:
    """An export is not always in order of publication: a repeat may come first in the file and its original after
    it. A stored post read again and a key twice in the batch are stored once; the new rows' links are right."""
    assert _store(("weibo", "a1", OTHER, timedelta(hours=-5))) == 1
    assert _store(("weibo", "c2", NEW + "！", timedelta(minutes=-10)),  # a repeat, first in the file
                  ("weibo", "a1", OTHER, timedelta(hours=-5)),  # stored before
                  ("weibo", "c2", NEW + "！", timedelta(minutes=-10)),  # the same key again
                  ("douyin", "c1", NEW, timedelta(minutes=-30))) == 2  # the original, last
    assert _links() == {"a1": None, "c1": None, "c2": "c1"}
    with session_scope() as session:
        ids = dict(session.execute(select(Mention.external_id, Mention.id)).tuples().all())
    assert ids["a1"] < ids["c2"] < ids["c1"], "ids in the order of the batch"


def test_two_scans_storing_at_once_on_sqlite_each_take_their_own_ids_and_links(sqlite_db: str) -> None:
    """SQLite hands a batch its ids before the insert (its near-duplicate links go in with the rows): two scans
    storing overlapping batches at the same moment must still store every post once, each repeat linked to the
    one original of its text, every link to a stored original (BEGIN IMMEDIATE lets one writer in at a time)."""
    import threading

    from sqlalchemy import func, text

    from tasks.monitoring.tasks import DUPLICATE_WINDOW

    def batch(keys: range, prefix: str = "k") -> list[dict[str, object]]:
        words = list(POST + NEW + OTHER)
        raw = [RawMention("weibo", f"{prefix}{i}", "澄星" + "".join(random.Random(i).sample(words, 30)),
                          NOW - timedelta(minutes=i % 300)) for i in keys]  # texts unlike each other
        with disable_run_logger():
            return analyse_mentions.fn(raw, NOW)

    for round_ in range(3):
        first = batch(range(round_ * 1000, round_ * 1000 + 600))
        second = batch(range(round_ * 1000 + 300, round_ * 1000 + 900))  # 300 keys in both
        second += [{**row, "external_id": f"again-{row['external_id']}"} for row in first[:200]]  # same texts, new keys
        start, counts, failures = threading.Barrier(2), [], []

        def store(rows: list[dict[str, object]], start: threading.Barrier = start, counts: list[int] = counts,
                  failures: list[Exception] = failures) -> None:
            start.wait()
            try:
                with session_scope() as session:
                    counts.append(repository.store_new_mentions(session, rows, DUPLICATE_WINDOW)[0])
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=store, args=(rows,)) for rows in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures and sum(counts) == 1100, (failures, counts)
    with session_scope() as session:
        assert session.scalar(select(func.count(Mention.id))) == 3300
        assert not session.execute(text("PRAGMA foreign_key_check")).all()
        rows = session.execute(select(Mention.id, Mention.content_hash, Mention.duplicate_of_id)).all()
    by_id = {key: (content, original) for key, content, original in rows}
    originals_of: dict[str, list[int]] = {}
    for key, content, original in rows:
        assert original is None or by_id[original][1] is None, "a link points at an original, never at a repeat"
        if original is None:
            originals_of.setdefault(content, []).append(key)
    # whichever scan stored a text first holds its original: the other's copy (again-kX or kX) links to it
    assert all(len(keys) == 1 for keys in originals_of.values()), "one original per text"
    assert sum(original is not None for _, _, original in rows) >= 3 * 200



def _store_many(count: int) -> None:
    """Store `count` posts as people write them: different texts, few of them repeats."""
    words = list(POST + NEW + OTHER)
    raw = [RawMention("weibo", f"m{i}", "".join(random.Random(i).sample(words, 30)), NOW - timedelta(minutes=i % 600))
           for i in range(count)]
    with disable_run_logger():
        store_mentions.fn(analyse_mentions.fn(raw, NOW))


def test_attaching_reposts_reads_the_duplicates_index_not_the_whole_table(sqlite_db: str) -> None:
    """Each scan attaches an open incident's reposts. As one UPDATE with every condition, SQLite's planner read
    every mention up to the scan through the (is_drill, published_at) index (40 ms per incident per scan at
    100,000 mentions, growing with the table); each statement must now look mentions up by an index of its own."""
    _store_many(1500)
    seen: list[tuple[str, object]] = []
    with session_scope() as session:
        connection = session.connection()
        listener = lambda *args: seen.append((args[2], args[3]))  # noqa: E731 - (conn, cursor, statement, params, …)
        event.listen(connection, "before_cursor_execute", listener)
        attach_reposts(session, SimpleNamespace(id=1, is_drill=False), NOW)  # type: ignore[arg-type]
        event.remove(connection, "before_cursor_execute", listener)
        plans = [" ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
                 for statement, parameters in seen]
    assert plans and not [p for p in plans if "ix_mentions_drill_published" in p or "SCAN mentions" in p], plans
    assert "ix_mentions_duplicate_of_id" in plans[0]
