"""German and English with Flask-Babel. The catalogues are kept as .po files under
web/translations/ and compiled to .mo under the storage folder when the app starts (no
build step, nothing fetched at run time). The user's choice wins, then the browser's."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel, get_locale

LANGUAGES = ("de", "en")
DEFAULT = "en"
SOURCE = Path(__file__).with_name("translations")


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Every <lang>/LC_MESSAGES/*.po below `source` → the same path below `target` as .mo,
    rewritten only when the .po is newer. Returns the .mo files."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parts[-3])
            with mo.open("wb") as f:
                write_mo(f, catalog)
        written.append(mo)
    return written


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def init_babel(app: Flask, storage: Path) -> None:
    target = storage / "translations"
    compile_catalogues(SOURCE, target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(languages=LANGUAGES, get_locale=get_locale)
