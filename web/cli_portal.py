"""`o2c portal …`: customer portal links (make one, list a customer's, revoke one)."""

from __future__ import annotations

import click

from engine.services import portal
from web.cli_common import State


@click.group("portal")
def portal_group() -> None:
    """Signed, expiring links to the customer portal."""


@portal_group.command()
@click.argument("customer")
@click.option("--days", type=click.IntRange(1, 730), default=None,
              help="Valid this many days (default: web.portal_days in the config).")
@click.pass_obj
def link(state: State, customer: str, days: int | None) -> None:
    """Make a new link for the customer with number CUSTOMER and print it."""
    try:
        click.echo(portal.make_link(state.runtime(), customer, "system:cli", days))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@portal_group.command(name="list")
@click.argument("customer")
@click.pass_obj
def list_command(state: State, customer: str) -> None:
    """The customer's links: id, created, expires, revoked (UTC)."""
    try:
        rows = portal.links(state.runtime(), customer)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for link_id, created, expires, revoked, by in rows:
        click.echo(f"{link_id:>6}  created {created:%Y-%m-%d %H:%M} by {by}  expires "
                   f"{expires:%Y-%m-%d %H:%M}  "
                   + (f"revoked {revoked:%Y-%m-%d %H:%M}" if revoked else "active"))
    if not rows:
        click.echo(f"customer {customer} has no portal links", err=True)


@portal_group.command()
@click.argument("link_id", type=int)
@click.pass_obj
def revoke(state: State, link_id: int) -> None:
    """Revoke the link LINK_ID (from `o2c portal list`): it stops working at once."""
    try:
        portal.revoke_link(state.runtime(), link_id, "system:cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"portal link {link_id} revoked")
