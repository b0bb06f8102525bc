"""One typed settings object: config/settings.toml overridden by CRISIS_* variables.

It is the only module that reads os.environ for the project. Unknown keys (in the TOML
file or the environment) and bad values stop the program with a message naming the key.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tasks.incidents.state import LEVELS, Level

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_DIR = CONFIG_DIR.parent
ENV_PREFIX = "CRISIS_"


class SettingsError(ValueError):
    """The configuration is invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalysisSettings(_Section):
    negative_below: float = Field(0.4, ge=0.0, le=1.0)
    model_path: str = ""


class RecoverySettings(_Section):
    window_hours: int = Field(24, gt=0)
    baseline_hours: int = Field(72, gt=0)
    tolerance: float = Field(0.10, ge=0.0, le=1.0)
    windows_required: int = Field(3, gt=0)
    min_mentions: int = Field(50, ge=1)


class EmailSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8025, gt=0, lt=65536)
    user: str = "crisis-bot@shop.example"
    password: SecretStr | None = None
    password_block: str = ""
    ssl: bool = False
    starttls: bool = False
    sender_name: str = "舆情危机响应系统"
    timeout_seconds: float = Field(20, gt=0)


class NotifySettings(_Section):
    """How long an incident may wait for an acknowledgement, and how often its status is reported."""

    ack_minutes: dict[Level, float] = {Level.I: 10, Level.II: 30, Level.III: 120, Level.IV: 480}
    status_minutes: dict[Level, float] = {Level.I: 60, Level.II: 120, Level.III: 240, Level.IV: 1440}

    @field_validator("ack_minutes", "status_minutes")
    @classmethod
    def _every_level_positive(cls, value: dict[Level, float]) -> dict[Level, float]:
        missing = [level.value for level in LEVELS if level not in value]
        if missing:
            raise ValueError(f"缺少级别 {missing}")
        if any(minutes <= 0 for minutes in value.values()):
            raise ValueError("每个级别的分钟数都必须大于 0")
        return value


class CompensationSettings(_Section):
    chunk_size: int = Field(5000, gt=0)
    # The lease on a run's `compensate-<KEY>` slot: a run killed while holding it frees it this long after
    # its last renewal at the latest (Prefect's minimum is 60 s).
    slot_lease_seconds: int = Field(300, ge=60, le=86400)


class ShopSettings(_Section):
    """The shop customers know (店铺名/品牌名): the sender of every customer notice, and how to reach it."""

    name: str = Field("澄星官方旗舰店", min_length=1, max_length=40)
    service_contact: str = Field("店铺在线客服", min_length=1, max_length=80)
    # A roster.toml [channels.<name>] of kind sms: compensation notices also go out by SMS through it, with
    # `sms_template` (the gateway's approved notice template; parameters shop, order, product, award).
    sms_channel: str = ""
    sms_template: str = ""

    @model_validator(mode="after")
    def _sms_needs_both(self) -> ShopSettings:
        if bool(self.sms_channel) != bool(self.sms_template):
            raise ValueError("sms_channel 与 sms_template（短信通知）要么都填，要么都不填")
        return self


class AuditSettings(_Section):
    """The audit trail's HMAC key (never stored with the data) and where its head is published."""

    key: SecretStr | None = None
    key_block: str = ""
    # Relative to var_dir; an absolute path (another disk or host mount) is better.
    anchor_file: Path = Path("audit/anchors.jsonl")

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("审计密钥至少要 16 个字符")
        return value


class DaskSettings(_Section):
    """Where big backfills run: a scheduler address for a real cluster, else a LocalCluster."""

    scheduler_address: str = ""
    local_workers: int = Field(2, gt=0)
    chunk_size: int = Field(20000, gt=0)


class StackSettings(_Section):
    """The embedded local stack (`make up`, `make demo`): everything on loopback by default."""

    host: str = "127.0.0.1"
    prefect_port: int = Field(4200, gt=0, lt=65536)
    work_pool: str = "crisis"


class Settings(BaseSettings):
    """Everything the flows and the CLI may be told from outside."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=CONFIG_DIR / "settings.toml",
    )

    database_url: str = ""
    orders_database_url: str = ""
    var_dir: Path = Path("var")
    # Where workers run the flows from (prefect.yaml's pull step reads CRISIS_PROJECT_DIR).
    project_dir: Path = PROJECT_DIR
    config_dir: Path = CONFIG_DIR
    timezone: str = "Asia/Shanghai"
    env: Literal["dev", "test", "prod"] = "dev"
    # The CLI prints tracebacks and Prefect's run logs instead of one line per error (also `crisis --debug`).
    debug: bool = False
    analysis: AnalysisSettings = AnalysisSettings()
    recovery: RecoverySettings = RecoverySettings()
    email: EmailSettings = EmailSettings()
    notify: NotifySettings = NotifySettings()
    compensation: CompensationSettings = CompensationSettings()
    shop: ShopSettings = ShopSettings()
    audit: AuditSettings = AuditSettings()
    stack: StackSettings = StackSettings()
    dask: DaskSettings = DaskSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def var_path(self) -> Path:
        path = self.var_dir if self.var_dir.is_absolute() else PROJECT_DIR / self.var_dir
        return path

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_path / 'crisis.db'}"


def _unknown_env_keys(environ: dict[str, str]) -> list[str]:
    """Name CRISIS_* variables that match no setting (pydantic would silently ignore them)."""
    unknown = []
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        model: type[BaseModel] = Settings
        for position, part in enumerate(parts):
            field = model.model_fields.get(part)
            if field is None:
                unknown.append(name)
                break
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
            elif position != len(parts) - 1:
                unknown.append(name)
                break
    return unknown


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        env_name = ENV_PREFIX + "__".join(str(p) for p in item["loc"]).upper()
        lines.append(f"  {key}（settings.toml 或 {env_name}）：{item['msg']}")
    return "设置无效：\n" + "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings, raising SettingsError that names each bad key."""
    unknown = _unknown_env_keys(dict(os.environ))
    if unknown:
        raise SettingsError("环境变量中有未知的设置：" + ", ".join(sorted(unknown)))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config/settings.toml 不是有效的 TOML（{exc}）") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests call get_settings.cache_clear())."""
    return load_settings()


def read_environment(name: str) -> str | None:
    """Read one non-CRISIS variable (the few that belong to other tools, e.g. PREFECT_API_URL)."""
    return os.environ.get(name)


def child_environment(**overrides: str) -> dict[str, str]:
    """Return this process's environment with overrides, for the services the stack starts."""
    return {**os.environ, **overrides}
