"""Fixtures of the unit tests: the real config files read as plain data, and clean settings caches."""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.files import clear_caches

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


def read_toml(name: str) -> dict[str, Any]:
    """Return one of the shipped config files as plain data."""
    return tomllib.loads((CONFIG / name).read_text(encoding="utf-8"))


def shipped_lexicon():  # type: ignore[no-untyped-def]
    """Return config/lexicon.toml as the LexiconData the pure analysis takes (no settings, no database)."""
    from tasks.monitoring.analysis import CategoryTerms, LexiconData

    raw = read_toml("lexicon.toml")
    return LexiconData(
        brands={name: b["aliases"] for name, b in raw["brands"].items()},
        products={name: b.get("products", []) for name, b in raw["brands"].items()},
        categories={name: CategoryTerms(c["any"], c.get("exclude", []),
                                        [tuple(e.split("|")) for e in c.get("required", [])])
                    for name, c in raw["categories"].items()},
        critical=raw.get("critical", []),
        slang=raw.get("slang", []),
        health_claims=raw.get("health_claims", []),
        debunk=raw.get("debunk", []),
        claim_categories=[name for name, c in raw["categories"].items() if c.get("claims")],
    )


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Remove every CRISIS_* variable and forget cached settings, before and after the test."""
    for name in list(os.environ):
        if name.upper().startswith("CRISIS_"):
            monkeypatch.delenv(name)
    clear_caches()
    yield monkeypatch
    clear_caches()


@pytest.fixture
def config_copy(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A writable copy of config/ that the loaders read (CRISIS_CONFIG_DIR)."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    clean_settings.setenv("CRISIS_CONFIG_DIR", str(copy))
    return copy
