"""The configuration: its schema, defaults and validation. Pure: text in, Config or errors out.

Every error names the line: `config.yaml:14: schedules.dunning must be a whole number of
minutes from 1 to 10080, not 'daily'`. A config with any error is refused as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from engine.core.emails import valid_email
from engine.core.records import Address, Issue, Party

Check = Callable[[Any], str | None]  # returns what is allowed when the value is wrong


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty text"


def _optional_text(value: Any) -> str | None:
    return None if value is None or isinstance(value, str | int) else "a text or null"


def _int_range(lo: int, hi: int, what: str = "a whole number") -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return None if ok else f"{what} from {lo} to {hi}"

    return check


def _number_range(lo: Decimal, hi: Decimal) -> Check:
    def check(value: Any) -> str | None:
        try:
            ok = not isinstance(value, bool) and lo <= Decimal(str(value)) <= hi
        except InvalidOperation:
            ok = False
        return None if ok else f"a number from {lo} to {hi}"

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _pattern(regex: str, what: str) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and re.fullmatch(regex, value.replace(" ", "")) is not None
        return None if ok else what

    return check


def _email(value: Any) -> str | None:
    ok = isinstance(value, str) and valid_email(value) is not None
    return None if ok else "an e-mail address like name@example.com"


def _optional(check: Check) -> Check:
    def inner(value: Any) -> str | None:
        return None if value is None else check(value)

    return inner


def _database_url(value: Any) -> str | None:
    ok = isinstance(value, str) and re.match(r"^(sqlite|postgresql)(\+\w+)?://", value)
    return None if ok else "a SQLAlchemy URL starting with sqlite:/// or postgresql://"


def _ocr_languages(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[a-z_]{3,8}(\+[a-z_]{3,8})*", value)
    return None if ok else "Tesseract language codes joined by '+', like deu+eng"


MINUTES = _int_range(1, 10080, "a whole number of minutes")

# key path → (default, check). A default of ... means the key is required.
SCHEMA: dict[str, tuple[Any, Check]] = {
    "company.name": (..., _text),
    "company.street": (..., _text),
    "company.postal_code": (..., _text),
    "company.city": (..., _text),
    "company.country": ("DE", _pattern(r"[A-Z]{2}", "a two-letter country code like DE")),
    "company.vat_id": (..., _pattern(r"[A-Z]{2}[0-9A-Z]{2,13}", "a VAT id like DE123456789")),
    "company.tax_number": ("", _optional_text),
    "company.iban": (..., _pattern(r"[A-Z]{2}\d{2}[0-9A-Z]{11,30}", "an IBAN like DE89…")),
    "company.creditor_id": (None, _optional(_pattern(
        r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}",
        "a SEPA creditor identifier like DE98ZZZ09999999999"))),
    "company.bic": (None, _optional(_pattern(r"[A-Z0-9]{8}([A-Z0-9]{3})?", "a BIC of 8 or 11"))),
    "company.bank": ("", _optional_text),
    "company.email": (..., _email),
    "company.phone": ("", _optional_text),
    "company.register": ("", _optional_text),
    "company.managing_director": ("", _optional_text),
    "company.contact_name": ("", _optional_text),  # BT-41: the seller's contact person
    "company.logo": (None, _optional(_pattern(r"(?i).+\.(png|jpe?g|svg)",
                                              "a path to a PNG, JPEG or SVG file"))),
    "database.url": ("sqlite:///var/o2c.sqlite", _database_url),
    "storage.dir": ("var", _text),
    "storage.rules": ("rules", _text),
    "storage.out": ("var/out", _text),
    "storage.blobs": ("files", lambda v: None if v in ("files", "database")
                      else "files or database"),
    "storage.templates": (None, _optional_text),
    "mail.from": (..., _email),
    "mail.smtp.host": (None, _optional_text),
    "mail.smtp.port": (587, _int_range(1, 65535, "a port number")),
    "mail.smtp.username": (None, _optional_text),
    "mail.smtp.password": (None, _optional_text),
    "mail.smtp.starttls": (True, _boolean),
    "mail.imap.host": (None, _optional_text),
    "mail.imap.port": (993, _int_range(1, 65535, "a port number")),
    "mail.imap.username": (None, _optional_text),
    "mail.imap.password": (None, _optional_text),
    "mail.imap.folder": ("INBOX", _text),
    "mail.imap.security": ("ssl", lambda v: None if v in ("ssl", "starttls", "none")
                           else "ssl, starttls or none"),
    "mail.imap.processed_folder": ("Processed", _optional_text),
    "mail.imap.rejected_folder": ("Rejected", _optional_text),
    "mail.imap.max_attachments": (20, _int_range(1, 500)),
    "mail.roles": ({}, lambda v: None if isinstance(v, dict) else "a mapping of role: e-mail"),
    "schedules.intake": (1, MINUTES),
    "schedules.fulfilment": (5, MINUTES),
    "schedules.invoicing": (15, MINUTES),
    "schedules.matching": (15, MINUTES),
    "schedules.dunning": (1440, MINUTES),
    "schedules.outbox": (1, MINUTES),
    "schedules.watch": (60, MINUTES),
    "schedules.mail": (1, MINUTES),
    "schedules.folder": (1, MINUTES),
    "folders.watched": (None, _optional_text),
    "folders.settle_seconds": (2, _int_range(0, 3600, "a whole number of seconds")),
    "watch.approval_days": (2, _int_range(1, 365, "a whole number of days")),
    "watch.review_days": (1, _int_range(1, 365, "a whole number of days")),
    "watch.statement_days": (3, _int_range(1, 365, "a whole number of days")),
    "limits.upload_mb": (20, _int_range(1, 1024)),
    "limits.pdf_pages": (50, _int_range(1, 2000)),
    "limits.image_megapixels": (150, _int_range(1, 2000)),
    "web.base_url": ("http://127.0.0.1:5000", _pattern(r"https?://[^\s/]+(/[^\s]*)?",
                     "the address customers open, like https://o2c.example.com")),
    "web.https": (False, _boolean),
    "web.portal_days": (60, _int_range(1, 730, "a whole number of days")),
    "ocr.languages": ("deu+eng", _ocr_languages),
    "review.confidence_threshold": (Decimal("0.8"), _number_range(Decimal(0), Decimal(1))),
    "invoicing.currency": ("EUR", _pattern(r"[A-Z]{3}", "a currency code like EUR")),
    "invoicing.vat_rate": (Decimal("19"), _number_range(Decimal(0), Decimal(100))),
    "invoicing.series": ("RE", _pattern(r"[A-Z]{1,6}", "1 to 6 capital letters")),
    "invoicing.credit_note_series": ("GS", _pattern(r"[A-Z]{1,6}", "1 to 6 capital letters")),
    "dunning.charge_series": ("NF", _pattern(r"[A-Z]{1,6}", "1 to 6 capital letters")),
    "invoicing.xrechnung_syntax": ("cii", lambda v: None if v in ("cii", "ubl")
                                   else "cii or ubl"),
}
SECTIONS = {key.split(".")[0] for key in SCHEMA}
OPEN_MAPPINGS = {"mail.roles"}


@dataclass(frozen=True)
class Config:
    """The validated configuration; paths are absolute."""

    source: str
    values: Mapping[str, Any]
    base_dir: Path
    company: Party = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def path(self, key: str) -> Path:
        p = Path(self.values[key])
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_url(self) -> str:
        url: str = self.values["database.url"]
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.base_dir / url[len(prefix):])
        return url

    def role_email(self, role: str) -> str:
        roles: Mapping[str, str] = self.values["mail.roles"]
        return roles.get(role) or self.values["company.email"]


def _flatten(node: yaml.Node, prefix: str, out: dict[str, tuple[Any, int]], issues: list[Issue],
             source: str) -> None:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode) or prefix in OPEN_MAPPINGS:
        value = yaml.safe_load(yaml.serialize(node))
        out[prefix] = (value, line)
        return
    for key_node, value_node in node.value:
        key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
        known = key in SCHEMA or any(k.startswith(key + ".") for k in SCHEMA)
        if not known:
            allowed = sorted({k[len(prefix) + 1:].split(".")[0] if prefix else k.split(".")[0]
                              for k in SCHEMA if not prefix or k.startswith(prefix + ".")})
            issues.append(Issue(f"{source}:{key_node.start_mark.line + 1}",
                                f"unknown setting '{key}'; allowed here: {', '.join(allowed)}"))
            continue
        _flatten(value_node, key, out, issues, source)


def parse_config(text: str, source: str, base_dir: Path,
                 overrides: Mapping[str, Any] | None = None,
                 file_exists: Callable[[Path], bool] | None = None,
                 ) -> tuple[Config | None, list[Issue]]:
    """Validate the YAML text against SCHEMA; overrides (from the environment) win. Files
    the configuration names are checked with `file_exists` when the caller gives it (the
    shell passes `Path.is_file`; this module does no I/O)."""
    issues: list[Issue] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, [Issue(f"{source}:{line}", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    found: dict[str, tuple[Any, int]] = {}
    if root is not None:
        if not isinstance(root, yaml.MappingNode):
            return None, [Issue(f"{source}:1", "the configuration must be a mapping of sections")]
        _flatten(root, "", found, issues, source)
    values: dict[str, Any] = {}
    for key, (default, check) in SCHEMA.items():
        value, line = found.get(key, (default, 0))
        if overrides and key in overrides:
            value, line = overrides[key], 0
        if value is ...:
            issues.append(Issue(f"{source}:{line or 1}", f"{key} is missing"))
            continue
        allowed = check(value)
        if allowed:
            where = f"{source}:{line}" if line else f"{source} (from the environment)"
            issues.append(Issue(where, f"{key} must be {allowed}, not {value!r}"))
            continue
        values[key] = Decimal(str(value)) if isinstance(default, Decimal) else value
    url = str(values.get("database.url", ""))
    if values.get("storage.blobs") == "database" and url.startswith("sqlite"):
        line = found.get("storage.blobs", (None, 0))[1]
        issues.append(Issue(f"{source}:{line or 1}", "storage.blobs: database needs PostgreSQL "
                            "(many machines, one database); with SQLite use files"))
    logo = values.get("company.logo")
    if logo and file_exists is not None and not file_exists(base_dir / str(logo)):
        line = found.get("company.logo", (None, 0))[1]
        issues.append(Issue(f"{source}:{line or 1}",
                            f"company.logo: the file {base_dir / str(logo)} does not exist"))
    if issues:
        return None, issues
    company = Party(
        name=values["company.name"],
        address=Address(values["company.street"], str(values["company.postal_code"]),
                        values["company.city"], values["company.country"]),
        vat_id=values["company.vat_id"].replace(" ", ""),
        tax_number=str(values["company.tax_number"] or ""),
        email=values["company.email"],
        iban=values["company.iban"].replace(" ", ""),
        bic=values["company.bic"] or "",
        bank=values["company.bank"] or "",
        phone=str(values["company.phone"] or ""),
        register=values["company.register"] or "",
        managing_director=values["company.managing_director"] or "",
        contact_name=str(values["company.contact_name"] or ""),
    )
    return Config(source=source, values=values, base_dir=base_dir, company=company), []
