"""The back office: importing this module registers every page on the `views` blueprint.

The pages live by area in web/views_*.py (dashboard, documents and review, orders and
deliveries, invoices, payments, dunning and tasks, customers/products/settings/audit,
rules); what they share is in web/views_common.py."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for

from web import (  # noqa: F401  (each module adds its routes to bp)
    views_admin,
    views_dashboard,
    views_documents,
    views_dunning,
    views_invoices,
    views_orders,
    views_payments,
    views_rules,
)
from web.auth import login_required
from web.views_common import bp, register_filters

__all__ = ["bp", "register_filters"]


@bp.route("/reminders")
@login_required()
def reminder_list() -> Any:
    """The old address of the reminders page: now part of dunning."""
    return redirect(url_for("views.dunning"))
