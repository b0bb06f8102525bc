"""The pure parts of the sources: field mapping, times, reach, retry policy, rate limit, duplicate links,
source health."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks.monitoring.duplicates import Fingerprint, link_duplicates
from tasks.monitoring.errors import SourceRejected, SourceUnavailable, TransientSourceError
from tasks.monitoring.health import SourceOutcome, merge_with_config, next_health
from tasks.monitoring.resilience import RateLimiter, RetryPolicy, call_with_retries
from tasks.monitoring.sources import parse_reach, parse_time, pluck, to_mention

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def test_dotted_paths_reach_into_nested_records_and_a_flat_key_wins() -> None:
    record = {"user": {"name": "小王", "tags": ["a", "b"]}, "user.name": "flat"}
    assert pluck(record, "user.name") == "flat"
    assert pluck({"user": {"name": "小王"}}, "user.name") == "小王"
    assert pluck(record, "user.tags.1") == "b"
    assert pluck(record, "user.missing.deeper") is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-27T10:00:00", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
    ("2026-11-27T02:00:00Z", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
    ("2026/11/27 10:00", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
    ("2026年11月27日 10:30", datetime(2026, 11, 27, 2, 30, tzinfo=UTC)),
    ("20261127", datetime(2026, 11, 26, 16, 0, tzinfo=UTC)),
    (1764208800, datetime(2025, 11, 27, 2, 0, tzinfo=UTC)),
    ("1764208800000", datetime(2025, 11, 27, 2, 0, tzinfo=UTC)),
    (datetime(2026, 11, 27, 10, 0), datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
])
def test_times_in_the_forms_exports_use(value: object, expected: datetime) -> None:
    assert parse_time(value, SHANGHAI) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1200, 1200), ("1,200", 1200), ("1.2万", 12000), ("3亿", 300_000_000), ("10万+", 100_000), ("2.5k", 2500),
    ("", 0), (None, 0),
])
def test_reach_in_the_forms_platforms_show(value: object, expected: int) -> None:
    assert parse_reach(value) == expected


@pytest.mark.parametrize("value", ["很多", "nan", "inf", True, "万"])
def test_reach_that_is_no_number_is_named(value: object) -> None:
    with pytest.raises(ValueError, match="reach: 不是数字"):
        parse_reach(value)


def test_a_mapped_record_becomes_a_mention_and_long_or_unsafe_values_are_tamed() -> None:
    record = {"mid": '="4901234567890123"', "body": {"text": "澄星炸锅坏了"}, "href": "javascript:alert(1)",
              "nick": "x" * 300}
    mention = to_mention(record, {"id": "mid", "text": "body.text", "url": "href", "author": "nick"}, "weibo", "微博",
                         NOW, SHANGHAI)
    assert (mention.external_id, mention.text, mention.url, mention.platform) == (
        "4901234567890123", "澄星炸锅坏了", None, "微博")
    assert mention.author == "x" * 256 and mention.published_at == NOW
    long_id = to_mention({"id": "u" * 200, "text": "t"}, {}, "rss", None, NOW, SHANGHAI).external_id
    assert long_id.startswith("sha1:") and len(long_id) <= 128


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    policy = RetryPolicy(attempts=5, backoff_seconds=1, max_backoff_seconds=5, jitter=0)
    assert [policy.delay(n, random.Random(1)) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    jittered = RetryPolicy(backoff_seconds=1, jitter=0.5)
    delays = {round(jittered.delay(1, random.Random(seed)), 3) for seed in range(20)}
    assert len(delays) > 10 and all(0.5 <= d <= 1.5 for d in delays)


def test_only_transient_errors_are_retried() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientSourceError("api: HTTP 503", retry_after=2 if len(calls) == 1 else None)
        return "ok"

    policy = RetryPolicy(attempts=3, backoff_seconds=0.1, jitter=0)
    assert call_with_retries(flaky, policy, sleeps.append) == "ok" and sleeps == [2, 0.2]

    def rejected() -> str:
        calls.append(1)
        raise SourceRejected("api: HTTP 403")

    calls.clear()
    with pytest.raises(SourceRejected):
        call_with_retries(rejected, policy, sleeps.append)
    assert len(calls) == 1

    def down() -> str:
        raise TransientSourceError("api: no answer within 1 s")

    with pytest.raises(SourceUnavailable, match=r"api: no answer within 1 s（已试 3 次，放弃）"):
        call_with_retries(down, policy, sleeps.append)


def test_the_rate_limiter_spaces_requests_by_its_interval() -> None:
    clock = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds

    limiter = RateLimiter(4, sleep, lambda: clock[0])
    for _ in range(3):
        limiter.wait()
    clock[0] += 1
    limiter.wait()
    assert waits == [0.25, 0.25]


def _print(key: int, simhash: int, minutes: int = 0, brand: str = "澄星", content: str = "") -> Fingerprint:
    return Fingerprint(key, brand, content or f"h{key}", simhash, NOW + timedelta(minutes=minutes))


def test_reposts_and_near_duplicates_point_at_the_original() -> None:
    base = 0x0123_4567_89AB_CDEF
    known = [_print(1, base, -60)]
    new = [
        _print(2, base ^ 0b111, 5),  # 3 bits off: near-duplicate of 1
        _print(3, base ^ 0b1111, 6),  # 4 bits off 1 (2 is a duplicate, never compared with): an original
        _print(4, base ^ 0b1111 ^ (1 << 40), 7),  # 1 bit off 3
        _print(5, 0xFFFF_0000_FFFF_0000, 8, content="h1"),  # same content as 1
        _print(6, base, 8, brand="青禾"),  # another brand
        _print(7, base, 60 * 49),  # 50 h after 1: outside the 48 h window, an original
    ]
    assert link_duplicates(known, new) == {2: 1, 4: 3, 5: 1}


def test_a_text_without_tokens_only_matches_an_exact_repeat() -> None:
    assert link_duplicates([], [_print(1, 0, 0, content="x"), _print(2, 0, 1, content="y"),
                                _print(3, 0, 2, content="x")]) == {3: 1}


def _reference_links(known: list[Fingerprint], new: list[Fingerprint], max_bits: int = 3) -> dict[int, int]:
    """link_duplicates by its definition, without an index: an exact repeat first, else band by band the first
    original (stored ones, then earlier new ones, in order) sharing that band within `max_bits` bits and 48 h."""
    window, originals, links = timedelta(hours=48), list(known), {}
    width = 64 // (max_bits + 1)

    def band(value: int, b: int) -> int:
        return value >> (width * b) & ((1 << width) - 1)

    for post in sorted(new, key=lambda p: (p.published_at, p.key)):
        near = [o for o in originals if o.brand == post.brand and abs(o.published_at - post.published_at) <= window]
        match = next((o.key for o in near if o.content_hash == post.content_hash), None)
        for b in range(max_bits + 1):
            if match is not None or not post.simhash:
                break
            match = next((o.key for o in near if o.simhash and band(o.simhash, b) == band(post.simhash, b)
                          and (o.simhash ^ post.simhash).bit_count() <= max_bits), None)
        if match is None:
            originals.append(post)
        else:
            links[post.key] = match
    return links


def test_linking_agrees_with_its_definition_over_a_week_of_posts_in_any_order() -> None:
    """The index drops originals too old for the post being checked; the links are those of the plain
    definition, at the 48 h edge too (posts whole minutes apart), with stored originals published after some
    new posts and a new post's SimHash a few bits from several originals."""
    import random

    rng = random.Random(11)
    bases = [rng.getrandbits(64) for _ in range(12)]

    def post(key: int) -> Fingerprint:
        value = rng.choice(bases)
        for _ in range(rng.choice((0, 1, 2, 3, 4, 6))):
            value ^= 1 << rng.randrange(64)
        return Fingerprint(key, rng.choice(("澄星", "青禾")), f"h{rng.randrange(400)}", rng.choice((value, value, 0)),
                           NOW + timedelta(minutes=rng.choice((rng.randrange(7 * 24 * 60), 48 * 60, 0))))

    known = [post(k) for k in range(1, 150)]
    new = [post(k) for k in range(150, 1500)]
    links = link_duplicates(known, new)
    assert links == _reference_links(known, new)
    assert 100 < len(links) < 1300, "the set has both repeats and originals"


