"""`o2c archive …`: check the hash chain of issued files, and list what is archived."""

from __future__ import annotations

import sys

import click

from engine.services import archive as archive_service
from web.cli_common import State


@click.group()
def archive() -> None:
    """The archive of issued files (GoBD): verify the hash chain, list the entries."""


@archive.command()
@click.pass_obj
def verify(state: State) -> None:
    """Re-read every archived file and recompute the chain; exit 1 on any problem."""
    rt = state.runtime()
    with rt.db.unit_of_work() as session:
        report = archive_service.check(session, rt.blobs)
    if report.problems:
        for problem in report.problems:
            click.echo(problem)
        click.echo(f"archive NOT intact: {len(report.problems)} problem(s) in "
                   f"{report.count} documents", err=True)
        sys.exit(1)
    click.echo(f"archive intact: {report.count} documents")
    click.echo(f"head: {report.head}")


@archive.command(name="list")
@click.option("--kind", help="Only this kind: invoices, credit_notes, reminders, …")
@click.pass_obj
def list_command(state: State, kind: str | None) -> None:
    """One line per archived file: id, time (UTC), kind, filename, sha256."""
    rt = state.runtime()
    with rt.db.unit_of_work() as session:
        rows = archive_service.entries(session, kind)
    for e in rows:
        click.echo(f"{e.id:>6}  {e.archived_at:%Y-%m-%d %H:%M:%S}  {e.kind:<15} "
                   f"{e.filename:<40} {e.sha256}")
    if not rows:
        click.echo("no archived documents" + (f" of kind {kind}" if kind else ""), err=True)
