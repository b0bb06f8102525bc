"""Which SMTP failures are retried (tasks/notify/delivery.py)."""

from __future__ import annotations

import smtplib

import pytest

from tasks.notify.delivery import is_transient


@pytest.mark.parametrize(
    "exc",
    [
        smtplib.SMTPResponseException(421, b"Service not available"),
        smtplib.SMTPResponseException(450, b"Mailbox busy"),
        smtplib.SMTPDataError(451, b"Local error"),
        smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"busy"), "b@x.example": (421, b"later")}),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPConnectError(421, b"Too many connections"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_that_may_pass_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        smtplib.SMTPResponseException(550, b"No such user"),
        smtplib.SMTPResponseException(553, b"Mailbox name not allowed"),
        smtplib.SMTPAuthenticationError(535, b"Authentication failed"),
        smtplib.SMTPSenderRefused(550, b"Sender rejected", "bot@shop.example"),
        smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"busy"), "b@x.example": (550, b"no user")}),
        smtplib.SMTPRecipientsRefused({"a@x.example": (553, b"bad address")}),
        ValueError("not an SMTP failure"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_that_never_pass_are_permanent(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_failures_that_never_pass_are_not_retried() -> None:
    import smtplib
    import ssl

    from tasks.notify.delivery import is_transient

    assert not is_transient(smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."))
    assert not is_transient(ssl.SSLCertVerificationError("certificate verify failed"))
    assert not is_transient(smtplib.SMTPRecipientsRefused({}))
    assert not is_transient(smtplib.SMTPAuthenticationError(535, b"authentication failed"))
