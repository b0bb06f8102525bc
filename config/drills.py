"""The typed view of config/drills.toml: drill scenarios (应急演练) and the targets a drill is graded on."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from config.loading import StrictModel, load_file
from tasks.incidents.state import LEVELS, Level

StepName = Literal["apology", "disclosure", "improvement", "compensation", "trust", "monitoring"]


class Targets(StrictModel):
    detect_minutes: float = Field(60, gt=0)
    alert_minutes: float = Field(10, gt=0)
    pass_score: int = Field(80, ge=0, le=100)
    required_steps: dict[Level, list[StepName]]

    @model_validator(mode="after")
    def _every_level(self) -> Targets:
        missing = [level.value for level in LEVELS if level not in self.required_steps]
        if missing:
            raise ValueError(f"required_steps 缺少这些级别：{missing}")
        return self


class Scenario(StrictModel):
    title: str
    brand: str
    product: str
    category: str
    size: Literal["small", "medium", "large"] = "medium"
    expected_level: Level
    compensation: bool = False
    lead_minutes: int = Field(90, ge=30, le=24 * 60)
    duration_hours: int = Field(12, ge=1, le=72)
    grade_after_minutes: int = Field(180, ge=1)
    seed: int = Field(1, ge=0)


class Drills(StrictModel):
    baseline_days: int = Field(3, ge=1, le=30)
    targets: Targets
    scenarios: dict[str, Scenario]

    def get(self, name: str) -> Scenario:
        """Return the scenario with this name, or raise KeyError listing the known ones."""
        if name not in self.scenarios:
            raise KeyError(f"drills.toml 中没有演练场景 {name!r}（可选：{'、'.join(sorted(self.scenarios))}）")
        return self.scenarios[name]


@lru_cache(maxsize=1)
def load_drills() -> Drills:
    """Return the drill scenarios and targets from drills.toml."""
    return load_file("drills.toml", Drills)
