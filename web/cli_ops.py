"""`o2c outbox …` and `o2c sepa …`: mail that needs a person, and SEPA direct debits."""

from __future__ import annotations

from datetime import date

import click

from documents.sepa import SepaError
from engine.services import direct_debit, outbox
from web.cli_common import State, date_option


@click.group(name="outbox")
def outbox_group() -> None:
    """Outgoing mail that needs a person (uncertain or failed)."""


@outbox_group.command("list")
@click.pass_obj
def outbox_list(state: State) -> None:
    """Messages whose delivery is uncertain or failed."""
    rt = state.runtime()
    with rt.db.unit_of_work() as session:
        rows = outbox.needs_attention(session)
        for msg in rows:
            click.echo(f"{msg.id:6} {msg.status:10} {msg.recipient:32} {msg.subject[:50]}"
                       f"  {msg.last_error[:60]}")
    if not rows:
        click.echo("nothing needs a person")


@outbox_group.command("resolve")
@click.argument("message_id", type=int)
@click.option("--sent/--not-sent", required=True,
              help="Whether the recipient got it (--not-sent queues it again).")
@click.option("--by", "actor", required=True, help="Who checked it.")
@click.pass_obj
def outbox_resolve(state: State, message_id: int, sent: bool, actor: str) -> None:
    """Settle an uncertain delivery after asking the recipient or the mail server's log."""
    try:
        outbox.resolve_uncertain(state.runtime(), message_id, sent, actor)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"message {message_id}: " + ("sent" if sent else "queued again"))


@click.group()
def sepa() -> None:
    """SEPA direct debits for customers with a mandate (pain.008.001.08)."""


@sepa.command("collect")
@click.option("--today", callback=date_option, help="The business date (default: today).")
@click.option("--date", "collection", callback=date_option, required=True,
              help="The collection date (a TARGET2 business day after today).")
@click.option("--dry-run", is_flag=True, help="List what would be collected.")
@click.option("--by", "actor", default="cli", show_default=True)
@click.pass_obj
def sepa_collect(state: State, today: date | None, collection: date, dry_run: bool,
                 actor: str) -> None:
    """Write the direct-debit file for open invoices due by the collection date."""
    rt = state.runtime()
    if dry_run:
        with rt.db.unit_of_work() as session:
            todo = direct_debit.plan(session, collection)
        for debit, customer in zip(todo.debits, todo.customers, strict=True):
            click.echo(f"{customer:12} {debit.amount:>12} {debit.end_to_end_id}")
        for reason in todo.skipped:
            click.echo(f"skipped: {reason}")
        click.echo(f"total {todo.total} in {len(todo.debits)} debits")
        return
    try:
        path = direct_debit.collect(rt, today or date.today(), collection, actor=actor)
    except SepaError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    click.echo(str(path) if path else "nothing to collect")
