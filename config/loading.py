"""How an operator-editable TOML file of the config directory becomes a typed model.

Every file's model derives from StrictModel (an unknown key is an error) and is read by load_file,
which raises SettingsError naming the file and the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from config.settings import SettingsError, get_settings

_M = TypeVar("_M", bound=BaseModel)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigFileError(SettingsError):
    """One config file is invalid: `problems` holds (field, message) pairs; field "" is the whole file."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path, self.problems = path, problems
        super().__init__(f"{path}: " + "; ".join(f"{field}: {message}" if field else message
                                                  for field, message in problems))


def load_file(name: str, model: type[_M]) -> _M:
    """Read and validate one file of the config directory as `model`."""
    path: Path = get_settings().config_dir / name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(path, [("", "文件不存在")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, [("", f"不是有效的 TOML（{exc}）")]) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(path, [(".".join(str(p) for p in e["loc"]) or "", e["msg"])
                                     for e in exc.errors()]) from None
