"""Reposts count for what they spread: a cascade of bare reposts ("转发微博") of a negative post about a watched
brand opens an incident through the real path (canonical file → analyse → store → triage every 5 minutes),
a praise post's cascade does not, nor does one a responder closed as 误报 or 谣言 while it keeps spreading;
reposts stored before their original inherit once it arrives; engagement counts only go up. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches
from tasks.aftercare.timeline import describe
from tasks.audit import entries_for, verify_chain
from tasks.common import show_time
from tasks.db import session_scope
from tasks.models import DetectionHit, EngagementRead, Incident, Mention
from tasks.monitoring.sources import RawMention, read_canonical_file
from tasks.monitoring.tasks import analyse_mentions, store_mentions
from tasks.triage.board import watch_rows
from tasks.triage.tasks import update_incidents

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = Path(__file__).resolve().parents[2] / "config"
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
COMPLAINT = ("上周在旗舰店买的澄星空气炸锅，用了两天就坏了，加热的时候一直冒黑烟，还有一股塑料烧焦的味道，联系客服三次都"
             "没有人处理，大家千万别买，太失望了")
PRAISE = "澄星空气炸锅真的太好用了，做鸡翅又快又香，清洗也方便，强烈推荐给大家，已经回购第二台送给爸妈"
REPOST_TEXTS = ("转发微博", "求扩散", "@某人 //转发")


def cascade_file(folder: Path, original: str, reposts: int = 300, minutes: float = 40, *,
                 start: datetime = START, root: str = "root") -> Path:
    """Write a canonical JSONL export: the original by a 800-follower account, then `reposts` bare reposts."""
    rows = [{"id": root, "text": original, "author": "小号用户", "reach": 800,
             "published_at": start.isoformat(), "platform": "微博"}]
    for i in range(reposts):
        at = start + timedelta(minutes=1 + (minutes - 1) * i / reposts)
        rows.append({"id": f"{root}-rt{i}" if root != "root" else f"rt{i}", "text": REPOST_TEXTS[i % 3],
                     "author": f"路人{i}", "reach": 150, "published_at": at.isoformat(), "platform": "微博",
                     "repost_of": root})
    path = folder / f"{'cascade' if root == 'root' else root}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def scan(path: Path, now: datetime) -> list:  # type: ignore[type-arg]
    """One scan as `crisis scan --file` runs it: read as of now, analyse, store, triage."""
    with disable_run_logger():
        mentions = read_canonical_file(path, "manual", now, SHANGHAI).mentions
        store_mentions.fn(analyse_mentions.fn(mentions, now))
        return update_incidents.fn(now, "test")


def incidents() -> list[Incident]:
    with session_scope() as session:
        return list(session.scalars(select(Incident)))


def test_a_cascade_of_bare_reposts_opens_an_incident_within_two_scans(database: str, tmp_path: Path) -> None:
    path = cascade_file(tmp_path, COMPLAINT)
    opened_at = [n for n in range(1, 10) if any(c.kind == "opened" for c in scan(path, START + timedelta(minutes=5 * n)))]
    assert opened_at and opened_at[0] <= 2, "the cascade opens an incident within two 5-minute scans"
    (incident,) = incidents()
    assert (incident.brand, incident.category) == ("澄星", "产品质量")
    with session_scope() as session:
        linked = session.scalar(select(func.count(Mention.id)).where(Mention.incident_id == incident.id))
        reasons = session.scalars(select(DetectionHit.reason).where(DetectionHit.rule == "viral_post")).all()
    assert linked == 301, "the original and all its reposts are in the incident"
    assert reasons and "原帖 root" in reasons[0] and "触达 800 人" in reasons[0] and "门槛 50" in reasons[0]


SCARE = "网传澄星空气炸锅的涂层加热后会释放有毒物质，长期使用可能致癌，家里有的赶紧看看"


def test_a_scare_with_a_critical_term_opens_at_its_first_reposts(database: str, tmp_path: Path) -> None:
    """Two bare reposts of a post saying 致癌 are three voices spreading it: critical_terms opens at the next scan,
    long before the cascade could reach a volume rule's eight or viral_post's fifty."""
    path = cascade_file(tmp_path, SCARE, reposts=2, minutes=4)
    changes = scan(path, START + timedelta(minutes=5))
    assert [c.kind for c in changes] == ["opened"]
    (incident,) = incidents()
    assert (incident.brand, incident.category) == ("澄星", "人身安全/食品安全")
    with session_scope() as session:
        reason = session.scalar(select(DetectionHit.reason).where(DetectionHit.rule == "critical_terms"))
    assert reason and "3 条负面提及含 致癌×3（≥ 2，其中 2 条是转发或重复）" in reason


def test_a_slow_scare_opens_when_its_fifth_voice_makes_the_claim(database: str, tmp_path: Path) -> None:
    """A scare of a few reposts an hour, with claims (被曝, 三聚氰胺, 送医) and no critical term: no volume rule
    and no viral_post would see it for hours; the claims rule opens at the scan after its fifth voice."""
    rumour = "青禾牛奶被曝检出三聚氰胺，有孩子喝了之后送医，家里有的先别给孩子喝"
    path = cascade_file(tmp_path, rumour, reposts=8, minutes=60)  # reposts at minutes 1, 8.4, 15.8, 23.1 …
    opened_at = [5 * n for n in range(1, 13) if [c.kind for c in scan(path, START + timedelta(minutes=5 * n))]
                 == ["opened"]]
    assert opened_at == [25], "opens at the first scan after the original and four reposts, once"
    (incident,) = incidents()
    assert (incident.brand, incident.category) == ("青禾", "人身安全/食品安全")
    with session_scope() as session:
        fired = set(session.scalars(select(DetectionHit.rule).where(DetectionHit.window_end <= START + timedelta(
            minutes=25))))
        reason = session.scalar(select(DetectionHit.reason).where(DetectionHit.rule == "claims"))
    assert fired == {"claims"}
    assert reason and "5 条负面提及称 送医×5、三聚氰胺×5、被曝×5（≥ 5，其中 4 条是转发或重复）" in reason


def test_a_big_brands_everyday_claims_open_nothing_and_a_surge_of_them_does(database: str, tmp_path: Path) -> None:
    """A dairy's thousands of posts a day hold 过期 and 变质 every hour, and a few 中毒: twenty such complaints an
    hour (five with 中毒) for twelve hours are its ordinary rate, not a scare; three times that in the next hour
    is (59 of them in the window: the first is at its start, which belongs to the hour before)."""
    templates = ("青禾牛奶又买到过期的了，第{i}次了，这质量真不行", "刚开的青禾牛奶一股酸味，明显变质了，订单{i}",
                 "青禾牛奶临期变质，客服说第{i}个工作日再处理，太差了", "超市货架上的青禾牛奶过期{i}天还在卖，喝了怕中毒")
    rows = [{"id": f"p{h}-{i}", "text": templates[i % 4].format(i=h * 100 + i), "author": f"用户{h}-{i}", "reach": 300,
             "published_at": (START + timedelta(hours=h, minutes=(3 if h < 12 else 1) * i)).isoformat(), "platform": "微博"}
            for h in range(13) for i in range(20 if h < 12 else 60)]
    path = tmp_path / "chatter.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert scan(path, START + timedelta(hours=12)) == [], "the twelfth hour's 20 claims are its usual rate"
    with session_scope() as session:
        assert session.scalars(select(DetectionHit.rule)).all() == []
    assert [c.kind for c in scan(path, START + timedelta(hours=13))] == ["opened"]
    with session_scope() as session:
        reasons = dict(session.execute(select(DetectionHit.rule, DetectionHit.reason)).tuples().all())
    assert "59 条负面提及称" in reasons["claims"] and "此前 12 小时平均每 60 分钟 20.0 条" in reasons["claims"]
    assert "15 条负面提及含 中毒×15" in reasons["critical_terms"] and "平均每 60 分钟 5.0 条" in reasons["critical_terms"]


@pytest.mark.parametrize("dismissal", ["false_alarm", "unfounded"])
def test_a_dismissed_cascade_that_keeps_spreading_opens_nothing_again(database: str, tmp_path: Path,
                                                                      dismissal: str) -> None:
    path = cascade_file(tmp_path, COMPLAINT, reposts=600, minutes=80)
    opened = [c for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n)) if c.kind == "opened"]
    assert [c.incident_key for c in opened] == ["INC-20261127-001"]
    closing = CliRunner().invoke(app, ["close", "INC-20261127-001", "--as", dismissal, "--reason", "核实为正常讨论",
                                       "--by", "张伟", "--now", "2026-11-27T10:12"])
    assert closing.exit_code == 0, closing.output
    assert "此后 30 天，该事件的帖子及其后续转发不再触发检测，仍在传播时列入待核实看板" in closing.output
    # The same post goes on being reposted for an hour: every scan reads a few dozen new reposts of it.
    assert [scan(path, START + timedelta(minutes=5 * n)) for n in range(3, 11)] == [[]] * 8
    with session_scope() as session:
        left = session.scalar(select(func.count(Mention.id)).where(Mention.repost_of == "root",
                                                                   Mention.published_at > START + timedelta(minutes=12)))
        fired = session.scalars(select(DetectionHit.rule).where(
            DetectionHit.window_end > START + timedelta(minutes=12))).all()
        board = watch_rows(session, START + timedelta(minutes=50))
    assert left and left > 250, "the reposts after the closing are stored, and counted for nothing"
    assert set(fired) == {"dismissed_story"}, "no rule fires on the dismissed story"
    how = {"false_alarm": "误报", "unfounded": "谣言（不实）"}[dismissal]
    assert [(row["品牌 · 类别"], row["待核实原因"]) for row in board] == [(
        "澄星 · 产品质量", f"仍在传播、未计入检测：最近 60 分钟「澄星·产品质量」INC-20261127-001（已按{how}关闭）又有 "
        f"{_reposts_between(START + timedelta(minutes=-10), START + timedelta(minutes=50))} 条负面帖子或其转发；"
        "若已不是误报或谣言，请人工立案")], "the 待核实 board shows what detection leaves out"
    assert board[0]["首次列出"] == show_time(START + timedelta(minutes=15)), "listed since the first scan after closing"
    (dismissed,) = incidents()
    assert dismissed.state == "closed" and dismissed.resolution == dismissal

    # A different complaint about the same brand, while the dismissed one still spreads, is news: it opens,
    # counted and held without the dismissed story's posts, which stay with the dismissed incident.
    fresh = cascade_file(tmp_path, COMPLAINT.replace("两天", "三天").replace("黑烟", "火花"), reposts=300, minutes=40,
                         start=START + timedelta(minutes=52), root="root2")
    again = [c for n in range(11, 22) for file in (path, fresh) for c in scan(file, START + timedelta(minutes=5 * n))
             if c.kind == "opened"]
    assert [c.incident_key for c in again] == ["INC-20261127-002"]
    with session_scope() as session:
        (reason,) = session.scalars(select(Incident.trigger_reason).where(Incident.key == "INC-20261127-002")).all()
        held = Counter(session.execute(select(Incident.key, func.coalesce(Mention.repost_of, Mention.external_id))
                                       .join(Incident, Incident.id == Mention.incident_id)).tuples())
        stored = Counter(session.scalars(select(func.coalesce(Mention.repost_of, Mention.external_id))))
    counted = re.search(r"负面 (\d+) 条", reason)
    assert counted and int(counted.group(1)) < 150, f"the new story's posts, not the dismissed one's: {reason}"
    assert held == {("INC-20261127-001", "root"): stored["root"], ("INC-20261127-002", "root2"): stored["root2"]}
    assert stored["root"] == 601, "the dismissed story's reposts all came in, and all stay with its incident"


def test_a_person_opening_the_dismissed_story_by_hand_takes_it_over(database: str, tmp_path: Path) -> None:
    """The responder changes their mind: `crisis open` for the brand and category moves the dismissed story's
    posts to the new incident (audited, said on screen and in the timeline), and its reposts count again and
    join the new incident, while the dismissed incident stays closed."""
    path = cascade_file(tmp_path, COMPLAINT, reposts=600, minutes=80)
    assert [c.kind for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n))][0] == "opened"
    runner = CliRunner()
    assert runner.invoke(app, ["close", "INC-20261127-001", "--as", "false_alarm", "--reason", "促销", "--by", "张伟",
                               "--now", "2026-11-27T10:12"]).exit_code == 0
    assert [scan(path, START + timedelta(minutes=5 * n)) for n in (3, 4)] == [[], []]
    opened = runner.invoke(app, ["open", "澄星", "--category", "产品质量", "--by", "李娜", "--reason", "质检确认批次问题",
                                 "--now", "2026-11-27T10:22"], env={"COLUMNS": "200"})
    assert opened.exit_code == 0, opened.output
    assert "已人工立案 INC-20261127-002" in opened.output
    with session_scope() as session:
        moved = session.scalar(select(func.count(Mention.id)).join(Incident, Incident.id == Mention.incident_id)
                               .where(Incident.key == "INC-20261127-002"))
        entries = [e for e in entries_for(session, "incident", "INC-20261127-002")
                   if e.action == "incident.dismissal_overruled"]
        assert verify_chain(session).ok
    assert f"并入 INC-20261127-001（已按误报或谣言关闭）的 {moved} 条帖子" in opened.output
    assert moved and moved > 100 and len(entries) == 1 and entries[0].actor == "李娜"
    assert describe(entries[0].action, json.loads(entries[0].after)) == f"并入 INC-20261127-001 的 {moved} 条帖子"

    later = [c for n in (5, 6) for c in scan(path, START + timedelta(minutes=5 * n))]
    assert [c.kind for c in later] == ["updated", "updated"], "the story counts for the new incident again"
    with session_scope() as session:
        held = dict(session.execute(select(Incident.key, func.count(Mention.id))
                                    .join(Mention, Mention.incident_id == Incident.id).group_by(Incident.key)).all())
        stored = session.scalar(select(func.count(Mention.id)))
    assert held == {"INC-20261127-002": stored}, "every post of the story is the new incident's"
    assert [(i.key, i.state) for i in incidents()] == [("INC-20261127-001", "closed"), ("INC-20261127-002", "open")]


def test_a_trickle_of_late_reposts_of_a_dismissed_story_is_no_board_row(database: str, tmp_path: Path) -> None:
    """A dismissed story listed on the 待核实 board must be spreading: fewer than min_volume (8) negatives in the
    window list nothing, 8 list it."""
    path = cascade_file(tmp_path, COMPLAINT, reposts=300, minutes=40)
    assert [c.kind for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n))][0] == "opened"
    assert CliRunner().invoke(app, ["close", "INC-20261127-001", "--as", "false_alarm", "--reason", "促销", "--by",
                                    "张伟", "--now", "2026-11-27T10:12"]).exit_code == 0
    assert [scan(path, START + timedelta(minutes=5 * n)) for n in range(3, 9)] == [[]] * 6  # the cascade ends at 40 min

    def late(count: int, at: datetime) -> list[dict[str, object]]:
        rows = [{"id": f"late-{at:%H%M}-{i}", "text": "转发微博", "author": f"后来者{i}", "reach": 100,
                 "published_at": (at + timedelta(seconds=i)).isoformat(), "platform": "微博", "repost_of": "root"}
                for i in range(count)]
        file = tmp_path / f"late-{at:%H%M}.jsonl"
        file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return [c for c in scan(file, at + timedelta(minutes=1))]

    def board(at: datetime) -> list[str]:
        with session_scope() as session:
            return [str(row["待核实原因"]) for row in watch_rows(session, at + timedelta(minutes=1))]

    quiet, busy = START + timedelta(hours=3), START + timedelta(hours=5)
    assert late(7, quiet) == [] and board(quiet) == [], "7 late reposts in the hour: no row"
    assert late(8, busy) == [] and len(board(busy)) == 1 and "又有 8 条负面帖子或其转发" in board(busy)[0]


def test_with_dismissed_days_0_a_dismissed_story_counts_again(sqlite_db: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's switch (config/detection.toml): with 0 the closing says so, and the story still spreading
    opens a new incident at the next scan."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (copy / "detection.toml").read_text(encoding="utf-8")
    (copy / "detection.toml").write_text(text.replace("dismissed_days = 30", "dismissed_days = 0"), encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    path = cascade_file(tmp_path, COMPLAINT, reposts=600, minutes=80)
    assert [c.kind for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n))][0] == "opened"
    closing = CliRunner().invoke(app, ["close", "INC-20261127-001", "--as", "false_alarm", "--reason", "促销",
                                       "--by", "张伟", "--now", "2026-11-27T10:12"])
    assert "该事件的帖子及其后续转发仍照常检测（detection.toml 的 dismissed_days 为 0）" in closing.output
    assert [c.incident_key for c in scan(path, START + timedelta(minutes=15)) if c.kind == "opened"] == [
        "INC-20261127-002"]


DEFECTS = ("用了三天就坏了", "外壳开裂了", "按键失灵了", "加热不均匀还糊底", "涂层一直掉渣", "风扇噪音特别大", "定时器完全不准",
           "插头烫手", "烤篮变形了", "内胆生锈了")


@pytest.mark.parametrize("dismissed_days", [30, 0])
def test_a_dismissed_story_does_not_raise_the_baseline_a_later_complaint_must_pass(
        sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dismissed_days: int) -> None:
    """A week of a few complaints a day; four days ago a 误报 of 600 reposts, dismissed; in the last 24 hours
    40 complaints, one or two an hour, so only the day rule (long_spike) can see them. Left out of the window,
    the dismissed story is left out of the days it is compared with too: the 40 stand out (30 days). Counted
    (dismissed_days = 0), the story's day makes the baseline too high for them."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (copy / "detection.toml").read_text(encoding="utf-8")
    (copy / "detection.toml").write_text(text.replace("dismissed_days = 30", f"dismissed_days = {dismissed_days}"),
                                         encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    now = START + timedelta(days=4)
    rows = []
    for day in range(1, 9):  # the week before the last 24 hours, and a day more
        at = now - timedelta(days=day, hours=5)
        rows += [{"id": f"d{day}-n{i}", "text": f"第{day}{i}次吐槽：买的澄星空气炸锅{DEFECTS[(day + i) % 10]}，质量太差了，很失望",
                  "reach": 300, "published_at": (at + timedelta(hours=3 * i)).isoformat()} for i in range(2)]
        rows += [{"id": f"d{day}-p{i}", "text": f"澄星空气炸锅做{dish}真香，清洗也方便，推荐",
                  "reach": 300, "published_at": (at + timedelta(hours=2 * i + 1)).isoformat()}
                 for i, dish in enumerate(("鸡翅", "薯条", "排骨", "蛋挞"))]
    history = tmp_path / "history.jsonl"
    history.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    scan(history, START - timedelta(minutes=1))
    story = cascade_file(tmp_path, COMPLAINT, reposts=600, minutes=80)
    assert [c.kind for n in range(1, 18) for c in scan(story, START + timedelta(minutes=5 * n))][0] == "opened"
    assert CliRunner().invoke(app, ["close", "INC-20261127-001", "--as", "false_alarm", "--reason", "促销", "--by",
                                    "张伟", "--now", "2026-11-27T12:00"]).exit_code == 0

    today = [{"id": f"t{i}", "text": f"第{i}次吐槽：买的澄星空气炸锅{DEFECTS[i % 10]}，质量太差了，很失望", "reach": 300,
              "published_at": (now - timedelta(hours=23, minutes=-34 * i)).isoformat()} for i in range(40)]
    latest = tmp_path / "today.jsonl"
    latest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in today), encoding="utf-8")
    opened = [c for c in scan(latest, now) if c.kind == "opened"]
    with session_scope() as session:
        rules = session.scalars(select(DetectionHit.rule).where(DetectionHit.window_end == now)).all()
    if dismissed_days:
        assert [c.incident_key for c in opened] == ["INC-20261201-001"], rules
        (reason,) = [i.trigger_reason for i in incidents() if i.key == "INC-20261201-001"]
        assert reason.startswith("日度异常：最近 24 小时「澄星·产品质量」负面 40 条"), reason
    else:
        assert opened == [] and "long_spike" not in rules, "the dismissed story's day keeps the baseline high"


