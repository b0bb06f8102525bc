"""Who is told, and when: the roster's matrix of roles, deputies and quiet hours. Pure.

Quiet hours: level I reaches everyone at once. Otherwise a person in quiet hours is replaced by
their deputy when the deputy is awake; without one, the message waits until the quiet hours end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tasks.incidents.state import Level


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Read "HH:MM-HH:MM" (it may wrap midnight: "23:00-07:00")."""
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        """Tell whether a local time of day falls in the quiet hours (start included, end excluded)."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def end_after(self, local: datetime) -> datetime:
        """Return the first end of the quiet hours after `local` (same time zone as `local`)."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    roles: tuple[str, ...]
    deputy: str | None = None
    quiet: QuietHours | None = None

    def asleep(self, local: datetime) -> bool:
        """Tell whether the person is in quiet hours at this local time."""
        return self.quiet is not None and self.quiet.contains(local.time())


@dataclass(frozen=True)
class Delivery:
    """One message: who it is for, whose mailbox gets it, and the earliest time to send it."""

    addressee: Recipient
    to: Recipient
    not_before: datetime | None = None

    @property
    def on_behalf(self) -> bool:
        return self.to.email.lower() != self.addressee.email.lower()


def unique_people(people: Iterable[Recipient]) -> list[Recipient]:
    """Return the people each once (by e-mail address, case-insensitive), first occurrence kept."""
    seen: set[str] = set()
    chosen = []
    for person in people:
        if person.email.lower() not in seen:
            seen.add(person.email.lower())
            chosen.append(person)
    return chosen


def holders(roles: Iterable[str], people: Sequence[Recipient]) -> list[Recipient]:
    """Return the people holding any of the roles, each once, roster order."""
    wanted = set(roles)
    return unique_people(p for p in people if wanted & set(p.roles))


def recipients(
    level: Level,
    category: str,
    people: Sequence[Recipient],
    by_level: Mapping[Level, Sequence[str]],
    by_category: Mapping[str, Sequence[str]],
) -> list[Recipient]:
    """Return the people holding a role the level or category calls for, each once, roster order."""
    return holders([*by_level.get(level, ()), *by_category.get(category, ())], people)


def plan_deliveries(
    people: Sequence[Recipient], level: str, local_now: datetime, directory: Mapping[str, Recipient]
) -> list[Delivery]:
    """Decide, for each person, whose mailbox gets their message and from when.

    `local_now` is aware and in the operators' zone; `directory` maps names to people (deputies).
    A mailbox gets one message per call: a deputy standing in for someone who already gets their
    own message now is not sent a second one.
    """
    plans: list[Delivery] = []
    for person in people:
        deputy = directory.get(person.deputy) if person.deputy else None
        if level == Level.I or person.quiet is None or not person.asleep(local_now):
            plans.append(Delivery(person, person))
        elif deputy is not None and not deputy.asleep(local_now):
            plans.append(Delivery(person, deputy))
        else:
            plans.append(Delivery(person, person, person.quiet.end_after(local_now)))
    boxes = {p.to.email.lower() for p in plans if not p.on_behalf and p.not_before is None}
    kept = []
    for plan in plans:
        box = plan.to.email.lower()
        if plan.on_behalf and box in boxes:
            continue
        boxes.add(box)
        kept.append(plan)
    return kept
