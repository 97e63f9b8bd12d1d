"""`o2c token …`: API tokens. A token is printed once, at creation; only its hash is kept."""

from __future__ import annotations

import click

from engine.services import tokens
from web.cli_common import State


@click.group("token")
def token_group() -> None:
    """Tokens for the JSON API (Authorization: Bearer …)."""


@token_group.command()
@click.argument("name")
@click.option("--role", type=click.Choice(tokens.ROLES), default="viewer", show_default=True,
              help="What the token may do, like a user of this role.")
@click.pass_obj
def create(state: State, name: str, role: str) -> None:
    """Create a token called NAME and print it (the only time it is shown)."""
    try:
        token = tokens.create(state.runtime(), name, role, "system:cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)
    click.echo(f"token '{name}' ({role}) created; keep it now, it is not shown again",
               err=True)


@token_group.command()
@click.argument("name")
@click.pass_obj
def revoke(state: State, name: str) -> None:
    """Revoke the token called NAME: it stops working at once."""
    try:
        tokens.revoke(state.runtime(), name, "system:cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token '{name}' revoked")


@token_group.command(name="list")
@click.pass_obj
def list_command(state: State) -> None:
    """One line per token: name, role, created, last used, revoked (UTC)."""
    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value else "-"

    for name, role, created, used, revoked in tokens.listing(state.runtime()):
        click.echo(f"{name:<30} {role:<14} created {when(created)}  used {when(used)}  "
                   f"revoked {when(revoked)}")
