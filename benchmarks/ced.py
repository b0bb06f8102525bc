"""Replay of real Weibo repost timelines (CED, ../shared/data/events) through `crisis replay` (`make eval`).

The events are the consumer-topic ones (consumer_keyword = 1) whose reposts are in the sample: 28 of them.
Each was read once, by a person, and given below a watch term (what an operator would have in the lexicon:
the brand or product the post is about) and a verdict: "crisis" when the post is bad news about that term
(a safety scare, a blacklist, a price rumour), "quiet" when it names the term without being a crisis for it
(news, praise, advice, jokes, a place name). Each event becomes a canonical file: the original post (reach =
its author's followers, reposts and comments as reported) and every sampled repost, with `repost_of` = the
original's id (an empty repost text is "转发微博", as Weibo shows it). The file is replayed by
tasks.replay.runner exactly as `crisis replay FILE --watch TERM --step 5m --horizon 48h` would.

Reported: crisis events alarmed / total, the median minutes from the first post to the incident, the share
of crisis events with an incident by the end of their peak repost hour, and the quiet events that alarmed.
It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.data import DATA_DIR
from tasks.scenario.files import write_mention_rows

CED_FILES = ("events/CED_events.csv", "events/CED_reposts_sample.csv")
BEIJING = "+08:00"
STEP = timedelta(minutes=5)  # the scan interval the goals are stated for
HORIZON = timedelta(hours=48)
CRISIS, QUIET = "crisis", "quiet"


SAFETY, PRIVACY, QUALITY = "人身安全/食品安全", "个人信息泄露", "产品质量"
PRICE = ("价格/虚假宣传", "价格欺诈/大数据杀熟")


@dataclass(frozen=True)
class Verdict:
    watch: str  # a --watch term: "A|B" watches A under the aliases A and B
    kind: str  # CRISIS or QUIET
    reason: str
    # The crisis categories an analyst would accept for the event's incident (crisis events only).
    categories: tuple[str, ...] = ()


# Every selected event, read once: event id -> what an operator would watch, and whether it is a crisis for it.
EVENTS: dict[int, Verdict] = {
    1: Verdict("快递员|快递", CRISIS, "假快递员骗局警示，快递配送安全恐慌", (SAFETY, PRIVACY)),
    55: Verdict("地沟油", CRISIS, "查地沟油记者遇害 + 地沟油鉴别，食品安全恐慌", (SAFETY,)),
    57: Verdict("奶粉", QUIET, "香港海关人体藏奶粉案，新闻，非奶粉质量问题"),
    237: Verdict("牙膏", CRISIS, "牙膏色条=化学成分的传言，整个品类的质量恐慌", (SAFETY, QUALITY)),
    685: Verdict("三聚氰胺", QUIET, "举报人遭遇的政治议题列表，三聚氰胺只是旧事提及"),
    751: Verdict("大闸蟹", CRISIS, "江苏大闸蟹激素、抗菌素超标，食品安全", (SAFETY,)),
    1013: Verdict("产品", QUIET, "叙利亚标语“道德比产品还垃圾”，国家形象话题，不指向任何商品"),
    1055: Verdict("西瓜", CRISIS, "打针西瓜、禁用添加剂，食品安全", (SAFETY,)),
    1585: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    1611: Verdict("狗肉", QUIET, "狗肉举报电话的动物保护倡议，不是商品危机"),
    1841: Verdict("易拉罐", CRISIS, "易拉罐鼠尿致死传言，饮料包装安全恐慌", (SAFETY,)),
    2161: Verdict("地沟油", CRISIS, "地沟油鉴别方法，食用油安全恐慌", (SAFETY,)),
    2177: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    2231: Verdict("猫肉", QUIET, "食用猫肉违法的法规科普，动物保护"),
    2301: Verdict("狗肉|猫狗肉", QUIET, "上海开通猫狗肉举报电话，好消息"),
    2309: Verdict("地沟油", CRISIS, "查地沟油记者遇害，食品安全恐慌", (SAFETY,)),
    2355: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标（同 1585）", (SAFETY,)),
    2453: Verdict("中国移动|移动", CRISIS, "移动对微信微博收费的传言，价格/收费危机", PRICE),
    2737: Verdict("思思家", QUIET, "店主承诺每件商品捐五元，公益与好评"),
    3111: Verdict("四大|会计师事务所", QUIET, "财政部回应四大本土化，财经新闻"),
    3155: Verdict("Google Glass|Glass", QUIET, "Google Glass 新视频，期待与好评"),
    3703: Verdict("折扣", QUIET, "高收入白领与品牌折扣的调查，营销资讯"),
    4565: Verdict("蓝牙耳机", QUIET, "新交规下蓝牙耳机仍被扣分，交通新闻，商品本身无问题"),
    4675: Verdict("淘宝", QUIET, "淘宝社社团口号，正面"),
    4767: Verdict("创业", QUIET, "创业公司人人多面手，职场感悟"),
    4895: Verdict("食品厂", QUIET, "环境日县委书记谈污染企业，随笔"),
    4955: Verdict("Ubeam", QUIET, "Ubeam 无线充电的创业介绍，科技资讯"),
    5091: Verdict("高频交易", QUIET, "商品市场重挫与高频交易，财经新闻"),
}


def select_events(events: pd.DataFrame, sample: pd.DataFrame) -> list[int]:
    """Return the consumer-topic events with sampled reposts (the ones EVENTS must judge), by id."""
    sampled = set(sample["event_id"])
    chosen = events[(events["consumer_keyword"] == 1) & events["event_id"].isin(sampled)]
    return sorted(int(e) for e in chosen["event_id"])


def check_split(selected: Iterable[int], verdicts: Mapping[int, Verdict]) -> dict[str, int]:
    """Return the split's counts; ValueError when EVENTS misses a selected event or judges one not selected."""
    chosen = set(selected)
    missing, extra = sorted(chosen - set(verdicts)), sorted(set(verdicts) - chosen)
    if missing or extra:
        raise ValueError(f"EVENTS does not match the selected CED events: unjudged {missing}, not selected {extra}")
    kinds = Counter(verdicts[e].kind for e in chosen)
    if set(kinds) - {CRISIS, QUIET}:
        raise ValueError(f"unknown verdicts: {sorted(set(kinds) - {CRISIS, QUIET})}")
    return {CRISIS: kinds[CRISIS], QUIET: kinds[QUIET]}


