"""The configuration is validated at start; every error names config.yaml:LINE."""

from pathlib import Path

import pytest

from engine.core.config import parse_config
from engine.settings import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "config.yaml").read_text("utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_config_is_valid() -> None:
    config, issues = parse_config(TEXT, "config.yaml", ROOT)
    assert issues == [] and config is not None
    assert config.company.vat_id == "DE123456788"
    assert config.database_url == f"sqlite:///{ROOT / 'var' / 'o2c.sqlite'}"


def test_a_wrong_value_names_its_line_and_what_is_allowed() -> None:
    bad = TEXT.replace("dunning: 1440", "dunning: daily")
    config, issues = parse_config(bad, "config.yaml", ROOT)
    assert config is None
    assert [str(i) for i in issues] == [
        f"config.yaml:{line_of(bad, 'dunning: daily')}: schedules.dunning must be a whole "
        "number of minutes from 1 to 10080, not 'daily'"]


def test_an_unknown_key_lists_the_allowed_ones() -> None:
    bad = TEXT.replace("  bic: COBADEFFXXX", "  bik: COBADEFFXXX")
    _, issues = parse_config(bad, "config.yaml", ROOT)
    assert len(issues) == 1
    assert issues[0].where == f"config.yaml:{line_of(bad, 'bik:')}"
    assert "unknown setting 'company.bik'" in issues[0].message and "bic" in issues[0].message


def test_missing_required_and_bad_iban() -> None:
    bad = TEXT.replace("  name: Muster Maschinenbau GmbH\n", "").replace(
        "iban: DE89370400440532013000", "iban: 12345")
    _, issues = parse_config(bad, "config.yaml", ROOT)
    messages = [i.message for i in issues]
    assert "company.name is missing" in messages
    assert any(m.startswith("company.iban must be an IBAN") for m in messages)


def test_broken_yaml_names_the_line() -> None:
    _, issues = parse_config("company:\n  name: [unclosed\n", "config.yaml", ROOT)
    assert issues[0].where.startswith("config.yaml:") and "not valid YAML" in issues[0].message


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(TEXT, "utf-8")
    monkeypatch.setenv("O2C_CONFIG", str(path))
    monkeypatch.setenv("O2C_DATABASE_URL", "postgresql://db.example/o2c")
    config = load_config()
    assert config.source == "other.yaml"
    assert config.database_url == "postgresql://db.example/o2c"
    monkeypatch.setenv("O2C_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="database.url must be a SQLAlchemy URL"):
        load_config()
