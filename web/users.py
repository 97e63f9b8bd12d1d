"""Users: password hashing, the seeded admin, password resets. Roles in ROLES."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from engine.runtime import Runtime
from engine.services.records import audit
from engine.store.models import User

ROLES = ("viewer", "clerk", "process_owner", "finance", "admin")


def set_password(rt: Runtime, email: str, role: str = "admin", name: str = "") -> str:
    """Create the user or give it a new random password; returns the password."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    password = secrets.token_urlsafe(12)
    with rt.db.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name or email, role=role, password_hash="")
            session.add(user)
        user.password_hash = generate_password_hash(password)
        session.flush()
        audit(session, "system:cli", "user.password_set", "user", user.id, email=email)
    return password


def ensure_admin(rt: Runtime) -> str | None:
    """Seed the admin when there are no users; returns its password then, else None."""
    with rt.db.unit_of_work() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            return None
    return set_password(rt, "admin", "admin", "Administrator")


def authenticate(rt: Runtime, email: str, password: str) -> User | None:
    with rt.db.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email, User.active.is_(True)))
        if user is None or not check_password_hash(user.password_hash, password):
            return None
        return user
