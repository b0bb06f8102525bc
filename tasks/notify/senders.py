"""Send mail through yagmail over SMTP.

yagmail owns the connection (SSL / STARTTLS / login). The message itself is built with the
standard library so that it has exactly one plain-text and one HTML part and a Message-ID
derived from the outbox's dedup key (a resend after a crash carries the same id). The SMTP
transaction is spelled out (MAIL, RCPT, DATA) so that a connection lost after the data went out,
before the server answered, is told apart: DeliveryUncertain, the server may have the message.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import yagmail

from config.settings import EmailSettings
from tasks.notify.delivery import DeliveryUncertain
from tasks.secrets import email_password

_LEADING_DOT = re.compile(rb"(?m)^\.")


def build_message(
    settings: EmailSettings, to: str, subject: str, text: str, html: str, message_id: str, from_name: str | None = None
) -> EmailMessage:
    """Return a multipart/alternative message (plain text and HTML), UTF-8 throughout, from `from_name` (the
    shop, for customers) or settings' sender_name."""
    message = EmailMessage()
    message["From"] = Address(display_name=from_name or settings.sender_name, addr_spec=settings.user)
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

    def send(self, to: str, subject: str, text: str, html: str, message_id: str, from_name: str | None = None) -> None:
        """Send one message; SMTP errors propagate for the caller to classify."""
        self.connect()
        message = build_message(self.settings, to, subject, text, html, message_id, from_name)
        smtp: smtplib.SMTP = self.client.smtp
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(self.settings.user)
        if code != 250:
            _reset(smtp)
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.user)
        code, reply = smtp.rcpt(to)
        if code not in (250, 251):
            _reset(smtp)
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        _data(smtp, message.as_bytes(policy=message.policy.clone(linesep="\r\n")), message_id)

    def reset(self) -> None:
        """Drop the connection after a failure; the next message opens a fresh one."""
        self.close()

    def close(self) -> None:
        """Close the connection, quietly when the server already dropped it. Also after a refused login: a
        yagmail client left open says QUIT from its __del__, in whatever thread the garbage collector runs
        (once the thread of a loopback SMTP server, which then waited on itself for the socket timeout)."""
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.client.close()
        self.connected = False


def _data(smtp: smtplib.SMTP, payload: bytes, message_id: str) -> None:
    """DATA as smtplib sends it, but a reply lost once the data is out raises DeliveryUncertain."""
    code, reply = smtp.docmd("DATA")
    if code != 354:
        _reset(smtp)
        raise smtplib.SMTPDataError(code, reply)
    body = _LEADING_DOT.sub(b"..", payload)
    smtp.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    try:
        code, reply = smtp.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise DeliveryUncertain(f"邮件 {message_id} 发出后、服务器应答前连接断开（{exc}）：对方可能已收到") from exc
    if code != 250:
        _reset(smtp)
        raise smtplib.SMTPDataError(code, reply)


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPServerDisconnected, OSError):
        smtp.rset()
