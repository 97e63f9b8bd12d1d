"""`o2c statement CUSTOMER_NUMBER`: a customer's account statement as of a date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from documents.render import TemplateError
from web.cli_common import State, date_option


@click.command()
@click.argument("customer_number")
@click.option("--today", callback=date_option, help="The statement's date (default: today).")
@click.option("--from", "start", callback=date_option,
              help="First day of the period (default: 1 January of that year).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Also write the PDF to this file.")
@click.pass_obj
def statement(state: State, customer_number: str, today: date | None, start: date | None,
              out: str | None) -> None:
    """Issue the account statement (open and paid items, credit notes, payments, charges,
    running balance) of one customer; it is stored under out/statements/ and archived."""
    from engine.services.statements import UnknownCustomer, issue_statement

    rt = state.runtime()
    try:
        issued, result = issue_statement(rt, customer_number, today or date.today(), start,
                                         Path(out) if out else None)
    except (UnknownCustomer, ValueError, TemplateError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    where = out or str(rt.out_dir / "statements" / issued.filename)
    click.echo(f"{issued.filename}: balance {result.closing_balance} {result.currency}, "
               f"{len(result.open_items)} open item(s) -> {where}")
