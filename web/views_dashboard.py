"""The dashboard: receivables, DSO, automation shares, ageing and cash-in charts."""

from __future__ import annotations

from typing import Any

from flask import render_template

from web import queries
from web.auth import login_required, runtime
from web.charts import bar_chart, compact, line_chart
from web.views_common import bp, day, today


@bp.route("/")
@login_required()
def dashboard() -> Any:
    now = today()
    with runtime().db.unit_of_work() as s:
        owed = queries.receivables(s, now)
        dso = queries.dso(s, now, owed.open_total)
        no_person = queries.orders_without_person(s)
        automatic = queries.payments_matched_automatically(s)
        weekly = queries.cash_in(s, now)
        counts = queries.waiting(s)
    ageing = bar_chart(owed.ageing)
    cash = line_chart([(day(week), amount) for week, amount in weekly])
    return render_template("dashboard.html", owed=owed, dso=dso, no_person=no_person,
                           automatic=automatic, counts=counts, ageing=ageing, cash=cash,
                           compact=compact)