def _beijing(stamp: object) -> str:
    return f"{str(stamp).replace(' ', 'T')}{BEIJING}"


def canonical_rows(event: pd.Series, reposts: pd.DataFrame) -> list[dict[str, object]]:
    """Return the event's original post and its reposts as canonical mention rows (Beijing time)."""
    original_id = f"ced{event['event_id']}-0"
    original: dict[str, object] = {
        "id": original_id, "text": str(event["text"]), "author": "原博", "platform": "微博",
        "reach": int(event["user_followers"]) if pd.notna(event["user_followers"]) else 0,
        "published_at": _beijing(event["timestamp"]),
    }
    # No reposts/comments counts on the original: the dataset's counts were read after the cascade, and a replay
    # that knew them at its first scan would see the future. The timeline of reposts below is the spread.
    rows = [original]
    for n, (stamp, text) in enumerate(zip(reposts["timestamp"], reposts["text"], strict=True), start=1):
        comment = str(text).strip() if isinstance(text, str) else ""
        rows.append({"id": f"ced{event['event_id']}-{n}", "text": comment or "转发微博", "platform": "微博",
                     "published_at": _beijing(stamp), "repost_of": original_id})
    return rows


def peak_hour_end(times: Iterable[datetime]) -> datetime:
    """Return the end of the clock hour with the most posts (the earliest of ties)."""
    hours = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    busiest = max(hours.values())
    return min(h for h, n in hours.items() if n == busiest) + timedelta(hours=1)


