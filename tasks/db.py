"""The only place that creates engines: the app's (and its sessions; lazily, cached, resettable in tests), the
shop's orders database, and read-only engines on the databases a SQL source reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Engine, Executable, Result, Table, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from config.settings import get_settings

_engine: Engine | None = None
_sessions: sessionmaker[Session] | None = None
_orders_engine: Engine | None = None


def _tune_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _app_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def hold_lock(session: Session, key: int) -> None:
    """Hold the advisory lock `key` until the session's transaction ends, so writers that take it take turns
    (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises every writer, so there it does nothing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def get_engine() -> Engine:
    """Return the process-wide engine for the configured database, creating it on first use."""
    global _engine
    if _engine is None:
        _engine = _app_engine(get_settings().sqlalchemy_url)
    return _engine


@contextmanager
def database_at(url: str) -> Iterator[None]:
    """Run the app on the database at `url` while the block runs (a replay's throwaway SQLite), then on the
    configured one again. Process-wide: nothing else may use the app database meanwhile."""
    global _engine, _sessions
    saved, engine = (_engine, _sessions), _app_engine(url)
    _engine, _sessions = engine, None
    try:
        yield
    finally:
        engine.dispose()
        _engine, _sessions = saved


def get_sessionmaker() -> sessionmaker[Session]:
    """Return the cached session factory bound to the engine."""
    global _sessions
    if _sessions is None:
        _sessions = sessionmaker(get_engine(), expire_on_commit=False)
    return _sessions


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open one unit of work: commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_rows(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> Result[Any]:
    """Run a SELECT of columns (no ORM entities) on the session's connection, after flushing what the session
    holds: the rows session.execute gives, without the ORM's per-row loading (a third of the time of the
    1,000-row reads triage makes at every scan of a busy day). `params` fill the statement's bindparams."""
    session.flush()
    return session.connection().execute(statement, params)


_prepared: dict[Hashable, Any] = {}
_T = TypeVar("_T")
_PREPARED_AT_MOST = 4096


def prepared(key: Hashable | None, build: Callable[[], _T]) -> _T:
    """Return what `build` makes for `key` (statements whose values are bindparams), built once per process.

    Building a statement and computing its cache key were about a fifth of a replayed week's time: triage builds
    the same dozen statements at every scan, with only times and ids changing. A statement object keeps its
    cache key once computed, so one built once and run with parameters pays neither again. `key` must hold
    everything the statement's shape depends on (a brand named in it, a count of conditions); None builds anew
    (a statement holding values that are not parameters)."""
    if key is None:
        return build()
    found = _prepared.get(key)
    if found is None:
        if len(_prepared) >= _PREPARED_AT_MOST:  # keys name brands: a replay of many files watches many
            _prepared.clear()
        found = _prepared.setdefault(key, build())
    return found


def is_postgresql() -> bool:
    """Tell whether the app data lives on PostgreSQL."""
    return get_engine().dialect.name == "postgresql"


def get_orders_engine() -> Engine:
    """Return the engine of the shop's orders database (CRISIS_ORDERS_DATABASE_URL), read by compensation."""
    global _orders_engine
    if _orders_engine is None:
        url = get_settings().orders_database_url
        if not url:
            from tasks.errors import OrdersSourceInvalid

            raise OrdersSourceInvalid("未配置订单数据库：请设置 CRISIS_ORDERS_DATABASE_URL（或改用订单文件）")
        _orders_engine = create_engine(url, pool_pre_ping=True)
    return _orders_engine


def read_only_engine(url: str, timeout: float) -> Engine:
    """Return an engine on someone else's database whose connections refuse writes (one use: NullPool);
    ValueError for an in-memory SQLite URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    statement = ""
    if backend == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise ValueError("SQL 来源需要 SQLite 文件，不能用内存数据库")
        engine = create_engine(url, poolclass=NullPool, creator=lambda: sqlite3.connect(
            f"file:{quote(path)}?mode=ro", uri=True, timeout=timeout, check_same_thread=False))
        statement = "PRAGMA query_only = ON"
    elif backend == "postgresql":
        options = f"-c default_transaction_read_only=on -c statement_timeout={int(timeout * 1000)}"
        engine = create_engine(url, poolclass=NullPool,
                               connect_args={"connect_timeout": max(1, int(timeout)), "options": options})
    else:
        engine = create_engine(url, poolclass=NullPool)
        statement = "SET SESSION TRANSACTION READ ONLY" if backend == "mysql" else ""

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        if statement:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()

    return engine


def reset_engine() -> None:
    """Dispose of the engines so the next use reads the settings again (tests, forks)."""
    global _engine, _sessions, _orders_engine
    for engine in (_engine, _orders_engine):
        if engine is not None:
            engine.dispose()
    _engine, _sessions, _orders_engine = None, None, None


def alembic_config():  # type: ignore[no-untyped-def]
    """Return an Alembic config for the migrations shipped in tasks/migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return config


def upgrade_database(revision: str = "head") -> None:
    """Apply migrations up to `revision` on the configured database (safe to re-run)."""
    from alembic import command

    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def insert_ignoring_duplicates(table):  # type: ignore[no-untyped-def]
    """Return an INSERT for `table` that skips rows hitting a unique constraint (both dialects), built once per
    dialect and table (see prepared)."""
    dialect = get_engine().dialect.name
    return prepared(("insert_ignoring_duplicates", dialect, table), lambda: _insert_ignoring(dialect, table))


def _insert_ignoring(dialect: str, table):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def sqlite_insert_ignoring_duplicates(session: Session, table: Table, rows: Sequence[Mapping[str, object]],
                                      columns: Mapping[str, Sequence[object]] | None = None) -> int:
    """Insert many rows on SQLite as insert_ignoring_duplicates(table) would, straight to the driver in the
    session's transaction: at 100,000 mentions SQLAlchemy's per-row parameter processing took about as long as
    SQLite's own insert. Each column's values go through its type's bind processor, column by column (the text
    SQLAlchemy would store: a UTC time, a boolean as 0/1); the columns are the first row's keys, and a column
    left out takes its scalar default, as SQLAlchemy's executemany does. `columns` gives more columns' values, row
    by row, beside the rows' own (a column in both: these). Return how many rows were inserted."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    first = rows[0]
    columns = columns or {}
    given = [c for c in table.columns if c.name in first and c.name not in columns]
    defaulted = [c for c in table.columns if c.name not in first and c.name not in columns
                 and c.default is not None and getattr(c.default, "is_scalar", False)]
    series: list[Iterable[object]] = []
    # The given columns of every row in one C-level pass, then column by column (a comprehension per column
    # looked 22 keys up in 100,000 dicts one at a time: 0.25 s).
    picked = map(itemgetter(*(c.name for c in given)), rows) if given else iter(())
    by_column = list(zip(*picked, strict=True)) if len(given) > 1 else [list(picked)] * len(given)
    for column, values in zip(given, by_column, strict=True):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        series.append(list(map(process, values)) if process else values)
    added = [c for c in table.columns if c.name in columns]
    for column in added:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        values = columns[column.name]
        series.append(list(map(process, values)) if process else values)
    for column in defaulted:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        value = column.default.arg  # type: ignore[union-attr]
        series.append(repeat(process(value) if process else value, len(rows)))
    name_of = dialect.identifier_preparer.quote
    names = [*given, *added, *defaulted]
    statement = (f"INSERT INTO {name_of(table.name)} ({', '.join(name_of(c.name) for c in names)}) "
                 f"VALUES ({', '.join('?' for _ in names)}) ON CONFLICT DO NOTHING")
    # exec_driver_sql: the driver's executemany, its errors raised as SQLAlchemy's (as every other statement's)
    return connection.exec_driver_sql(statement, list(zip(*series, strict=True))).rowcount


def is_transient_db_error(exc: BaseException) -> bool:
    """Tell whether a database error is worth retrying (locked database, dropped connection)."""
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        message = str(exc).lower()
        return "locked" in message or "busy" in message or "connection" in message
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def retry_transient_db(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry_condition_fn: retry only transient database errors."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classifying, not swallowing
        return is_transient_db_error(exc)
    return False
