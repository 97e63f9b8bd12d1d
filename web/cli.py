"""The `o2c` command line. `o2c --help` and `o2c COMMAND --help` tell the rest."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import click

from engine.jobs import JOBS, run_job
from engine.rulebook import RulesError, activate_folder
from engine.store.db import upgrade
from web.cli_archive import archive
from web.cli_common import State, date_option
from web.cli_documents import statement
from web.cli_files import dunning, import_group, match, parse
from web.cli_ops import outbox_group, sepa
from web.cli_portal import portal_group
from web.cli_rules import rules
from web.cli_tokens import token_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="O2C_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file (default: config.yaml; env O2C_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """o2c: order-to-cash automation. Purchase orders in, invoices out, payments matched."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("fontTools", "weasyprint", "factur-x", "pdfminer", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = State(config_path)


@main.command()
@click.pass_obj
def init(state: State) -> None:
    """Create or upgrade the database, record the rule sets, seed the admin."""
    from web.users import ensure_admin

    rt = state.runtime()
    upgrade(rt.config.database_url)
    try:
        with rt.db.unit_of_work() as session:
            activated = activate_folder(session, rt.config.path("storage.rules"), "system:init")
    except RulesError as exc:
        raise click.ClickException(f"rule files refused, the active ones stay:\n{exc}") from None
    click.echo(f"database ready: {rt.config.database_url}")
    if activated:
        click.echo(f"rule sets recorded: {', '.join(activated)}")
    password = ensure_admin(rt)
    if password:
        click.echo(f"admin user: admin  password: {password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve the web only (workers run the jobs).")
@click.pass_obj
def serve(state: State, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the web app and run the scheduler in the same process."""
    from werkzeug.serving import run_simple

    from web.app import create_app
    from web.scheduler import build_scheduler

    rt = state.runtime()
    upgrade(rt.config.database_url)
    app = create_app(rt)
    scheduler = None if no_scheduler else build_scheduler(rt)
    if scheduler:
        scheduler.start()
    click.echo(f"o2c serving http://{host}:{port}/")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)


@main.command()
@click.pass_obj
def worker(state: State) -> None:
    """Run the scheduler's jobs without the web (start several, on any machines)."""
    from web.scheduler import build_scheduler

    rt = state.runtime()
    upgrade(rt.config.database_url)
    click.echo("o2c worker running the jobs: " + ", ".join(JOBS))
    build_scheduler(rt, blocking=True).start()


@main.command()
@click.option("--dir", "folder", required=True, type=click.Path(file_okay=False),
              help="An empty folder for the workspace.")
@click.option("--start", callback=date_option, help="First simulated day (default: 63 days ago).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def demo(state: State, folder: str, start: date | None, as_json: bool) -> None:
    """Make a workspace with sample data and run the chain over two simulated months."""
    from engine.demo import run_demo

    began = time.monotonic()
    log = (lambda _m: None) if as_json else click.echo
    first = start or date.today() - timedelta(days=63)
    try:
        counts = run_demo(state.config, Path(folder).resolve(), first, log,
                          lambda path: state.runtime(path))
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(f"\ndemo workspace: {Path(folder).resolve()}  ({time.monotonic() - began:.1f} s)")
    for key, value in counts.items():
        click.echo(f"  {key:15} {value}")
    click.echo(f"documents sent: {Path(folder).resolve() / 'out'}")
    click.echo(f"serve it: o2c --config {Path(folder).resolve() / 'config.yaml'} serve")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--today", callback=date_option, help="The business date (default: today).")
@click.pass_obj
def ingest(state: State, files: tuple[str, ...], today: date | None) -> None:
    """Take files into intake (original stored first), then read and record them."""
    from engine.services import intake

    rt = state.runtime()
    failed = False
    for name in files:
        try:
            received = intake.receive(rt, Path(name).read_bytes(), Path(name).name, "cli")
        except intake.RejectedFile as exc:
            click.echo(f"refused: {exc}", err=True)
            failed = True
            continue
        status = intake.process(rt, received.document_id, today or date.today())
        note = "" if received.new else " (seen before)"
        click.echo(f"{name}: document {received.document_id} {status}{note}")
    if failed:
        sys.exit(1)


@main.command(name="run")
@click.argument("job", type=click.Choice([*JOBS, "all"]))
@click.option("--today", callback=date_option, help="The business date (default: today).")
@click.option("--dry-run", is_flag=True, help="dunning only: say what would go out, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Indented JSON.")
@click.pass_obj
def run_command(state: State, job: str, today: date | None, dry_run: bool,
                as_json: bool) -> None:
    """Run one scheduler job once: mail, folder, intake, fulfilment, invoicing, matching,
    dunning, watch, outbox (or all)."""
    from engine.services import dunning as dunning_service

    rt = state.runtime()
    day = today or date.today()
    if dry_run and job != "dunning":
        raise click.UsageError("--dry-run is for the dunning job")
    if dry_run:
        rt.reload_rules()
        result = dunning_service.run(rt, day, dry_run=True)
    else:
        result = run_job(rt, job, day)
    click.echo(json.dumps(result, default=str, indent=2 if as_json else None))


@main.group()
def user() -> None:
    """Users and passwords."""


@user.command("reset-password")
@click.argument("email")
@click.option("--role", default="admin", show_default=True)
@click.pass_obj
def reset_password(state: State, email: str, role: str) -> None:
    """Create the user or set a new random password, and print it."""
    from web.users import set_password

    rt = state.runtime()
    upgrade(rt.config.database_url)
    try:
        password = set_password(rt, email, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"login: {email}  password: {password}")


main.add_command(rules)
main.add_command(parse)
main.add_command(import_group)
main.add_command(match)
main.add_command(dunning)
main.add_command(archive)
main.add_command(outbox_group)
main.add_command(sepa)
main.add_command(statement)
main.add_command(token_group)
main.add_command(portal_group)

if __name__ == "__main__":
    main()
