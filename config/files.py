"""Typed views of the operator-editable TOML files in the config directory.

Each loader validates the whole file and raises SettingsError naming the file and the key.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.settings import SettingsError, get_settings

Level = Literal["I", "II", "III", "IV"]
_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Brand(_Strict):
    aliases: list[str] = Field(min_length=1)
    products: list[str] = []


class CategoryRule(_Strict):
    any: list[str] = Field(min_length=1)
    exclude: list[str] = []


class Lexicon(_Strict):
    critical: list[str] = []
    slang: list[str] = []
    brands: dict[str, Brand]
    categories: dict[str, CategoryRule]


class Severity(_Strict):
    heat: dict[Literal["I", "II", "III"], float]
    category_floor: dict[str, Level] = {}
    affected_orders: dict[Literal["I", "II", "III"], int] = {}
    level_steps: dict[Level, list[str]] = {}


class Person(_Strict):
    name: str
    email: str = Field(pattern=r"^[^@\s<>\r\n]+@[^@\s<>\r\n]+$")
    roles: list[str] = Field(min_length=1)


class NotifyMatrix(_Strict):
    I: list[str]  # noqa: E741 - the plan names the top level "I"
    II: list[str]
    III: list[str]
    IV: list[str]
    by_category: dict[str, list[str]] = {}


class Roster(_Strict):
    roles: dict[str, str]
    people: list[Person]
    notify: NotifyMatrix


class Policy(_Strict):
    kind: Literal["fixed_coupon"]
    title: str
    amount_fen: int = Field(gt=0)


class Policies(_Strict):
    policies: dict[str, Policy]


class FileSource(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    glob: str
    enabled: bool = True


class Sources(_Strict):
    file: list[FileSource] = []


def _load(name: str, model: type[_M]) -> _M:
    path: Path = get_settings().config_dir / name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"{path}: {problems}") from None


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Return brands, categories and critical terms from lexicon.toml."""
    return _load("lexicon.toml", Lexicon)


@lru_cache(maxsize=1)
def load_severity() -> Severity:
    """Return the severity matrix from severity.toml."""
    return _load("severity.toml", Severity)


@lru_cache(maxsize=1)
def load_roster() -> Roster:
    """Return the emergency organisation from roster.toml, checking every role is declared."""
    roster = _load("roster.toml", Roster)
    declared = set(roster.roles)
    used = {r for p in roster.people for r in p.roles}
    used |= {r for lvl in ("I", "II", "III", "IV") for r in getattr(roster.notify, lvl)}
    used |= {r for roles in roster.notify.by_category.values() for r in roles}
    if used - declared:
        raise SettingsError(f"roster.toml: undeclared roles {sorted(used - declared)}")
    return roster


@lru_cache(maxsize=1)
def load_policies() -> Policies:
    """Return the compensation policies from compensation.toml."""
    return _load("compensation.toml", Policies)


@lru_cache(maxsize=1)
def load_sources() -> Sources:
    """Return the configured mention sources from sources.toml."""
    return _load("sources.toml", Sources)


def clear_caches() -> None:
    """Forget every loaded file and the settings (tests and config reloads)."""
    from config.detection import load_detection

    load_detection.cache_clear()
    get_settings.cache_clear()
    for loader in (load_lexicon, load_severity, load_roster, load_policies, load_sources, load_playbooks):
        loader.cache_clear()


class Playbooks(_Strict):
    steps: dict[str, list[str]]

    def for_category(self, category: str) -> list[str]:
        """Return the category's steps, or the default ones."""
        return self.steps.get(category) or self.steps.get("default", [])


@lru_cache(maxsize=1)
def load_playbooks() -> Playbooks:
    """Return the playbook steps from playbooks.toml."""
    return _load("playbooks.toml", Playbooks)
