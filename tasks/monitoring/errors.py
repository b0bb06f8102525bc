"""Named errors of the mention sources: each says which source, which request or record, and why."""

from __future__ import annotations

from tasks.errors import CrisisError


class SourceError(CrisisError):
    """A source could not be read this scan; the message starts with the source's name."""


class SourceUnavailable(SourceError):
    """A transient failure (timeout, dropped connection, HTTP 429 or 5xx) outlasted the source's retries."""


class TransientSourceError(SourceUnavailable):
    """One try failed in a way worth retrying; `retry_after` is the server's Retry-After in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SourceRejected(SourceError):
    """The source refused the request (HTTP 4xx other than 429, missing secret): retrying will not help."""


class SourceDataInvalid(SourceError):
    """The source answered with something that is not what its config says (malformed JSON, not a feed)."""


class SourcesFailed(CrisisError):
    """The scan's partial-failure policy: the other sources were scanned and triaged, these failed."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        named = "；".join(e if e.startswith(f"{n}:") else f"{n}: {e}" for n, e in failures.items())
        super().__init__(f"{len(failures)} 个来源读取失败（其余来源已扫描并研判）：{named}")
