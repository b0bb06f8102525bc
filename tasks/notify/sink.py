"""A local SMTP sink (aiosmtpd) that keeps every message it receives as an .eml file.

The embedded stack's stand-in for a real mail server: `python -m tasks.notify.sink --dir var/mail`.
"""

from __future__ import annotations

import argparse
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


def start_sink(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the sink in a background thread and return its controller (call .stop() to end it)."""
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink that stores messages as .eml files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = start_sink(args.dir, args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on {args.host}:{args.port}, storing mail in {args.dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