def summarise(rows: list[dict[str, object]], verdicts: Mapping[int, Verdict] | None = None) -> dict[str, object]:
    """Return, for crisis events, alarmed / total, the median minutes to the incident and the share opened by the
    end of the peak repost hour; for quiet events, how many alarmed (each one a false alarm). The right category
    is judged against `verdicts` (this module's EVENTS unless given)."""
    verdicts = EVENTS if verdicts is None else verdicts
    crisis = [r for r in rows if r["kind"] == CRISIS]
    quiet = [r for r in rows if r["kind"] == QUIET]
    alarmed = [r for r in crisis if r["opened_at"] is not None]
    right = [r for r in alarmed if r["category"] in verdicts[int(r["event_id"])].categories]
    minutes = [float(r["minutes"]) for r in alarmed]  # type: ignore[arg-type]
    by_peak = [r for r in alarmed if r["opened_by_peak_end"]]
    return {
        "crisis_events": len(crisis), "crisis_alarmed": len(alarmed),
        "median_minutes_to_incident": round(statistics.median(minutes), 1) if minutes else None,
        "share_opened_by_peak_hour_end": round(len(by_peak) / len(crisis), 3) if crisis else None,
        "crisis_right_category": len(right),
        "quiet_events": len(quiet), "quiet_alarmed": sum(r["opened_at"] is not None for r in quiet),
        # with a person reading the 待核实 board: opened or listed by the end of the peak hour; quiet events listed
        "share_seen_by_peak_hour_end": (round(sum(bool(r.get("seen_by_peak_end")) for r in crisis) / len(crisis), 3)
                                        if crisis else None),
        "quiet_listed": sum(r.get("watched_at") is not None and r["opened_at"] is None for r in quiet),
    }


def replay_event(event: pd.Series, reposts: pd.DataFrame, verdict: Verdict, folder: Path) -> dict[str, object]:
    """Write one event as a canonical file, replay it watching its term, and return its row."""
    path = folder / f"ced-{event['event_id']}.jsonl"
    rows = canonical_rows(event, reposts)
    write_mention_rows(rows, path)
    peak_end = peak_hour_end(datetime.fromisoformat(str(r["published_at"])) for r in rows)
    return replay_row(path, event, verdict, len(rows), peak_end)


def replay_row(path: Path, event: Mapping[str, object], verdict: Verdict, posts: int,
               peak_end: datetime) -> dict[str, object]:
    """Replay one written event file watching its term, as `crisis replay` would, and return its row."""
    from tasks.replay.plan import ReplayPlan, parse_watch_terms
    from tasks.replay.runner import replay_file

    # Judged by the end of the peak repost hour, so replayed at least that far: a cascade whose busiest hour comes
    # on day four (a story that resurfaces) would otherwise be a miss the replay never looked at.
    horizon = max(HORIZON, peak_end - datetime.fromisoformat(_beijing(event["timestamp"])))
    outcome = replay_file(path, ReplayPlan(parse_watch_terms([verdict.watch]), STEP, horizon))
    row, first = outcome.row, outcome.row.first
    return {
        "event_id": int(event["event_id"]), "kind": verdict.kind, "watch": verdict.watch,  # type: ignore[call-overload]
        "reason": verdict.reason, "label": "rumour" if event["label"] else "non-rumour", "posts": posts,
        "first_post": row.first_post_at.isoformat(), "peak_hour_end": peak_end.isoformat(),
        "opened_at": first.detected_at.isoformat() if first else None, "minutes": row.minutes,
        "opened_by_peak_end": bool(first and first.detected_at <= peak_end),
        "category": first.category if first else None, "level": first.level if first else None,
        "incidents": len(row.incidents), "possible_rumour": bool(first and first.possible_rumour),
        "trigger_reason": first.trigger_reason if first else None,
        # the 待核实 board (spreading_watch): listed for a person to judge, before or without an incident
        "watched_at": row.listed_at.astimezone(peak_end.tzinfo).isoformat() if row.listed_at else None,
        "seen_by_peak_end": bool((first and first.detected_at <= peak_end)
                                 or (row.listed_at and row.listed_at <= peak_end)),
        "horizon_hours": round(horizon / timedelta(hours=1), 1), "scans_run": outcome.log.scans_run,
        "seconds": outcome.seconds,
    }