def _reposts_between(start: datetime, end: datetime) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Mention.id)).where(
            Mention.published_at > start, Mention.published_at <= end)) or 0


def test_a_praise_posts_cascade_opens_nothing(database: str, tmp_path: Path) -> None:
    path = cascade_file(tmp_path, PRAISE)
    assert [scan(path, START + timedelta(minutes=5 * n)) for n in range(1, 10)] == [[]] * 9
    assert incidents() == []
    with session_scope() as session:
        rows = session.execute(select(Mention.brand, Mention.negative).where(Mention.repost_of == "root")).all()
    assert len(rows) == 300 and set(rows) == {("澄星", False)}


def _two_bursts(folder: Path, second_text: str | None) -> Path:
    """The cascade of COMPLAINT (300 reposts in 40 minutes), then three days later 300 more in 40 minutes: of the
    same post, or (`second_text`) of another complaint's post."""
    first = cascade_file(folder, COMPLAINT).read_text(encoding="utf-8")
    later = START + timedelta(days=3)
    second = (cascade_file(folder, COMPLAINT, start=later, root="root").read_text(encoding="utf-8").splitlines()[1:]
              if second_text is None else
              cascade_file(folder, second_text, start=later, root="root2").read_text(encoding="utf-8").splitlines())
    rows = [json.loads(line) for line in first.splitlines()]
    rows += [{**json.loads(line), **({"id": f"late-{json.loads(line)['id']}"} if second_text is None else {})}
             for line in second]
    path = folder / "two-bursts.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_story_spreading_again_after_scans_were_down_for_days_joins_its_incident(database: str,
                                                                                     tmp_path: Path) -> None:
    """A repost joins the incident of the post it repeats, however long the incident was quiet: scans down for
    three days (longer than dedup_hours) and the same post spreading again open no second incident for it."""
    path = _two_bursts(tmp_path, None)
    opened = [c.incident_key for n in (1, 2) for c in scan(path, START + timedelta(minutes=5 * n)) if c.kind == "opened"]
    assert opened == ["INC-20261127-001"]
    after_the_gap = [scan(path, START + timedelta(days=3, minutes=5 * n)) for n in range(1, 10)]
    assert not [c for changes in after_the_gap for c in changes if c.kind == "opened"], after_the_gap
    (incident,) = incidents()
    with session_scope() as session:
        held = session.scalar(select(func.count(Mention.id)).where(Mention.incident_id == incident.id))
    assert held == 601, "the original and both bursts of its reposts are in the one incident"


