"""The one public way for any stage to queue a message: outbox rows, each queued once per dedup key and
delivered by the notify flow. Stages call `queue_mail` (one message to several people) or `queue_letters`
(a message of its own per addressee), never notify's internals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tasks.notify.delivery import DeliveryStatus, message_id_for
from tasks.notify.repository import enqueue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CHUNK = 1000  # rows per INSERT: a batch's notices go out in a few statements, not one huge one


@dataclass(frozen=True)
class Letter:
    """One addressee's message and the key that lets it be queued only once."""

    recipient: str
    dedup_key: str
    subject: str
    body_text: str
    body_html: str


def queue_letters(session: Session, *, incident_id: int | None, kind: str, letters: Sequence[Letter],
                  now: datetime, not_before: datetime | None = None) -> int:
    """Queue each letter unless its dedup key is already in the outbox; return how many were added.
    `incident_id` is None only for mail about no incident; `not_before` holds them until then."""
    rows: list[dict[str, object]] = [
        {"incident_id": incident_id, "kind": kind, "recipient": letter.recipient, "dedup_key": letter.dedup_key,
         "subject": letter.subject, "body_text": letter.body_text, "body_html": letter.body_html,
         "status": DeliveryStatus.PENDING.value, "attempts": 0, "message_id": message_id_for(letter.dedup_key),
         "created_at": now, "not_before": not_before}
        for letter in letters]
    return sum(enqueue(session, rows[i : i + CHUNK]) for i in range(0, len(rows), CHUNK))


def queue_mail(session: Session, *, incident_id: int | None, kind: str, recipients: Iterable[str],
               dedup_prefix: str, subject: str, body_text: str, body_html: str, now: datetime,
               not_before: datetime | None = None) -> int:
    """Queue the same message to each recipient once, keyed `<dedup_prefix>:<address in lower case>`, in
    address order; return how many were added (a re-run adds none)."""
    letters = [Letter(email, f"{dedup_prefix}:{email.lower()}", subject, body_text, body_html)
               for email in sorted(recipients, key=str.lower)]
    return queue_letters(session, incident_id=incident_id, kind=kind, letters=letters, now=now,
                         not_before=not_before)