def evaluate_ced() -> dict[str, object]:
    """Replay every judged CED event through `crisis replay`'s runner; return per-event rows and the summary."""
    started = time.perf_counter()
    events, sample = (pd.read_csv(DATA_DIR / name, encoding="utf-8") for name in CED_FILES)
    ids = select_events(events, sample)
    split = check_split(ids, EVENTS)
    with tempfile.TemporaryDirectory(prefix="crisis-ced-") as tmp:
        rows = [replay_event(events[events["event_id"] == e].iloc[0], sample[sample["event_id"] == e],
                             EVENTS[e], Path(tmp)) for e in ids]
    return {"step_minutes": STEP / timedelta(minutes=1), "horizon_hours": HORIZON / timedelta(hours=1),
            "split": split, "events": rows, "summary": summarise(rows),
            "seconds": round(time.perf_counter() - started, 1)}


def render(result: dict[str, object], console: Console, name: str = "CED replay") -> None:
    """Print one row per event and the summary."""
    table = Table(title=f"{name} through `crisis replay` (every {result['step_minutes']:g} min for "
                  f"{result['horizon_hours']:g} h or to the end of the peak repost hour if later, watching each event's term; "
                  "Beijing time)", title_justify="left")
    for name in ("event", "kind", "watch", "posts", "first post", "peak hour ends", "opened", "min", "category",
                 "level", "n", "rumour", "opened by", "reason"):
        table.add_column(name, no_wrap=name not in ("reason", "category", "opened by"))
    for row in result["events"]:  # type: ignore[attr-defined]
        opened = row["opened_at"]
        mark = "" if (opened is None) == (row["kind"] == "quiet") else "[red]"
        table.add_row(
            str(row["event_id"]), row["kind"], row["watch"], str(row["posts"]), row["first_post"][5:16],
            row["peak_hour_end"][5:16], f"{mark}{opened[5:16] if opened else '–'}",
            "–" if row["minutes"] is None else f"{row['minutes']:g}", row["category"] or "–", row["level"] or "–",
            str(row["incidents"]), "yes" if row["possible_rumour"] else "–", (row["trigger_reason"] or "–")[:60],
            row["reason"],
        )
    console.print(table)
    console.print(summary_line(result["summary"]))  # type: ignore[arg-type]


def summary_line(s: Mapping[str, object]) -> str:
    """Return a summarise() result as one line (– where a set has no crisis event to take a share of)."""
    median, share = s["median_minutes_to_incident"], s["share_opened_by_peak_hour_end"]
    return (
        f"crisis events: {s['crisis_alarmed']}/{s['crisis_events']} alarmed, median "
        f"{'–' if median is None else f'{median:g}'} min from the first post to the incident, "
        f"{'–' if share is None else f'{share:.0%}'} opened by the end of their peak repost hour, "
        f"{s['crisis_right_category']}/{s['crisis_events']} in the right category; "
        f"quiet events: {s['quiet_alarmed']}/{s['quiet_events']} alarmed (false alarms)"
        + (f"; with the 待核实 board read: {seen:.0%} of crisis events opened or listed by the end of their peak "
           f"hour, {s['quiet_listed']}/{s['quiet_events']} quiet events listed to verify"
           if (seen := s.get("share_seen_by_peak_hour_end")) is not None else "")
    )
