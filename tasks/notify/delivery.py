"""Outbox delivery policy: statuses, and which SMTP failures are worth retrying. Pure."""

from __future__ import annotations

import smtplib
import socket
from enum import StrEnum

from datetime import timedelta

# A message still undelivered this long after it was queued is given up and reported.
GIVE_UP_AFTER = timedelta(hours=24)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def is_transient(exc: BaseException) -> bool:
    """Tell whether an SMTP failure may pass (server down, 4xx) rather than never (5xx, bad address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | ConnectionError |
                      socket.timeout | TimeoutError | OSError)
