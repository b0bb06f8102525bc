"""A local SMTP sink (aiosmtpd) that keeps every message it receives as an .eml file.

The embedded stack's stand-in for a real mail server: `python -m tasks.notify.sink --dir var/mail`.
It takes mail from anyone who can reach it, so it listens on loopback only unless told `--allow-remote`.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import os
import signal
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_counter = itertools.count(1)


class MaildirHandler:
    """Write each message atomically as <time>-<n>.eml, with the envelope recipients as a header."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        name = f"{time.time_ns()}-{os.getpid()}-{next(_counter)}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(header + content)
        partial.rename(self.directory / name)
        return "250 Message accepted for delivery"


class SinkRefused(ValueError):
    """The sink was asked to listen beyond loopback without being allowed to."""


def is_loopback(host: str) -> bool:
    """Tell whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_sink(directory: Path, host: str = "127.0.0.1", port: int = 8025, allow_remote: bool = False) -> Controller:
    """Start the sink in a background thread and return its controller (call .stop() to end it).

    Refuses (SinkRefused) a host beyond loopback unless `allow_remote`: anyone could drop mail into it.
    """
    if not allow_remote and not is_loopback(host):
        raise SinkRefused(f"SMTP 接收器拒绝在 {host} 上监听：只允许本机地址（127.0.0.1、::1、localhost），"
                          "确需对外请加 --allow-remote")
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink that stores messages as .eml files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    parser.add_argument("--allow-remote", action="store_true", help="listen beyond loopback (anyone may send)")
    args = parser.parse_args()
    try:
        controller = start_sink(args.dir, args.host, args.port, args.allow_remote)
    except SinkRefused as exc:
        parser.exit(2, f"{exc}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on {args.host}:{args.port}, storing mail in {args.dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
