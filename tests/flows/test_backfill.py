"""A backfill re-analyses stored mentions on a Dask LocalCluster after a lexicon change."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import func, select

from config.files import clear_caches
from flows.backfill import backfill
from tasks.db import session_scope
from tasks.models import Mention
from tasks.monitoring.sources import RawMention
from tasks.monitoring.tasks import analyse_mentions, store_mentions

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def test_backfill_applies_a_new_brand_to_stored_mentions(sqlite_db: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    mentions = [RawMention("test", str(i), f"星河手机用了三天就坏了，质量太差 {i}", NOW) for i in range(60)]
    with disable_run_logger():
        store_mentions.fn(analyse_mentions.fn(mentions, NOW))
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(Mention.brand.is_not(None))) == 0
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lexicon = (copy / "lexicon.toml").read_text(encoding="utf-8")
    (copy / "lexicon.toml").write_text(lexicon.replace(
        '[brands."澄星"]', '[brands."星河"]\naliases = ["星河"]\nproducts = ["星河手机"]\n\n[brands."澄星"]'),
        encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
    monkeypatch.setenv("CRISIS_ANALYSIS__MODEL_PATH", str(_default_model()))
    clear_caches()
    result = backfill(since=datetime(2026, 11, 26, tzinfo=UTC), until=NOW, chunk_size=25, workers=2)
    assert result == {"chunks": 3, "mentions": 60}
    with session_scope() as session:
        branded = session.scalars(select(Mention.product).where(Mention.brand == "星河")).all()
    assert branded == ["星河手机"] * 60


def _default_model() -> Path:
    from tasks.monitoring.sentiment_model import default_model_path, get_model

    get_model()
    return default_model_path()
