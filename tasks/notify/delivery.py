"""Outbox delivery policy: statuses, and which SMTP (and chat channel) failures are worth retrying. Pure."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from datetime import timedelta
from enum import StrEnum

# A message still undelivered this long after it was queued is given up and reported.
GIVE_UP_AFTER = timedelta(hours=24)


# A message whose delivery stayed uncertain this many times is not sent again (it most likely arrived).
MAX_UNCERTAIN_ATTEMPTS = 3


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The server had the whole message and dropped the connection before answering: it may have it. Sent
    # again (mail is at least once, with the same Message-ID) up to MAX_UNCERTAIN_ATTEMPTS tries in all.
    UNCERTAIN = "uncertain"


STATUS_NAMES: dict[str, str] = {DeliveryStatus.PENDING: "待发送", DeliveryStatus.SENDING: "发送中", DeliveryStatus.SENT: "已发送",
                DeliveryStatus.FAILED: "失败", DeliveryStatus.UNCERTAIN: "待确认"}


class DeliveryUncertain(smtplib.SMTPServerDisconnected):
    """The connection dropped after the message's data went out, before the server's answer."""


class ChannelUnavailable(Exception):
    """A group robot or the SMS gateway could not take the message now (5xx, 429, rate limit, no connection)."""


class ChannelRefused(Exception):
    """A group robot or the SMS gateway refused the message for good (wrong signature, bad key or number)."""


def message_id_for(dedup_key: str) -> str:
    """Return a Message-ID that stays the same for every attempt at the same message."""
    return f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}@crisis.local>"


def is_transient(exc: BaseException) -> bool:
    """Tell whether an SMTP failure may pass (server down, 4xx) rather than never (5xx, bad address,
    TLS or a feature the server lacks)."""
    if isinstance(exc, ChannelUnavailable | ChannelRefused):
        return isinstance(exc, ChannelUnavailable)
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLError | smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False
    return isinstance(exc, ConnectionError | TimeoutError | socket.timeout | socket.gaierror | OSError)


class Outcome(StrEnum):
    RETRY = "retry"  # keep the message pending: the server may take it later
    FIX_SETTINGS = "fix_settings"  # stop the batch, keep every message: our login, TLS or sender is refused
    FAIL_MESSAGE = "fail_message"  # this message never goes through (bad address, 5xx for it)


def classify(exc: BaseException, connecting: bool) -> Outcome:
    """Decide what an SMTP failure means, connecting (login, TLS) or sending one message."""
    if is_transient(exc):
        return Outcome.RETRY
    if connecting or isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        return Outcome.FIX_SETTINGS
    return Outcome.FAIL_MESSAGE
