"""Imports point inward, ring by ring (DESIGN.md):

1. engine.core: pure — no SQLAlchemy, Flask, APScheduler, Jinja2, PDF, OCR, mail or I/O libs.
2. documents: may import engine.core.
3. engine (the shell: store, services, jobs): may import documents and engine.core.
4. web: may import everything. Nothing imports web.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_FORBIDDEN = {
    "sqlalchemy", "alembic", "flask", "werkzeug", "apscheduler", "jinja2", "weasyprint",
    "pdfplumber", "pypdfium2", "pytesseract", "PIL", "smtplib", "imaplib", "socket", "os",
    "subprocess", "requests", "urllib", "http", "shutil", "tempfile", "time",
    "lxml", "facturx", "sqlite3", "psycopg2", "logging",
}


def ring(module: str) -> int | None:
    if module.startswith("engine.core"):
        return 1
    if module.startswith("documents"):
        return 2
    if module.startswith("engine"):
        return 3
    if module.startswith("web"):
        return 4
    return None


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("engine", "documents", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
    return out


def test_imports_point_inward() -> None:
    problems = []
    for name, path in modules():
        own = ring(name)
        assert own is not None
        for target, line in imports(path):
            other = ring(target)
            if other is not None and other > own:
                problems.append(f"{path.relative_to(ROOT)}:{line}: ring {own} ({name}) "
                                f"imports ring {other} ({target})")
            if own == 1 and target.split(".")[0] in CORE_FORBIDDEN:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the pure core imports "
                                f"{target}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from engine.store.models import Order\nimport sqlalchemy\n")
    found = [t for t, _ in imports(bad)]
    assert ring(found[0]) == 3 and found[1] == "sqlalchemy"


def test_every_package_is_covered() -> None:
    names = [name for name, _ in modules()]
    assert any(n.startswith("engine.core.") for n in names)
    assert any(n.startswith("engine.services.") for n in names)
    assert any(n.startswith("documents.") for n in names)
    assert any(n.startswith("web.") for n in names)
