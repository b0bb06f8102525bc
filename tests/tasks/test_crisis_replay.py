"""`crisis replay` end to end on files written here: a crisis opens with its minutes, a quiet file opens nothing, a
bad file is one named red line while the others are still replayed, `A|B` watches one name under two aliases,
and skipping the scans that have nothing to triage gives what running every scan gives."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from tasks.replay.plan import COLUMNS, ReplayPlan, parse_watch_terms
from tasks.replay.runner import replay_file

START = datetime.fromisoformat("2026-10-03T09:02:00+08:00")
ANGRY = ("澄光奶粉有毒，孩子喝了中毒住院，太可怕了", "澄光奶粉喝出问题，宝宝中毒呕吐，质量太差",
         "澄光奶粉害人，孩子中毒了，坚决退货投诉")


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def crisis_rows(name: str = "澄光奶粉") -> list[dict[str, object]]:
    """A negative original naming the product, angry reposts naming it too, and plain reposts."""
    rows: list[dict[str, object]] = [{"id": "o", "text": f"{name}喝出问题，孩子中毒住院，太可怕了", "published_at": at(0),
                                      "reach": 20000}]
    rows += [{"id": f"a{n}", "text": ANGRY[n % 3].replace("澄光奶粉", name), "published_at": at(3 + 2 * n),
              "repost_of": "o"} for n in range(12)]
    rows += [{"id": f"r{n}", "text": "转发微博", "published_at": at(5 + n), "repost_of": "o"} for n in range(20)]
    return rows


def quiet_rows() -> list[dict[str, object]]:
    return [{"id": f"q{n}", "text": "澄光奶粉很好喝，宝宝很喜欢，推荐", "published_at": at(7 * n)} for n in range(10)]


def run(args: list[str]) -> tuple[int, str, list[dict[str, str]], list[str]]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})  # the whole table, headers unwrapped
    out = Path(args[args.index("--out") + 1])
    with out.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return result.exit_code, result.output, list(reader), list(reader.fieldnames or [])


def test_a_crisis_opens_a_quiet_file_does_not_and_a_bad_file_is_named(sqlite_db: str, tmp_path: Path) -> None:
    crisis = write(tmp_path / "crisis.jsonl", crisis_rows())
    quiet = write(tmp_path / "quiet.jsonl", quiet_rows())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "b1", "text": "澄光奶粉", "published_at": "2026-10-03T09:00"}\n{"id": "b2"}\n',
                   encoding="utf-8")
    code, output, rows, columns = run([
        "replay", str(crisis), str(bad), str(quiet), "--watch", "澄光|澄光奶粉", "--step", "5m", "--horizon", "6h",
        "--out", str(tmp_path / "result.csv")])
    assert code == 1
    assert columns == list(COLUMNS) == ["file", "first_post_at", "opened_at", "minutes", "incident_key", "category",
                                        "level", "incidents", "possible_rumour", "listed_at"]
    assert "bad.jsonl:2" in output and "text" in output
    assert [Path(r["file"]).name for r in rows] == ["crisis.jsonl", "quiet.jsonl"]
    opened, calm = rows
    assert opened["first_post_at"] == "2026-10-03T09:02:00+08:00"
    assert opened["opened_at"] and opened["incident_key"].startswith("INC-20261003-")
    assert 0 < float(opened["minutes"]) <= 60 and float(opened["minutes"]) % 5 == 0
    assert int(opened["incidents"]) >= 1 and opened["level"] and opened["category"]
    assert opened["possible_rumour"] in ("true", "false")
    assert (calm["opened_at"], calm["minutes"], calm["incident_key"], calm["incidents"], calm["listed_at"]) == \
        ("", "", "", "0", "")


def test_a_story_no_rule_opens_for_shows_when_the_watch_board_listed_it(sqlite_db: str, tmp_path: Path) -> None:
    """A negative post no crisis category explains, reposted 60 times in 30 minutes: short of the 150 that open
    in 其他, past the 25 that list it to verify. The backtest says when a person would have seen it."""
    rows: list[dict[str, object]] = [{"id": "o", "text": "澄光门店今天有个小孩走丢了，店员一句话都不说，太让人寒心了",
                                      "published_at": at(0), "reach": 800}]
    rows += [{"id": f"r{n}", "text": "转发微博", "published_at": at(1 + n / 2), "repost_of": "o"} for n in range(60)]
    path = write(tmp_path / "lost.jsonl", rows)
    code, output, (row,), _ = run(["replay", str(path), "--watch", "澄光", "--step", "5m", "--horizon", "2h",
                                   "--out", str(tmp_path / "listed.csv")])
    assert code == 0, output
    assert (row["opened_at"], row["incidents"]) == ("", "0"), "60 reposts open nothing in 其他"
    listed = datetime.fromisoformat(row["listed_at"])
    assert timedelta(0) < listed - datetime.fromisoformat(row["first_post_at"]) <= timedelta(minutes=20)
    assert "列入待核实" in output and row["listed_at"][11:16] in output


def test_bad_arguments_are_refused_with_exit_code_2(sqlite_db: str, tmp_path: Path) -> None:
    crisis = write(tmp_path / "crisis.jsonl", crisis_rows())
    result = CliRunner().invoke(app, ["replay", str(crisis), "--watch", "澄光", "--step", "5 分钟",
                                      "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2 and "5m" in result.output


def test_an_alias_after_the_bar_is_watched_under_the_first_name(sqlite_db: str, tmp_path: Path) -> None:
    crisis = write(tmp_path / "alias.jsonl", crisis_rows("小澄奶粉"))
    plan = ReplayPlan(parse_watch_terms(["澄光|小澄奶粉"]), timedelta(minutes=10), timedelta(hours=3))
    named = replay_file(crisis, plan).row
    assert named.first is not None and named.first.brand == "澄光"
    unwatched = replay_file(crisis, ReplayPlan(parse_watch_terms(["澄光"]), timedelta(minutes=10),
                                               timedelta(hours=3))).row
    assert unwatched.incidents == ()


@pytest.mark.parametrize("gap_hours", [30])
def test_skipping_scans_with_nothing_to_triage_gives_what_every_scan_gives(sqlite_db: str, tmp_path: Path,
                                                                           gap_hours: int) -> None:
    """A burst, a day and more of silence, then a second burst: windows move in the silence, the result does not."""
    later = [{**r, "id": f"later-{r['id']}", "published_at": (datetime.fromisoformat(str(r["published_at"]))
                                                               + timedelta(hours=gap_hours)).isoformat()}
             for r in crisis_rows()]
    path = write(tmp_path / "two-bursts.jsonl", crisis_rows() + later)
    plan = ReplayPlan(parse_watch_terms(["澄光|澄光奶粉"]), timedelta(hours=1), timedelta(hours=60))
    skipping, every = replay_file(path, plan), replay_file(path, plan, skip_idle=False)
    assert skipping.log.scans_run < every.log.scans_run == plan.scans
    assert len(every.row.incidents) >= 1
    assert [(i.brand, i.category, i.level, i.detected_at) for i in skipping.row.incidents] == \
        [(i.brand, i.category, i.level, i.detected_at) for i in every.row.incidents]
    assert skipping.row.values() == every.row.values()


def test_posts_after_the_horizon_are_named_not_passed_over_in_silence(sqlite_db: str, tmp_path: Path) -> None:
    """A story that resurfaces after --horizon: the replay cannot see it, so it says how many posts it left out,
    how late the last one is, and what to change; the row stays what the horizon saw (nothing opened)."""
    late = [{**r, "id": f"late-{r['id']}", "published_at": (datetime.fromisoformat(str(r["published_at"]))
                                                             + timedelta(hours=30)).isoformat()} for r in crisis_rows()]
    resurfacing = write(tmp_path / "resurfacing.jsonl", quiet_rows() + late)
    quiet = write(tmp_path / "quiet.jsonl", quiet_rows())
    code, output, rows, _ = run(["replay", str(resurfacing), str(quiet), "--watch", "澄光|澄光奶粉", "--step", "10m",
                                 "--horizon", "24h", "--out", str(tmp_path / "result.csv")])
    assert code == 0
    assert f"resurfacing.jsonl 有 {len(late)} 条帖子晚于首帖后 24h，未参与回放（最晚一条在首帖后 31 小时）" in output
    assert "加大 --horizon" in output and "quiet.jsonl 有" not in output
    assert [(Path(r["file"]).name, r["opened_at"]) for r in rows] == [("resurfacing.jsonl", ""), ("quiet.jsonl", "")]