def test_another_complaint_after_the_incident_was_quiet_for_dedup_hours_opens_a_new_incident(
        database: str, tmp_path: Path) -> None:
    """The other side of it: a different post spreading three days later is a new incident, with its own posts."""
    path = _two_bursts(tmp_path, COMPLAINT.replace("两天", "三天").replace("黑烟", "火花"))
    opened = [c.incident_key for n in list(range(1, 10)) + list(range(3 * 288 + 1, 3 * 288 + 10))
              for c in scan(path, START + timedelta(minutes=5 * n)) if c.kind == "opened"]
    assert opened == ["INC-20261127-001", "INC-20261130-001"]
    with session_scope() as session:
        held = Counter(session.execute(select(Incident.key, func.coalesce(Mention.repost_of, Mention.external_id))
                                       .join(Incident, Incident.id == Mention.incident_id)).tuples())
    assert held == {("INC-20261127-001", "root"): 301, ("INC-20261130-001", "root2"): 301}


def _store(*mentions: RawMention, debunk: frozenset[str] = frozenset()) -> int:
    with disable_run_logger():
        rows = analyse_mentions.fn(list(mentions), START)
        for row in rows:  # the analysis's debunk flag, as its detection will set it
            row["debunk"] = row["debunk"] or row["external_id"] in debunk
        return store_mentions.fn(rows)