@pytest.mark.parametrize("max_bits", [0, 1, 3, 7])
def test_every_band_width_links_as_the_definition_says(max_bits: int) -> None:
    """Band keys pack (brand, band, bits) into one int: with 64-, 32-, 16- and 8-bit bands, over two brands whose
    posts share hashes, the links are the plain definition's (a key of one brand never finds the other's)."""
    rng = random.Random(max_bits)
    templates = [rng.getrandbits(64) for _ in range(6)]

    def post(key: int) -> Fingerprint:
        value = rng.choice(templates)
        for _ in range(rng.choice((0, 1, 2, 3, 5))):
            value ^= 1 << rng.randrange(64)
        return Fingerprint(key, rng.choice(("澄星", "青禾")), f"h{key % 50}", value,
                           NOW + timedelta(hours=rng.randrange(72)))

    known, new = [post(k) for k in range(1, 60)], [post(k) for k in range(60, 400)]
    links = link_duplicates(known, new, max_bits=max_bits)
    assert links == _reference_links(known, new, max_bits)
    assert 50 < len(links) < 340


def test_a_copy_paste_campaign_links_as_its_definition_says() -> None:
    """Hundreds of templated posts in two hours share a band, most more than 3 bits apart (originals piling up in
    one band, compared at once rather than one by one): the links are still the plain definition's."""
    import random

    from tasks.monitoring import duplicates

    rng = random.Random(5)
    base = rng.getrandbits(64)

    def post(key: int) -> Fingerprint:
        value = base
        for _ in range(rng.choice((1, 2, 4, 5, 6))):
            value ^= 1 << rng.randrange(16, 64)  # band 0 (the lowest 16 bits) stays the template's
        return Fingerprint(key, "澄星", f"h{key}", value, NOW + timedelta(seconds=rng.randrange(2 * 3600)))

    known = [post(k) for k in range(1, 40)]
    new = [post(k) for k in range(40, 1200)]
    compared_at_once = 0
    one_band = duplicates._Bucket.first_near

    def counted(*args):  # type: ignore[no-untyped-def]
        nonlocal compared_at_once
        compared_at_once += 1
        return one_band(*args)

    duplicates._Bucket.first_near = counted  # type: ignore[method-assign]
    try:
        links = link_duplicates(known, new)
    finally:
        duplicates._Bucket.first_near = one_band  # type: ignore[method-assign]
    assert links == _reference_links(known, new)
    assert compared_at_once > 500, "the band's originals were compared at once"
    assert 100 < len(links) < 1000, "the campaign has both repeats and originals"


