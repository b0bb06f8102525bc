"""Helpers shared by tests: free ports, a real SMTP sink, reading the mail it stored."""

from __future__ import annotations

import email
import socket
from email import policy
from email.message import EmailMessage
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_mail(folder: Path) -> list[EmailMessage]:
    """Return every message the sink stored, oldest first, parsed."""
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml")):
        messages.append(email.message_from_bytes(path.read_bytes(), policy=policy.default))
    return messages  # type: ignore[return-value]


def text_part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()
