"""One entry to read any configured source, and its secrets read at run time (never logged)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.files import AnySource, FileSource, HttpSource, RssSource
from config.settings import read_environment
from tasks.monitoring.errors import SourceRejected
from tasks.monitoring.sources import ReadReport, SourceProgress
from tasks.monitoring.sources_files import AlreadyRead, read_drop_folder
from tasks.monitoring.sources_http import read_http_source
from tasks.monitoring.sources_sql import read_sql_source


def secret(source: str, env: str | None, block: str | None) -> str | None:
    """Return a secret from the named environment variable or Prefect Secret block; None if none is named."""
    if env:
        value = read_environment(env)
        if not value:
            raise SourceRejected(f"{source}: 环境变量 {env} 未设置")
        return value
    if block:
        from prefect.blocks.system import Secret

        try:
            return str(Secret.load(block).get())
        except ValueError:
            raise SourceRejected(f"{source}: 没有名为 {block!r} 的 Prefect Secret 块") from None
    return None


def read(source: AnySource, progress: SourceProgress | None, now: datetime, timezone: ZoneInfo, var: Path,
         wall_clock: float, already_read: AlreadyRead) -> ReadReport:
    """Read one source as of `now` from where its last scan left off (`wall_clock`: the machine's time, which
    tells a post dated years ahead from one a scan in the past has not reached yet)."""
    if isinstance(source, FileSource):
        return read_drop_folder(source, var, now, timezone, wall_clock, already_read)
    clock = datetime.fromtimestamp(wall_clock, UTC)
    if isinstance(source, RssSource):
        from tasks.monitoring.sources_rss import read_rss_source  # feedparser: imported by a scan that reads a feed

        return read_rss_source(source, progress, now, timezone, clock=clock)
    if isinstance(source, HttpSource):
        return read_http_source(source, progress, secret(source.name, source.token_env, source.token_block), now,
                                timezone, clock=clock)
    url = secret(source.name, source.url_env, source.url_block) or source.url
    return read_sql_source(source, progress, str(url), now, timezone, clock=clock)