def _raw(ident: str, text: str, minutes: float, repost_of: str | None = None, **counts: int) -> RawMention:
    return RawMention(source="weibo", external_id=ident, text=text, published_at=START + timedelta(minutes=minutes),
                      repost_of=repost_of, **counts)  # type: ignore[arg-type]


def _stored() -> dict[str, tuple[object, ...]]:
    with session_scope() as session:
        rows = session.execute(select(Mention.id, Mention.external_id, Mention.brand, Mention.category,
                                      Mention.negative, Mention.duplicate_of_id)).all()
    names = {key: ident for key, ident, *_ in rows}
    return {ident: (brand, category, negative, names.get(link)) for _, ident, brand, category, negative, link in rows}


def test_a_debunking_repost_is_linked_but_no_complaint(database: str) -> None:
    _store(_raw("root", COMPLAINT, 0), _raw("rt1", "转发微博", 1, "root"),
           _raw("rt2", "假的，别信，已经辟谣了 //转发", 2, "root"), debunk=frozenset({"rt2"}))
    stored = _stored()
    assert stored["rt1"] == ("澄星", "产品质量", True, "root")
    assert stored["rt2"] == ("澄星", "产品质量", False, "root")


def test_reposts_stored_before_their_original_inherit_when_it_arrives(database: str) -> None:
    _store(_raw("rt1", "转发微博", 5, "root"), _raw("rt2", "求扩散", 6, "rt1"),
           _raw("rt3", "青禾牛奶才是良心 //转发", 7, "root"))
    early = _stored()
    assert early["rt1"] == (None, None, early["rt1"][2], None) and early["rt2"][3] == "rt1"
    _store(_raw("root", COMPLAINT, 0))
    stored = _stored()
    assert stored["rt1"] == ("澄星", "产品质量", True, "root")
    assert stored["rt2"] == ("澄星", "产品质量", True, "root"), "a repost of a repost links to the first post"
    assert stored["rt3"][0] == "青禾" and stored["rt3"][3] is None, "another brand's repost keeps its own"
    _store(_raw("root", COMPLAINT, 0), _raw("rt1", "转发微博", 5, "root"))
    assert _stored() == stored, "a re-store changes nothing"


