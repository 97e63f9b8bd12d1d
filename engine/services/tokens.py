"""Credentials of the web: the app's secret key, API tokens, the login rate limit.

API tokens are random (`o2c_` + 43 URL-safe characters); only their sha256 is stored, so
a stolen database does not hand out working tokens. A token has a name, a role (the same
roles as users), and is revoked rather than deleted, so the audit log keeps its meaning.

The login rate limit lives in the database (table `login_failures`), so every web process
and every worker machine sees the same count: more than `LOGIN_LIMIT` failures for one
e-mail from one address, or `LOGIN_LIMIT_PER_IP` failures from one address for any e-mail,
within `LOGIN_WINDOW`, and further attempts are refused until the window has passed.
A successful sign-in clears that e-mail's failures from that address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from engine.runtime import Runtime
from engine.services.records import audit
from engine.store.models import ApiToken, LoginFailure, utcnow

ROLES = ("viewer", "clerk", "process_owner", "finance", "admin")
PREFIX = "o2c_"
LOGIN_LIMIT = 5
LOGIN_LIMIT_PER_IP = 20
LOGIN_WINDOW = timedelta(minutes=15)


def secret_key(rt: Runtime) -> str:
    """The app's signing key: random, kept under the storage folder, made on first use."""
    folder = rt.config.path("storage.dir")
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class TokenHolder:
    id: int
    name: str
    role: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(rt: Runtime, name: str, role: str, actor: str) -> str:
    """A new token; returns it (the only time it is seen in clear)."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not '{role}'")
    token = PREFIX + secrets.token_urlsafe(32)
    with rt.db.unit_of_work() as session:
        if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise ValueError(f"a token named '{name}' exists already")
        row = ApiToken(name=name, role=role, token_hash=_digest(token), created_by=actor)
        session.add(row)
        session.flush()
        audit(session, actor, "api_token.created", "api_token", row.id, name=name, role=role)
    return token


def revoke(rt: Runtime, name: str, actor: str) -> None:
    with rt.db.unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is None or row.revoked_at is not None:
            raise ValueError(f"no active token named '{name}'")
        row.revoked_at = utcnow()
        audit(session, actor, "api_token.revoked", "api_token", row.id, name=name)


def listing(rt: Runtime) -> list[tuple[str, str, datetime, datetime | None, datetime | None]]:
    """(name, role, created, last used, revoked) of every token, oldest first."""
    with rt.db.unit_of_work() as session:
        return [(t.name, t.role, t.created_at, t.last_used_at, t.revoked_at)
                for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def authenticate(rt: Runtime, token: str) -> TokenHolder | None:
    """The holder of an active token, or None; notes when it was last used."""
    if not token.startswith(PREFIX):
        return None
    with rt.db.unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                                    ApiToken.revoked_at.is_(None)))
        if row is None:
            return None
        row.last_used_at = utcnow()
        return TokenHolder(row.id, row.name, row.role)


def login_blocked(rt: Runtime, email: str, ip: str) -> bool:
    """True while the failures within the window reach the limit (see the module doc)."""
    since = utcnow() - LOGIN_WINDOW
    email = email.strip().lower()
    with rt.db.unit_of_work() as session:
        recent = (select(LoginFailure.email, LoginFailure.ip)
                  .where(LoginFailure.at >= since, LoginFailure.ip == ip)
                  .subquery())
        per_ip = session.scalar(select(func.count()).select_from(recent)) or 0
        per_pair = session.scalar(select(func.count()).select_from(recent)
                                  .where(recent.c.email == email)) or 0
    return per_pair >= LOGIN_LIMIT or per_ip >= LOGIN_LIMIT_PER_IP


def login_failed(rt: Runtime, email: str, ip: str) -> None:
    with rt.db.unit_of_work() as session:
        session.add(LoginFailure(email=email.strip().lower()[:254], ip=ip[:45]))
        # old failures are of no use any more: keep the table small
        session.execute(delete(LoginFailure).where(
            LoginFailure.at < utcnow() - 2 * LOGIN_WINDOW))
        audit(session, f"anonymous@{ip}"[:254], "user.login_failed", "user", None,
              email=email[:254])


def login_succeeded(rt: Runtime, email: str, ip: str) -> None:
    with rt.db.unit_of_work() as session:
        session.execute(delete(LoginFailure).where(
            LoginFailure.email == email.strip().lower(), LoginFailure.ip == ip))

