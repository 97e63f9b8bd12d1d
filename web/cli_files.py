"""`o2c` commands that work on files: parse, import, match and dunning plan."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from documents.open_items_csv import ImportedPayment, read_open_items_csv, read_payments_csv
from documents.parse import ReadOptions, failed, parse_file
from documents.statements import malformed, read_statement
from engine.core.records import Issue, Statement
from engine.planning import dunning_plan, match_statements
from engine.rulebook import read_proposal
from engine.services.imports import import_customers, import_open_items
from engine.store.db import upgrade
from web.cli_common import State, date_option

EXISTING = click.Path(exists=True, dir_okay=False)


def _fail(issues: list[Issue]) -> None:
    for issue in issues:
        click.echo(str(issue), err=True)
    sys.exit(1)


def _rules(state: State, event_file: str):  # type: ignore[no-untyped-def]
    proposal = read_proposal(state.config.path("storage.rules") / event_file)
    if proposal.rule_set is None or proposal.issues:
        _fail(list(proposal.issues))
    return proposal.rule_set


@click.command()
@click.argument("files", nargs=-1, required=True, type=EXISTING)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
@click.pass_obj
def parse(state: State, files: tuple[str, ...], as_json: bool) -> None:
    """Read and extract files without a database: purchase orders, invoices (XML, Factur-X,
    PDF, scans), remittance advices, bank statements. Exits 1 when any file could not be
    read; the other files are still read."""
    options = ReadOptions.of(state.config)
    unreadable = 0
    for file in files:
        path = Path(file)
        result = parse_file(path.read_bytes(), path.name, options)
        unreadable += failed(result)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
            continue
        fields = result["fields"]
        shown = " ".join(f"{n}={fields[n]['value']}" for n in
                         ("number", "issue_date", "currency", "total_gross") if n in fields)
        click.echo(f"{result['file']}: {result['kind']} ({result['source']}) {shown}")
        for st in result.get("statements") or []:
            click.echo(f"  {st['account']} {st['currency']}: {len(st['entries'])} entries, "
                       f"{st['opening_balance']} → {st['closing_balance']}")
        for issue in result["issues"]:
            click.echo(f"  {issue['severity']}: {issue['message']}")
    sys.exit(1 if unreadable else 0)


@click.group(name="import")
def import_group() -> None:
    """Bring customers and open items from the old system (CSV, see the README)."""


def _report(result) -> None:  # type: ignore[no-untyped-def]
    if not result.ok:
        _fail(list(result.issues))
    click.echo(f"{result.source}: {result.customers_created} customers created, "
               f"{result.customers_updated} updated, {result.invoices_created} open items")
    for note in result.notes:
        click.echo(f"  {note}")


@import_group.command("customers")
@click.argument("file", type=EXISTING)
@click.option("--by", "actor", default="cli", show_default=True)
@click.pass_obj
def import_customers_command(state: State, file: str, actor: str) -> None:
    """Customers by number: new ones created, known ones updated (all or nothing)."""
    rt = state.runtime()
    upgrade(rt.config.database_url)
    _report(import_customers(rt, Path(file).read_bytes(), Path(file).name, actor))


@import_group.command("open-items")
@click.argument("file", type=EXISTING)
@click.option("--by", "actor", default="cli", show_default=True)
@click.pass_obj
def import_open_items_command(state: State, file: str, actor: str) -> None:
    """Open invoices with their paid part and dunning history (all or nothing)."""
    rt = state.runtime()
    upgrade(rt.config.database_url)
    _report(import_open_items(rt, Path(file).read_bytes(), Path(file).name, actor))


@click.command()
@click.option("--open-items", "open_items", required=True, type=EXISTING)
@click.argument("statements", nargs=-1, required=True, type=EXISTING)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per statement entry.")
@click.pass_obj
def match(state: State, open_items: str, statements: tuple[str, ...], as_json: bool) -> None:
    """Run the matching policy on files alone: open items (CSV) against statements."""
    items, issues = read_open_items_csv(Path(open_items).read_bytes(), Path(open_items).name)
    read: list[Statement] = []
    for file in statements:
        found, problems = read_statement(Path(file).read_bytes(), Path(file).name)
        issues += [p for p in problems if not found] + malformed(problems)
        read += found
    if issues:
        _fail(issues)
    for line in match_statements(_rules(state, "matching.yaml"), items, read):
        if as_json:
            click.echo(json.dumps(line, ensure_ascii=False))
        else:
            invoices = ", ".join(a["invoice_number"] for a in line["allocations"])
            click.echo(f"{line['booking_date']} {line['amount']:>12} {line['status']:9} "
                       f"{invoices} {line['reason']}")


@click.group()
def dunning() -> None:
    """Dunning on files."""


@dunning.command("plan")
@click.option("--open-items", "open_items", required=True, type=EXISTING)
@click.option("--payments", type=EXISTING, help="Partial payments: invoice_number,date,amount.")
@click.option("--today", callback=date_option, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def plan_command(state: State, open_items: str, payments: str | None, today: date,
                 as_json: bool) -> None:
    """What the dunning rules would send today, computed without a database."""
    items, issues = read_open_items_csv(Path(open_items).read_bytes(), Path(open_items).name)
    paid: list[ImportedPayment] = []
    if payments:
        paid, more = read_payments_csv(Path(payments).read_bytes(), Path(payments).name)
        issues += more
    if issues:
        _fail(issues)
    result = dunning_plan(_rules(state, "dunning.yaml"), items, paid, today)
    if as_json:
        click.echo(json.dumps(result["letters"], indent=2, ensure_ascii=False))
        return
    for letter in result["letters"]:
        click.echo(f"{letter['customer_number']}: level {letter['level']} ({letter['rule']}), "
                   f"{len(letter['invoices'])} invoices, claim {letter['total_claim']}")
    for esc in result["escalations"]:
        click.echo(f"escalate {esc['invoice_number']} to {esc['role']}")