def _counts(ident: str) -> tuple[object, ...]:
    with session_scope() as session:
        return session.execute(select(Mention.text, Mention.reposts, Mention.comments, Mention.likes)
                               .where(Mention.external_id == ident)).one().tuple()


def test_engagement_read_again_higher_is_raised_and_lower_is_not(database: str) -> None:
    assert _store(_raw("root", COMPLAINT, 0, reposts=10, comments=4)) == 1
    assert _store(_raw("root", "编辑后的文字", 0, reposts=25, comments=3, likes=7)) == 0
    assert _counts("root") == (COMPLAINT, 25, 4, 7), "counts go up, text stays as first stored"
    _store(_raw("root", COMPLAINT, 0, reposts=5))
    assert _counts("root") == (COMPLAINT, 25, 4, 7)


def test_a_bad_reposts_value_names_the_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    rows = [{"id": "a", "text": "澄星转发", "reposts": 12}, {"id": "b", "text": "澄星", "reposts": "很多"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    report = read_canonical_file(path, "manual", START, SHANGHAI)
    assert [m.reposts for m in report.mentions] == [12]
    assert report.problems == [f"{path}:2: reposts: 不是数字（'很多'）"]


@pytest.mark.parametrize("original, reading", [
    (COMPLAINT, ("澄星", "产品质量", True, "", "")),
    (SCARE, ("澄星", "人身安全/食品安全", True, "致癌", "致癌,有毒")),
])
def test_a_backfill_keeps_what_reposts_count_for(database: str, tmp_path: Path, original: str,
                                                 reading: tuple[object, ...]) -> None:
    """Re-analysing stored mentions (after a lexicon change) reads each repost's own text again; it must then
    count for its original again, critical terms and claims included, not for "转发微博" alone."""
    from tasks.monitoring.backfill import reanalyse_chunk

    scan(cascade_file(tmp_path, original, reposts=20), START + timedelta(minutes=45))
    columns = (Mention.brand, Mention.category, Mention.negative, Mention.critical_terms, Mention.claims)
    with session_scope() as session:
        first, last = session.execute(select(func.min(Mention.id), func.max(Mention.id))).one()
        before = set(session.execute(select(*columns).where(Mention.repost_of == "root")).tuples().all())
    assert before == {reading}
    with disable_run_logger():
        assert reanalyse_chunk.fn(first, last, START - timedelta(days=1), START + timedelta(days=1)) == 21
    with session_scope() as session:
        rows = set(session.execute(select(*columns).where(Mention.repost_of == "root")).tuples().all())
    assert rows == {reading}


def _spread_again_between_two_reads(external_id: str, *, drill: bool = False) -> list:  # type: ignore[type-arg]
    """Store a complaint posted three days ago by a 20,000-follower account, read then with 12 reposts and
    again (unchanged) half an hour before START; triage at START (nothing); read it now with 912 reposts (none of
    them stored); return what triage five minutes later changes. A drill post is stored as the drill source's."""
    old = START - timedelta(days=3)

    def read(reposts: int, at: datetime) -> None:
        post = RawMention("weibo", external_id, COMPLAINT, old, author="大V", reach=20_000, platform="微博",
                          reposts=reposts)
        with disable_run_logger():
            store_mentions.fn([{**row, "is_drill": True} if drill else row for row in analyse_mentions.fn([post], at)])

    read(12, old + timedelta(minutes=10))
    read(12, START - timedelta(minutes=30))  # an unchanged read stores nothing new
    with disable_run_logger():
        assert update_incidents.fn(START, "test") == []
    read(912, START + timedelta(minutes=3))
    with disable_run_logger():
        return update_incidents.fn(START + timedelta(minutes=5), "test")


def test_an_older_post_spreading_again_between_two_reads_opens_viral_post(database: str) -> None:
    """The complaint gained 900 reposts in the window (the platform's count), beyond the 200 its author's 20,000
    followers need, so viral_post opens an incident saying so. Reading it again unchanged raises nothing."""
    changes = _spread_again_between_two_reads("4988")
    assert [c.kind for c in changes] == ["opened"]
    with session_scope() as session:
        reason = session.scalars(select(DetectionHit.reason).where(DetectionHit.rule == "viral_post")).one()
        reads = session.scalars(select(EngagementRead.reposts).order_by(EngagementRead.read_at)).all()
        held = session.execute(select(Mention.external_id, Incident.key).join(Incident, Incident.id == Mention.incident_id)).all()
    assert "两次读取之间平台报告的转发增加 900 次" in reason and "门槛 200" in reason
    assert reads == [12, 912]
    assert held == [("4988", changes[0].incident_key)], "the incident holds the three-day-old post that opened it"


def test_a_dismissed_post_read_again_with_more_reposts_opens_nothing_again(database: str) -> None:
    """The platform's count of an old post the responder closed as 误报 goes on rising: no new incident."""
    (opened,) = _spread_again_between_two_reads("4989")
    closing = CliRunner().invoke(app, ["close", opened.incident_key, "--as", "false_alarm", "--reason", "老帖翻红，非新问题",
                                       "--by", "张伟", "--now", "2026-11-27T10:08"])
    assert closing.exit_code == 0, closing.output
    post = RawMention("weibo", "4989", COMPLAINT, START - timedelta(days=3), author="大V", reach=20_000,
                      platform="微博", reposts=2_500)
    with disable_run_logger():
        store_mentions.fn(analyse_mentions.fn([post], START + timedelta(minutes=13)))
        assert update_incidents.fn(START + timedelta(minutes=15), "test") == []
    assert [(i.key, i.resolution) for i in incidents()] == [(opened.incident_key, "false_alarm")]


def test_a_drill_post_from_days_ago_spreading_again_opens_a_drill_incident_only(database: str) -> None:
    """The drill pass of triage ends at one probe when no drill mention was published in the span any part of it
    reads: that span must reach back to the spreading posts' (the long baseline), not just the last day. The
    same complaint, a drill's: a drill incident opens, no real one."""
    changes = _spread_again_between_two_reads("d7-4988", drill=True)
    assert [c.kind for c in changes] == ["opened"]
    assert [(i.is_drill, i.brand) for i in incidents()] == [(True, "澄星")], "a drill incident, and no real one"
