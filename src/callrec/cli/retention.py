"""`callrec retention run|classes` and `callrec hold add|remove`: disposal of recordings past
their retention class, and the legal holds that stop it."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from callrec.cli.access import governed, json_option, retention_settings, uuid_arg
from callrec.cli.context import Context, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.governance.retention import Outcome, RetentionReport, run
from callrec.governance.service import Governance


@click.group()
def retention() -> None:
    """Retention classes (config [retention]) and disposal runs (admins)."""


@retention.command("classes")
@pass_ctx
def retention_classes(ctx: Context) -> None:
    """The configured classes and which queues and business units use them."""
    cfg = retention_settings(ctx)
    table("Retention classes", ["class", "days", "default"],
          [(name, days, "yes" if name == cfg.default_class else "") for name, days in
           cfg.classes])
    rules = [("queue", k, v) for k, v in cfg.queues] + [
        ("business unit", k, v) for k, v in cfg.business_units]
    if rules:
        table("Assignments (queue wins over business unit)", ["by", "name", "class"], rules)


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what is due; change nothing.")
@json_option
@pass_ctx
def retention_run(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Delete the files of recordings older than their class and not under a legal hold, mark
    them purged and record a disposal for each. Safe to interrupt and run again."""
    cfg = retention_settings(ctx)
    console = Console(stderr=True)

    async def work(g: Governance) -> RetentionReport:
        columns = (TextColumn("purging"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, disable=dry_run or as_json) as bar:
            task = bar.add_task("purge", total=None)

            def planned(count: int) -> None:
                bar.update(task, total=count)

            def done(outcome: Outcome) -> None:
                bar.advance(task)
                if not outcome.purged:
                    console.print(f"skipped {outcome.recording_id}: {outcome.note}")
            return await run(g, cfg, dry_run=dry_run, on_plan=planned, on_outcome=done)
    report = governed(ctx, work)
    if as_json:
        emit_json(report)
        return
    if dry_run:
        _print_plan(report)
        return
    click.echo(f"purged {report.purged} of {len(report.due)} due recordings")
    failed = [o for o in report.outcomes if o.note.startswith("failed")]
    if failed:
        raise click.ClickException(f"{len(failed)} recordings failed; run again to retry")


PLAN_SHOWN = 20


def _print_plan(report: RetentionReport) -> None:
    per_class = Counter(v.retention_class for v in report.due)
    table(f"Due for disposal (dry run): {len(report.due)}", ["class", "recordings"],
          sorted(per_class.items()))
    if report.due:
        oldest = report.due[:PLAN_SHOWN]
        table(f"Oldest {len(oldest)} (all of them with --json)", ["recording", "class", "days",
                                                                  "started", "expired"],
              [(v.recording_id, v.retention_class, v.days, v.started_at, v.expires_at)
               for v in oldest])


@click.group()
def hold() -> None:
    """Legal holds: a recording under hold is never purged (approvers and admins)."""


@hold.command("add")
@click.argument("recording_id", type=uuid_arg("recording"))
@click.option("--reason", required=True)
@pass_ctx
def hold_add(ctx: Context, recording_id: UUID, reason: str) -> None:
    governed(ctx, lambda g: g.hold_add(recording_id, reason))
    click.echo(f"legal hold placed on {recording_id}")


@hold.command("remove")
@click.argument("recording_id", type=uuid_arg("recording"))
@click.option("--reason", required=True)
@pass_ctx
def hold_remove(ctx: Context, recording_id: UUID, reason: str) -> None:
    governed(ctx, lambda g: g.hold_remove(recording_id, reason))
    click.echo(f"legal hold released on {recording_id}")


def register(main: click.Group) -> None:
    main.add_command(retention)
    main.add_command(hold)
