"""Send mail through yagmail over SMTP.

yagmail owns the connection (SSL / STARTTLS / login). The message itself is built with the
standard library so that it has exactly one plain-text and one HTML part and a Message-ID
derived from the outbox's dedup key (a resend after a crash carries the same id).
"""

from __future__ import annotations

import contextlib
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import yagmail

from config.settings import EmailSettings
from tasks.secrets import email_password


def build_message(
    settings: EmailSettings, to: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    """Return a multipart/alternative message (plain text and HTML), UTF-8 throughout."""
    message = EmailMessage()
    message["From"] = Address(display_name=settings.sender_name, addr_spec=settings.user)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


class SmtpSender:
    """One yagmail SMTP connection for a batch of messages."""

    def __init__(self, settings: EmailSettings):
        self.settings = settings
        password = email_password(settings)
        self.client = yagmail.SMTP(
            user=settings.user,
            password=password,
            host=settings.host,
            port=settings.port,
            smtp_ssl=settings.ssl,
            smtp_starttls=settings.starttls,
            smtp_skip_login=password is None,
            soft_email_validation=False,
            timeout=settings.timeout_seconds,
        )
        self.connected = False

    def connect(self) -> None:
        """Connect and log in unless already connected; errors propagate for the caller to classify."""
        if not self.connected:
            self.client.login()
            self.connected = True

    def send(self, to: str, subject: str, text: str, html: str, message_id: str) -> None:
        """Send one message; SMTP errors propagate for the caller to classify."""
        self.connect()
        message = build_message(self.settings, to, subject, text, html, message_id)
        self.client.smtp.send_message(message, from_addr=self.settings.user, to_addrs=[to])

    def reset(self) -> None:
        """Drop the connection after a failure; the next message opens a fresh one."""
        self.close()

    def close(self) -> None:
        """Close the connection, quietly when the server already dropped it."""
        if self.connected:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.client.close()
        self.connected = False
