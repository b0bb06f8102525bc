"""Helpers of the notification tests: incidents with posts, the outbox, mail by kind."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from config.files import load_roster
from tasks.db import session_scope
from tasks.models import Incident, Mention, Notification
from tasks.notify.sink import MaildirHandler
from tests.helpers import read_mail

POST = "澄星空气炸锅用了两天就坏了，客服不理人"


def make_incident(
    key: str,
    at: datetime,
    *,
    brand: str = "澄星",
    category: str = "产品质量",
    level: str = "II",
    posts: Sequence[tuple[str, str]] = ((POST, "https://weibo.example/1"),),
) -> str:
    """Insert an open incident detected at `at` with its posts (text, url); return its key."""
    with session_scope() as session:
        incident = Incident(key=key, brand=brand, category=category, level=level, state="open", heat=66.0,
                            trigger_reason=f"负面声量阈值：最近 60 分钟「{brand}」负面提及 12 条",
                            negative_count=12, reach=54321, started_at=at, detected_at=at, is_drill=False)
        session.add(incident)
        session.flush()
        for number, (text, url) in enumerate(posts):
            session.add(Mention(source="weibo", external_id=f"{key}-{number}", platform="微博", url=url,
                                author=f"用户{number}", reach=1000 - number, published_at=at, fetched_at=at,
                                text=text, content_hash=f"{key}-{number}", simhash="0" * 16, sentiment=0.05,
                                negative=True, category=category, brand=brand, incident_id=incident.id))
    return key


def outbox(key: str | None = None) -> list[Notification]:
    """Return the outbox (of one incident, if given), oldest first."""
    with session_scope() as session:
        query = select(Notification).order_by(Notification.id)
        if key is not None:
            query = query.join(Incident, Incident.id == Notification.incident_id).where(Incident.key == key)
        return list(session.scalars(query))


def incident(key: str) -> Incident:
    with session_scope() as session:
        return session.scalars(select(Incident).where(Incident.key == key)).one()


def emails_of(*names: str) -> set[str]:
    """Return the roster addresses of these people."""
    return {p.email for p in load_roster().people if p.name in names}


def matrix_emails(level: str, category: str) -> set[str]:
    """Return the addresses the shipped roster's matrix names (deputies only stand in)."""
    roster = load_roster()
    roles = set(getattr(roster.notify, level)) | set(roster.notify.by_category.get(category, []))
    return {p.email for p in roster.people if roles & set(p.roles)}


def mail_by_subject(folder: Path, part: str) -> list[EmailMessage]:
    """Return the delivered messages whose subject contains `part`."""
    return [m for m in read_mail(folder) if part in m["Subject"]]


class PickyHandler(MaildirHandler):
    """Answer like a real server would: 550 for an unknown user, 451 once at RCPT or at DATA."""

    def __init__(self, directory: Path, unknown: set[str], busy_rcpt: set[str], busy_data: set[str]):
        super().__init__(directory)
        self.unknown, self.busy_rcpt, self.busy_data = unknown, set(busy_rcpt), set(busy_data)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        if address in self.busy_rcpt:
            self.busy_rcpt.discard(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        busy = self.busy_data & set(envelope.rcpt_tos)
        if busy:
            self.busy_data -= busy
            return "451 4.3.2 Please try again later"
        return await super().handle_DATA(server, session, envelope)
