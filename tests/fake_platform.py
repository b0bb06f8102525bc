"""A local HTTP server that behaves like a platform API and a news site, for the source tests.

- `/api/cursor?cursor=c0&count=N`: posts by cursor (Bearer token required, 401 without), Weibo-like
  nested JSON (`data.posts`, `data.next_cursor`, `user.followers_count`);
- `/api/pages?page=1&size=N&since=ISO`: posts by page (an `X-Api-Key` header required), `result.list`;
- `/rss.xml` and `/atom.xml`: feeds of `entries`, with an ETag (304 when unchanged);
- faults on demand, one per request, per path: an HTTP status with headers (429 + Retry-After, 500),
  a delay beyond the client's timeout, a body that is not JSON.
Every request is recorded (path, query, headers) so tests can assert what the client sent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

import pytest

from config.files import clear_caches
from config.settings import CONFIG_DIR


def use_sources(folder: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> Path:
    """Point the settings at a copy of config/ whose sources.toml is `toml`; return the copy."""
    config = folder / "config"
    if not config.exists():
        shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (config / "sources.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("CRISIS_CONFIG_DIR", str(config))
    clear_caches()
    return config


@dataclass
class Fault:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


def post(mid: str, text: str, at: datetime, author: str = "用户", followers: int = 100) -> dict[str, Any]:
    """Return a post as the platform's API shows it."""
    return {"mid": mid, "text": text, "created_at": at.isoformat(), "url": f"https://weibo.example/{mid}",
            "user": {"screen_name": author, "followers_count": followers}}


@dataclass
class Entry:
    guid: str
    title: str
    summary: str
    published: datetime
    link: str = ""


class FakePlatform:
    def __init__(self, token: str = "s3cret-token"):
        self.token = token
        self.posts: list[dict[str, Any]] = []
        self.entries: list[Entry] = []
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.requests: list[Seen] = []
        self.feed_body: bytes | None = None
        self._server: ThreadingHTTPServer | None = None

    # The test's side
    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def fail(self, path: str, *faults: Fault) -> None:
        """Queue faults for the next requests to `path` (one each)."""
        self.faults[path].extend(faults)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FakePlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                platform._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # The server's side
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(request.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.requests.append(Seen(parsed.path, query, {k.lower(): v for k, v in request.headers.items()}))
        fault = self.faults[parsed.path].pop(0) if self.faults[parsed.path] else None
        try:
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and (fault.status != 200 or fault.body is not None):
                body = fault.body if fault.body is not None else json.dumps({"error": fault.status}).encode()
                return self._send(request, fault.status, body, fault.headers)
            routes = {"/api/cursor": self._cursor, "/api/pages": self._pages, "/rss.xml": self._rss,
                      "/atom.xml": self._atom}
            if parsed.path not in routes:
                return self._send(request, 404, b'{"error": "not found"}')
            routes[parsed.path](request, query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): as a real server would, carry on

    def _send(self, request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json; charset=utf-8") -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)

    def _cursor(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(request, 401, b'{"error": "unauthorized"}')
        offset = int(query.get("cursor", "c0")[1:] or 0)
        page = self.posts[offset : offset + int(query.get("count", "10"))]
        body = {"data": {"posts": page, "next_cursor": f"c{offset + len(page)}"}}
        self._send(request, 200, json.dumps(body, ensure_ascii=False).encode())

    def _pages(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if request.headers.get("X-Api-Key") != self.token:
            return self._send(request, 401, b'{"error": "unauthorized"}')
        since = datetime.fromisoformat(query["since"]) if query.get("since") else None
        posts = [p for p in self.posts if since is None or datetime.fromisoformat(p["created_at"]) > since]
        size, page = int(query.get("size", "10")), int(query.get("page", "1"))
        body = {"code": 0, "result": {"list": posts[(page - 1) * size : page * size]}}
        self._send(request, 200, json.dumps(body, ensure_ascii=False).encode())

    def _feed(self, request: BaseHTTPRequestHandler, body: bytes, content_type: str) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return
        self._send(request, 200, body, {"ETag": etag}, content_type)

    def _rss(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        items = "".join(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link><guid>{escape(e.guid)}</guid>"
            f"<description>{escape(e.summary)}</description><pubDate>{format_datetime(e.published)}</pubDate></item>"
            for e in self.entries)
        body = self.feed_body or (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                                  f"<title>消费新闻</title><link>https://news.example</link>{items}</channel></rss>").encode()
        self._feed(request, body, "application/rss+xml; charset=utf-8")

    def _atom(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        entries = "".join(
            f"<entry><id>{escape(e.guid)}</id><title>{escape(e.title)}</title><link href=\"{escape(e.link)}\"/>"
            f"<author><name>记者</name></author><summary type=\"html\">{escape(e.summary)}</summary>"
            f"<updated>{e.published.isoformat()}</updated></entry>"
            for e in self.entries)
        body = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>消费观察</title><id>urn:news</id><updated>2026-11-27T00:00:00Z</updated>{entries}</feed>")
        self._feed(request, body.encode(), "application/atom+xml; charset=utf-8")
