"""Local stand-ins for the group robots (企业微信, 钉钉, 飞书) and a cloud SMS gateway, on loopback.

Each checks what the real platform checks (webhook key, DingTalk's and Feishu's signatures, the SMS
request signature) and answers in its shape, errors included. Scripted faults (`fail_next`) answer the
next requests with a rate limit, a 5xx or no answer in time; a message is kept only when accepted.
The `platforms` fixture points a copy of the roster's [channels] at them.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from config.files import clear_caches
from tasks.notify.chat import dingtalk_sign, feishu_sign, sms_sign

ROOT = Path(__file__).resolve().parents[1]
KEY, SECRET = "wk-7f3a9c1e5b2d", "SEC-d81c2b6e90fa44"  # the keys the fakes expect
RATE_LIMIT = {"wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
              "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
              "feishu": (200, {"code": 9499, "msg": "too many request"}),
              "sms": (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控"})}
BAD_KEY = {"wecom": {"errcode": 93000, "errmsg": "invalid webhook url"},
           "dingtalk": {"errcode": 310000, "errmsg": "sign not match"},
           "feishu": {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"},
           "sms": {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}}
OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
      "feishu": {"code": 0, "msg": "success", "data": {}}, "sms": {"Code": "OK", "Message": "OK", "BizId": "9001"}}


@dataclass
class Platforms:
    """What the fakes received, accepted and will answer next."""

    accepted: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in OK})
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OK, 0))
    raw: list[bytes] = field(default_factory=list)  # every request line, header and body, as sent
    faults: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in OK})
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, kind: str, *faults: str) -> None:
        """Answer the next requests to `kind` with these faults: "rate_limit", "5xx", "429" or "timeout"."""
        self.faults[kind] += faults


def _check(kind: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes, body: dict[str, Any]) -> bool:
    """Tell whether the request carries the right key and signature, as the platform would check it."""
    if kind == "wecom":
        return query.get("key") == [KEY]
    if kind == "dingtalk":
        stamp = query.get("timestamp", ["0"])[0]
        return query.get("access_token") == [KEY] and query.get("sign") == [dingtalk_sign(SECRET, int(stamp))]
    if kind == "feishu":
        return path.endswith("/" + KEY) and body.get("sign") == feishu_sign(SECRET, int(body.get("timestamp", 0)))
    return (headers.get("X-Access-Key-Id") == KEY and headers.get("X-Signature")
            == sms_sign(SECRET, int(headers.get("X-Timestamp", 0)), headers.get("X-Nonce", ""), raw))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # the test output stays quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        platforms = self.server.platforms
        url = urlsplit(self.path)
        kind = url.path.strip("/").split("/")[0]
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with platforms.lock:
            platforms.raw.append(self.requestline.encode() + bytes(self.headers) + raw)
            platforms.requests[kind] += 1
            fault = platforms.faults[kind].pop(0) if platforms.faults[kind] else None
        if fault == "timeout":
            platforms.release.wait(30)  # answers (too late) only when the test ends
            return
        if fault in ("5xx", "429"):
            self._answer(502 if fault == "5xx" else 429, {"error": "busy"})
            return
        if fault == "rate_limit":
            self._answer(*RATE_LIMIT[kind])
            return
        body = json.loads(raw or b"{}")
        if not _check(kind, url.path, parse_qs(url.query), self.headers, raw, body):
            self._answer(200, BAD_KEY[kind])
            return
        with platforms.lock:
            platforms.accepted[kind].append(body)
        self._answer(200, OK[kind])

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    platforms: Platforms


@contextmanager
def serve_platforms() -> Iterator[tuple[str, Platforms]]:
    """Serve every fake platform on a free loopback port; yield (base URL, what they saw)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.platforms = Platforms()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.platforms
    finally:
        server.platforms.release.set()
        server.shutdown()
        server.server_close()


ZHANG, LI = "13800000001", "13800000002"
CHANNELS = """
[channels.pr_group]
kind = "wecom"
url = "{base}/wecom/cgi-bin/webhook/send"
levels = ["I", "II", "III"]
roles = ["commander"]
key_env = "TEST_WECOM_KEY"
timeout_seconds = 0.5

[channels.legal_group]
kind = "dingtalk"
url = "{base}/dingtalk/robot/send"
roles = ["commander", "pr"]
key_env = "TEST_DINGTALK_TOKEN"
secret_env = "TEST_DINGTALK_SECRET"

[channels.cs_group]
kind = "feishu"
url = "{base}/feishu/open-apis/bot/v2/hook"
roles = ["cs"]
key_env = "TEST_FEISHU_TOKEN"
secret_env = "TEST_FEISHU_SECRET"

[channels.commander_sms]
kind = "sms"
url = "{base}/sms/send"
levels = ["I"]
roles = ["commander"]
key_env = "TEST_SMS_KEY_ID"
secret_env = "TEST_SMS_KEY_SECRET"
template = "SMS_402117"
sign_name = "澄星商城"
"""
ENVIRONMENT = {"TEST_WECOM_KEY": KEY, "TEST_DINGTALK_TOKEN": KEY, "TEST_DINGTALK_SECRET": SECRET,
               "TEST_FEISHU_TOKEN": KEY, "TEST_FEISHU_SECRET": SECRET, "TEST_SMS_KEY_ID": KEY,
               "TEST_SMS_KEY_SECRET": SECRET}


@pytest.fixture(name="platforms")
def platforms_fixture(var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platforms]:
    """The fakes on loopback, a roster whose channels point at them, and their keys in the environment."""
    copy = tmp_path / "config"
    shutil.copytree(ROOT / "config", copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    roster = copy / "roster.toml"
    text = roster.read_text(encoding="utf-8")
    text = text.replace('email = "zhang.wei@shop.example"\n',
                        f'email = "zhang.wei@shop.example"\nmobile = "{ZHANG}"\nchat_ids = {{ wecom = "zhangwei" }}\n')
    text = text.replace('email = "li.na@shop.example"\n', f'email = "li.na@shop.example"\nmobile = "{LI}"\n')
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PREFECT_UI_URL", "http://crisis.example:4200")
    with serve_platforms() as (base, seen):
        roster.write_text(text + CHANNELS.replace("{base}", base), encoding="utf-8")
        monkeypatch.setenv("CRISIS_CONFIG_DIR", str(copy))
        clear_caches()
        yield seen
