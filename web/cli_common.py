"""What the `o2c` commands share: the lazily loaded configuration and runtime, and the
--today/--since date option."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from engine.core.config import Config
from engine.rulebook import RulesError
from engine.runtime import Runtime
from engine.settings import ConfigError, load_config


def date_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-11-26") from None


class State:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(f"the configuration is refused:\n{exc}") from None
        return self._config

    def runtime(self, config_file: Path | None = None) -> Runtime:
        try:
            config = load_config(config_file) if config_file else self.config
            return Runtime.open(config)
        except (ConfigError, RulesError) as exc:
            raise click.ClickException(str(exc)) from None
