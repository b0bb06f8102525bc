"""The typed view of config/detection.toml: spike rules, their modes and snooze windows."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator

from config.loading import StrictModel, load_file

RuleName = Literal["short_spike", "long_spike", "critical_terms", "claims", "influencer", "viral_post"]
Mode = Literal["enforce", "monitor"]


class Snooze(StrictModel):
    brands: list[str] = ["*"]
    start: datetime
    end: datetime
    rules: list[RuleName] = ["short_spike", "long_spike"]
    reason: str

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info) -> datetime:  # type: ignore[no-untyped-def]
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end 必须晚于 start")
        return end


class Detection(StrictModel):
    window_minutes: int = Field(60, gt=0)
    short_baseline_hours: int = Field(12, gt=0)
    long_baseline_days: int = Field(14, ge=2)
    k_sigma: float = Field(3.0, gt=0)
    min_volume: int = Field(8, gt=0)
    alpha: float = Field(0.001, gt=0, lt=1)
    rate_floor: float = Field(0.5, gt=0)
    min_share_rise: float = Field(0.15, ge=0, le=1)
    negative_majority: float = Field(0.5, gt=0, le=1)
    critical_min: int = Field(2, gt=0)
    claims_min: int = Field(5, gt=0)
    critical_alpha: float = Field(0.01, gt=0, lt=1)
    influencer_reach: int = Field(300000, gt=0)
    viral_min_reposts: int = Field(50, gt=0)
    viral_audience_share: float = Field(0.01, gt=0)
    viral_max_reposts: int = Field(1000, gt=0)
    viral_unexplained_factor: float = Field(3.0, ge=1)
    watch_share: float = Field(0.5, gt=0, le=1)
    dedup_hours: int = Field(48, gt=0)
    dismissed_days: int = Field(30, ge=0)
    rules: dict[RuleName, Mode] = {
        "short_spike": "enforce", "long_spike": "enforce", "critical_terms": "enforce", "claims": "enforce",
        "influencer": "enforce", "viral_post": "enforce",
    }
    snooze: list[Snooze] = []


@lru_cache(maxsize=1)
def load_detection() -> Detection:
    """Return the detection rules from detection.toml."""
    return load_file("detection.toml", Detection)
