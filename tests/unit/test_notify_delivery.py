"""What an SMTP failure means (tasks/notify/delivery.py): retry later, fix our settings (the batch stops,
no message is blamed), or fail this one message."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from tasks.notify.delivery import Outcome, classify, message_id_for


@pytest.mark.parametrize("exc", [smtplib.SMTPAuthenticationError(535, b"Authentication failed"),
                                 smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
                                 ssl.SSLCertVerificationError("certificate verify failed"),
                                 UnicodeEncodeError("ascii", "口令", 0, 1, "a password smtplib cannot send")],
                         ids=lambda e: type(e).__name__)
def test_a_refusal_while_connecting_means_our_settings(exc: BaseException) -> None:
    assert classify(exc, connecting=True) is Outcome.FIX_SETTINGS


@pytest.mark.parametrize("exc", [ConnectionRefusedError(111, "refused"), TimeoutError("timed out"),
                                 smtplib.SMTPConnectError(421, b"Too busy"), smtplib.SMTPServerDisconnected("gone")],
                         ids=lambda e: type(e).__name__)
def test_a_server_that_is_down_or_busy_is_retried_later(exc: BaseException) -> None:
    assert classify(exc, connecting=True) is classify(exc, connecting=False) is Outcome.RETRY


@pytest.mark.parametrize("exc, outcome", [
    (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"no such user")}), Outcome.FAIL_MESSAGE),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (451, b"busy")}), Outcome.RETRY),
    (smtplib.SMTPDataError(554, b"Message rejected"), Outcome.FAIL_MESSAGE),
    (smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"), Outcome.FAIL_MESSAGE),
    (smtplib.SMTPSenderRefused(550, b"Sender rejected", "bot@shop.example"), Outcome.FIX_SETTINGS),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v))
def test_sending_one_message_blames_it_only_for_its_own_refusals(exc: BaseException, outcome: Outcome) -> None:
    assert classify(exc, connecting=False) is outcome


def test_the_message_id_is_stable_per_dedup_key() -> None:
    assert message_id_for("alert:INC-1:II:a@x") == message_id_for("alert:INC-1:II:a@x")
    assert message_id_for("alert:INC-1:II:a@x") != message_id_for("alert:INC-1:I:a@x")
    assert message_id_for("x").endswith("@crisis.local>")
