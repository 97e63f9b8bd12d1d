"""Shared fixtures: a workspace per test on SQLite and on PostgreSQL (a fresh database each).

PostgreSQL is found at O2C_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres).
When it cannot be reached the PostgreSQL cases skip with the reason, unless
O2C_REQUIRE_POSTGRES=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from engine.runtime import Runtime
from engine.settings import load_config
from engine.store.db import upgrade

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
PG_ADMIN = os.environ.get("O2C_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means: not reachable
        return f"PostgreSQL at {PG_ADMIN} is not reachable: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_available()


def fresh_postgres(pg_problem: str | None) -> Iterator[str]:
    if pg_problem:
        if os.environ.get("O2C_REQUIRE_POSTGRES") == "1":
            pytest.fail(pg_problem)
        pytest.skip(pg_problem)
    name = f"o2c_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path,
                 pg_problem: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'o2c.sqlite'}"
    else:
        yield from fresh_postgres(pg_problem)


@pytest.fixture
def postgres_url(pg_problem: str | None) -> Iterator[str]:
    yield from fresh_postgres(pg_problem)


def write_config(folder: Path, database_url: str, **sections: dict[str, object]) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8"))
    data["database"] = {"url": database_url}
    data["storage"] = {"dir": "var", "out": "out", "rules": str(ROOT / "rules")}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    """A migrated, empty workspace on the parametrised database."""
    rt = Runtime.open(load_config(write_config(tmp_path / "ws", database_url)))
    upgrade(rt.config.database_url)
    yield rt
    rt.close()


def corpus_dir(folder: Path) -> Path:
    """A folder of the shared corpora, or skip the test with the reason when it is absent."""
    if not folder.is_dir():
        pytest.skip(f"shared corpora not found at {folder}")
    return folder


def corpus_files(folder: Path, skip_suffixes: tuple[str, ...] = (),
                 skip_names: tuple[str, ...] = ()) -> list[str]:
    """The corpus files below `folder` as relative paths (for parametrize); a placeholder
    when the corpora are absent, so the test reports the skip instead of vanishing."""
    if not folder.is_dir():
        return ["<corpus missing>"]
    files = (p for p in folder.rglob("*") if p.is_file() and p.suffix not in skip_suffixes
             and p.name not in skip_names)
    return sorted(p.relative_to(folder).as_posix() for p in files)


def mutated(data: bytes, edits: list[tuple[int, bytes]]) -> bytes:
    """`data` with each (position, replacement) edit applied: for property tests of readers."""
    out = bytearray(data)
    for position, replacement in edits:
        out[position : position + max(len(replacement), 1)] = replacement
    return bytes(out)
