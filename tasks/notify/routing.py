"""Who is told: the roster's matrix of roles by level and category. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    roles: tuple[str, ...]


def recipients(
    level: str,
    category: str,
    people: Sequence[Recipient],
    by_level: Mapping[str, Sequence[str]],
    by_category: Mapping[str, Sequence[str]],
) -> list[Recipient]:
    """Return the people holding a role the level or category calls for, each once, roster order."""
    wanted = set(by_level.get(level, ())) | set(by_category.get(category, ()))
    seen: set[str] = set()
    chosen = []
    for person in people:
        if wanted & set(person.roles) and person.email.lower() not in seen:
            seen.add(person.email.lower())
            chosen.append(person)
    return chosen
