"""Reading the configuration file and the environment (O2C_CONFIG, O2C_DATABASE_URL)."""

from __future__ import annotations

import os
from pathlib import Path

from engine.core.config import Config, parse_config
from engine.core.records import Issue


class ConfigError(Exception):
    """The configuration is refused; each issue names config.yaml:LINE."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get("O2C_CONFIG") or "config.yaml").resolve()


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path = config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Issue(str(path), f"cannot read the configuration: {exc.strerror}")]) from None
    overrides = {}
    if os.environ.get("O2C_DATABASE_URL"):
        overrides["database.url"] = os.environ["O2C_DATABASE_URL"]
    config, issues = parse_config(text, path.name, path.parent, overrides, Path.is_file)
    if config is None:
        raise ConfigError(issues)
    return config
