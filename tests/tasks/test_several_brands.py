"""Several brands in one post: a "问题食品" list naming three watched brands counts for each of them, its
reposts too, and an incident opens under each watched brand it names (not under whichever the lexicon
lists last). Through the scan's real path (canonical file → analyse → store → triage), SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tasks.db import session_scope
from tasks.models import Incident, Mention, MentionBrand
from tasks.monitoring.analysis import match_brands
from tasks.monitoring.lexicon import lexicon_data, watching
from tests.tasks.test_reposts_cascade import START, scan

LIST_POST = ("【扩散】央视曝光问题食品名单：青禾牛奶、澄星电器出品的果汁、木棉优选的零食被检出禁用添加剂，"
             "吃了会致癌，家里有的赶紧扔掉，已经有孩子送医了")


def list_cascade(folder: Path, reposts: int = 200, text: str = LIST_POST) -> Path:
    rows = [{"id": "list", "text": text, "author": "生活小助手", "reach": 5000,
             "published_at": START.isoformat(), "platform": "微博"}]
    rows += [{"id": f"rt{i}", "text": "转发微博", "author": f"路人{i}", "reach": 100, "platform": "微博",
              "published_at": (START + timedelta(minutes=1 + 30 * i / reposts)).isoformat(), "repost_of": "list"}
             for i in range(reposts)]
    path = folder / "list.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_match_brands_names_every_watched_brand_once_product_first() -> None:
    lexicon = lexicon_data()
    assert match_brands(LIST_POST, lexicon) == [("青禾", "青禾牛奶"), ("澄星", None), ("木棉优选", None)]
    assert match_brands("青禾牛奶和青禾燕麦片都不错", lexicon) == [("青禾", "青禾牛奶")]
    assert match_brands("今天天气不错", lexicon) == []


def test_a_list_post_and_its_reposts_count_for_each_brand_it_names(database: str, tmp_path: Path) -> None:
    path = list_cascade(tmp_path)
    for n in range(1, 8):
        scan(path, START + timedelta(minutes=5 * n))
    with session_scope() as session:
        opened = {i.brand: i.category for i in session.scalars(select(Incident))}
        first = session.execute(select(Mention.brand, Mention.product).where(Mention.external_id == "list")).one()
        others = set(session.execute(select(MentionBrand.brand).join(Mention, Mention.id == MentionBrand.mention_id)
                                     .where(Mention.external_id == "rt7")).scalars())
    assert tuple(first) == ("青禾", "青禾牛奶")
    assert others == {"澄星", "木棉优选"}, "a bare repost of the list inherits every brand the list names"
    assert set(opened) == {"青禾", "澄星", "木棉优选"}, "each watched brand the spreading list names gets an incident"
    assert set(opened.values()) == {"人身安全/食品安全"}


SOME_DAIRY = LIST_POST.replace("木棉优选的零食", "某乳业的酸奶")


def test_a_name_nobody_watches_gets_nothing(database: str, tmp_path: Path) -> None:
    """The list also names 某乳业, which is not in the lexicon: no incident and no attribution for it."""
    path = list_cascade(tmp_path, reposts=100, text=SOME_DAIRY)
    for n in range(1, 5):
        scan(path, START + timedelta(minutes=5 * n))
    with session_scope() as session:
        assert {i.brand for i in session.scalars(select(Incident))} == {"青禾", "澄星"}
        assert session.scalar(select(MentionBrand.brand).where(MentionBrand.brand == "某乳业")) is None


def test_a_watch_term_counts_beside_the_lexicons_brands(database: str, tmp_path: Path) -> None:
    """Watching 某乳业 (as `crisis replay --watch 某乳业` does) makes the same list count for it too, and its
    incident opens although the lexicon lists it last and the post names it last."""
    path = list_cascade(tmp_path, reposts=100, text=SOME_DAIRY)
    with watching({"某乳业": ("某乳业",)}):
        for n in range(1, 5):
            scan(path, START + timedelta(minutes=5 * n))
    with session_scope() as session:
        assert {i.brand for i in session.scalars(select(Incident))} == {"青禾", "澄星", "某乳业"}


def test_a_backfill_with_a_new_watch_term_attributes_the_stored_list_and_its_reposts(database: str,
                                                                                      tmp_path: Path) -> None:
    """A name watched after the posts were stored counts for them once a backfill re-analyses them: the list
    and its bare reposts gain it; re-running the backfill writes the same rows."""
    from prefect.logging import disable_run_logger
    from sqlalchemy import func

    from tasks.monitoring.backfill import reanalyse_chunk

    scan(list_cascade(tmp_path, reposts=20, text=SOME_DAIRY), START + timedelta(minutes=45))
    with session_scope() as session:
        first, last = session.execute(select(func.min(Mention.id), func.max(Mention.id))).one()
    for _ in range(2):
        with watching({"某乳业": ("某乳业",)}), disable_run_logger():
            reanalyse_chunk.fn(first, last, START - timedelta(days=1), START + timedelta(days=1))
        with session_scope() as session:
            named = session.execute(select(MentionBrand.brand, func.count()).group_by(MentionBrand.brand)).all()
        assert dict(named) == {"澄星": 21, "某乳业": 21}


def test_an_incident_takes_the_negatives_that_name_its_brand_first_or_among_others(database: str) -> None:
    """attach_negative_mentions reads the two ways a mention names a brand apart (its first brand; another it
    names, MentionBrand): 青禾's incident takes a negative post naming 青禾 second, and one naming it first, but
    not one that names only 澄星, a positive one, one of another category or one before the incident started."""
    from tasks.triage.repository import attach_negative_mentions
    from tests.notify_support import make_incident

    key = make_incident("INC-20261127-009", START, brand="青禾", category="人身安全/食品安全", posts=())

    def post(external_id: str, brand: str, *, also: str | None = None, negative: bool = True,
             category: str = "人身安全/食品安全", minutes: int = 10) -> None:
        at = START + timedelta(minutes=minutes)
        with session_scope() as session:
            mention = Mention(source="weibo", external_id=external_id, reach=100, published_at=at, fetched_at=at,
                              text=external_id, content_hash=external_id, simhash="0" * 16, sentiment=0.1,
                              negative=negative, category=category, brand=brand)
            session.add(mention)
            session.flush()
            if also:
                session.add(MentionBrand(mention_id=mention.id, brand=also))

    post("second", "澄星", also="青禾")
    post("first", "青禾")
    post("only-chengxing", "澄星")
    post("positive", "澄星", also="青禾", negative=False)
    post("other-category", "青禾", category="产品质量")
    post("before", "澄星", also="青禾", minutes=-30)
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        assert attach_negative_mentions(session, incident, incident.started_at, START + timedelta(hours=1)) == 2
        held = set(session.scalars(select(Mention.external_id).where(Mention.incident_id == incident.id)))
        assert attach_negative_mentions(session, incident, incident.started_at, START + timedelta(hours=1)) == 0
    assert held == {"second", "first"}
    # The UPDATEs are built once per brand and category (tasks.db.prepared) and then reused: another brand's
    # incident, and the same brand's in another category, still take their own posts and only those.
    for other, brand, category, expected in (("INC-20261127-010", "澄星", "人身安全/食品安全", {"only-chengxing"}),
                                             ("INC-20261127-011", "青禾", "产品质量", {"other-category"})):
        make_incident(other, START, brand=brand, category=category, posts=())
        with session_scope() as session:
            incident = session.scalars(select(Incident).where(Incident.key == other)).one()
            attach_negative_mentions(session, incident, incident.started_at, START + timedelta(hours=1))
            assert set(session.scalars(select(Mention.external_id).where(Mention.incident_id == incident.id))) == \
                expected, other


def test_a_dismissed_post_naming_two_brands_is_left_out_under_both_and_counted_once(database: str) -> None:
    """A post held by an incident closed as 误报 names 澄星 and 青禾: neither brand's group counts it, and the
    scan's count of what it left out (the 待核实 row, the log) has it once."""
    from collections import Counter

    from tasks.triage.repository import group_windows
    from tests.notify_support import make_incident

    key = make_incident("INC-20261127-010", START, brand="澄星", posts=())
    at = START + timedelta(minutes=10)
    with session_scope() as session:
        incident = session.scalars(select(Incident).where(Incident.key == key)).one()
        incident.state, incident.resolution, incident.closed_at = "closed", "false_alarm", at
        mention = Mention(source="weibo", external_id="both", reach=100, published_at=at, fetched_at=at,
                          text="澄星和青禾都有问题", content_hash="both", simhash="0" * 16, sentiment=0.1, negative=True,
                          category="产品质量", brand="澄星", incident_id=incident.id)
        session.add(mention)
        session.flush()
        session.add(MentionBrand(mention_id=mention.id, brand="青禾"))
    with session_scope() as session:
        ignored: Counter = Counter()  # type: ignore[type-arg]
        groups = group_windows(session, at + timedelta(minutes=5), 60, 12, 14, 300_000, False, ignored, 30)
        kept = group_windows(session, at + timedelta(minutes=5), 60, 12, 14, 300_000, False, None, 0)
    assert [(story.key, n) for story, n in ignored.items()] == [(key, 1)]
    assert groups == {} and {g.brand for g in kept.values()} == {"澄星", "青禾"}, "with dismissed_days 0 both count it"