def test_health_counts_failures_in_a_row_and_keeps_the_last_success() -> None:
    first = next_health(None, SourceOutcome("weibo", "http", mentions=12), NOW)
    assert (first["status"], first["last_success_at"], first["consecutive_failures"]) == ("ok", NOW, 0)
    later = NOW + timedelta(minutes=5)
    failed = next_health(first, SourceOutcome("weibo", "http", error="weibo: page 1: HTTP 503"), later)
    failed = next_health(failed, SourceOutcome("weibo", "http", error="weibo: page 1: HTTP 503"), later)
    assert (failed["status"], failed["last_success_at"], failed["consecutive_failures"]) == ("failing", NOW, 2)
    assert failed["last_error"] == "weibo: page 1: HTTP 503" and failed["last_count"] == 0
    partial = next_health(failed, SourceOutcome("weibo", "http", mentions=3, problems=1), later)
    assert (partial["status"], partial["consecutive_failures"], partial["last_error"]) == (
        "partial", 0, "weibo: page 1: HTTP 503")
    rows = merge_with_config({"weibo": partial}, [("weibo", "http", True), ("rss", "rss", True), ("old", "sql", False)])
    assert [(r.name, r.status) for r in rows] == [("weibo", "partial"), ("rss", "never run"), ("old", "disabled")]


def test_the_record_format_duplicate_and_health_modules_stay_pure() -> None:
    import json
    import subprocess
    import sys

    from tests.unit.conftest import ROOT
    from tests.unit.test_purity import FORBIDDEN, PROBE

    modules = ["tasks.monitoring.sources", "tasks.monitoring.formats", "tasks.monitoring.duplicates",
               "tasks.monitoring.health", "tasks.monitoring.resilience"]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules), json.dumps(FORBIDDEN)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout)
    assert report == {"offenders": {}, "broken": {}, "loaded": []}


def test_the_stored_simhash_digits_are_the_bands_link_duplicates_indexes() -> None:
    """recent_originals asks the database for originals sharing a band, by the hex digits of the stored SimHash."""
    import random
    from datetime import UTC, datetime, timedelta

    from tasks.monitoring.duplicates import Fingerprint, _Originals, hex_bands

    bands = hex_bands()
    assert bands is not None and len(bands) == 4
    index = _Originals(3, timedelta(hours=48))
    for value in [0, 2**64 - 1, *(random.Random(7).getrandbits(64) for _ in range(200))]:
        stored = f"{value:016x}"
        (keys,) = index.band_keys_of([Fingerprint(1, "b", "h", value, datetime.now(UTC))])
        assert [int(stored[start - 1:start - 1 + length], 16) for start, length in bands] == [k & 0xFFFF for k in keys]
