"""`callrec dial add|import|list|show|cancel`: the outbound dialer's call tasks.

The tasks are dialled by `callrec serve` with [dialer] enabled, or `callrec dialer run` (paced by
[dialer]); these commands only create, inspect and cancel them. Every check a task goes through
is callrec.dialer.intake's, the same for one task and for a CSV file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import click

from callrec.cli.context import Context, json_option, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.dialer import csvimport
from callrec.dialer.errors import DialerError
from callrec.dialer.intake import Intake, duplicate_of
from callrec.dialer.schedule import Status, Task, VoicemailMode
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore, TaskDetail
from callrec.store import Store

T = TypeVar("T")
IMPORT_REJECTED_EXIT = 3  # some rows refused (the others were imported): scripts can tell


def dialer_settings(ctx: Context) -> DialerConfig:
    """The configuration's [dialer] table (its defaults when the file has none)."""
    return ctx.config.dialer


def run(ctx: Context, work: Callable[[Store, DialStore], Awaitable[T]]) -> T:
    try:
        return ctx.with_store(lambda store: work(store, DialStore(store.database)))
    except DialerError as exc:
        raise click.ClickException(str(exc)) from exc


async def intake(store: Store, config: DialerConfig) -> Intake:
    agents = frozenset(a.name for a in await store.list_agents() if a.enabled)
    return Intake(config, agents, datetime.now(UTC))


def task_arg(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a task ID (a UUID): {value!r}") from exc


def local(config: DialerConfig, task: Task, at: datetime | None) -> str:
    """A time as the business unit reads it (calling hours are local)."""
    unit = config.unit(task.business_unit)
    if at is None:
        return "-"
    shown = at.astimezone(unit.zone) if unit is not None else at
    return shown.strftime("%a %Y-%m-%d %H:%M %Z")


@click.group()
def dial() -> None:
    """Outbound call tasks: at most three attempts each, within calling hours ([dialer])."""


@dial.command("add")
@click.option("--number", required=True, help="The client's number (national or +CC).")
@click.option("--client-ref", required=True, help="The client's reference (not spoken).")
@click.option("--agent", default="", help="Agent to connect (default: any free agent).")
@click.option("--business-unit", default="", help="Calling hours and caller ID to use.")
@click.option("--voicemail", type=click.Choice([m.value for m in VoicemailMode]),
              default=VoicemailMode.MINIMAL.value, show_default=True,
              help="identifies_client: the greeting names the client; minimal: the number is "
                   "the client's but the greeting does not say; none: leave no message.")
@click.option("--client-name", default="", help="Said only with [dialer] client_name = task.")
@json_option
@pass_ctx
def dial_add(ctx: Context, as_json: bool, **fields: str) -> None:
    """Create one call task."""
    config = dialer_settings(ctx)

    async def work(store: Store, dials: DialStore) -> Task:
        task = (await intake(store, config)).task(id=uuid4(), **fields)
        duplicate = duplicate_of(task, await dials.open_tasks())
        if duplicate is not None:
            raise DialerError(f"not added: {duplicate}")
        await dials.add([task])
        return task
    task = run(ctx, work)
    if as_json:
        emit_json(task)
        return
    click.echo(f"added task {task.id}: {task.number} (client {task.client_ref}, "
               f"{task.business_unit})")
    if task.next_due is not None and task.next_due > task.created_at:
        click.echo(f"outside the calling hours of {task.business_unit} now: first attempt "
                   f"not before {local(config, task, task.next_due)}")


@dial.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; create nothing.")
@click.option("--agent", default="", help="For rows without an agent.")
@click.option("--business-unit", default="", help="For rows without a business unit.")
@json_option
@pass_ctx
def dial_import(ctx: Context, csv_file: Path, dry_run: bool, agent: str, business_unit: str,
                as_json: bool) -> None:
    """Create call tasks from a CSV file (columns: number, client_ref, and optionally agent,
    business_unit, voicemail, client_name). Prints every refused row with its reason. Exit status
    3 when some rows were refused (the others are imported); a file whose header is wrong or
    which is not readable CSV imports nothing."""
    config = dialer_settings(ctx)
    try:
        text = csvimport.read_file(csv_file)
    except DialerError as exc:
        raise click.ClickException(str(exc)) from exc

    async def work(store: Store, dials: DialStore) -> csvimport.ImportReport:
        report = csvimport.parse(text, await intake(store, config), await dials.open_tasks(),
                                 csvimport.Defaults(agent, business_unit))
        if not dry_run and report.tasks:
            await dials.add(report.tasks)
        return report
    report = run(ctx, work)
    _print_report(report, dry_run, as_json)
    if report.rejected:
        raise click.exceptions.Exit(IMPORT_REJECTED_EXIT)


def _print_report(report: csvimport.ImportReport, dry_run: bool, as_json: bool) -> None:
    verb = "would import" if dry_run else "imported"
    if as_json:
        emit_json({"dry_run": dry_run, "imported": 0 if dry_run else len(report.tasks),
                   "accepted": len(report.tasks), "rejected": len(report.rejected),
                   "rows": [{"line": r.line, "status": r.status, "reason": r.reason,
                             "number": r.number, "client_ref": r.client_ref,
                             "task_id": r.task.id if r.task else None} for r in report.rows]})
        return
    table(f"{len(report.rows)} rows: {verb} {len(report.tasks)}, refused {len(report.rejected)}",
          ["line", "result", "number", "client", "reason / task"],
          [(r.line, r.status, r.number, r.client_ref, r.reason or (r.task and r.task.id))
           for r in report.rows])


@dial.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@json_option
@pass_ctx
def dial_list(ctx: Context, status: str | None, limit: int, as_json: bool) -> None:
    """Call tasks, newest first."""
    config = dialer_settings(ctx)
    wanted = None if status is None else Status(status)
    tasks = run(ctx, lambda _, dials: dials.list_tasks(wanted, limit))
    if as_json:
        emit_json(tasks)
        return
    table("Call tasks", ["id", "status", "number", "client", "unit", "agent", "tries",
                         "next attempt (local)", "closed"],
          [(t.id, t.status, t.number, t.client_ref, t.business_unit, t.agent, len(t.attempts),
            local(config, t, t.next_due), t.close_reason) for t in tasks])


@dial.command("show")
@click.argument("task_id", type=task_arg)
@json_option
@pass_ctx
def dial_show(ctx: Context, task_id: UUID, as_json: bool) -> None:
    """A task and every attempt: time, result, AMD verdict, voicemail left, call, recording."""
    config = dialer_settings(ctx)
    detail = run(ctx, lambda _, dials: dials.get(task_id))
    if detail is None:
        raise click.ClickException(f"no dial task {task_id}")
    if as_json:
        emit_json(detail)
        return
    _print_detail(config, detail)


def _print_detail(config: DialerConfig, detail: TaskDetail) -> None:
    t = detail.task
    facts: list[tuple[str, Any]] = [
        ("task", t.id), ("status", t.status), ("closed because", t.close_reason),
        ("number", t.number), ("client", t.client_ref), ("business unit", t.business_unit),
        ("agent", t.agent or "any"), ("voicemail", t.voicemail), ("created", t.created_at),
        ("next attempt", local(config, t, t.next_due)), ("closed", t.closed_at)]
    table("Call task", ["", ""], facts)
    table("Attempts", ["#", "started", "ended", "outcome", "AMD", "script", "left at", "words",
                       "call", "recording"],
          [(a.n, a.started_at, a.ended_at, a.outcome,
            " ".join(filter(None, (a.amd_verdict, a.amd_cause))) or None, a.script_kind,
            a.script_at, a.script_text, a.call_id, a.recording_id) for a in detail.attempts])
    if detail.disclosures:
        table("Recording disclosure", ["call", "started", "ended", "outcome"],
              [(d.call_id, d.started_at, d.ended_at, d.outcome) for d in detail.disclosures])


@dial.command("cancel")
@click.argument("task_id", type=task_arg)
@click.option("--reason", default="cancelled", show_default=True)
@pass_ctx
def dial_cancel(ctx: Context, task_id: UUID, reason: str) -> None:
    """No further attempts. A call already in progress is not cut; it is recorded as usual."""
    task = run(ctx, lambda _, dials: dials.cancel(task_id, datetime.now(UTC), reason))
    in_call = task.closed_at is None
    click.echo(f"cancelled task {task.id}" + (" (its call in progress finishes first)"
                                              if in_call else ""))


def register(main: click.Group) -> None:
    if "dial" not in main.commands:
        main.add_command(dial)
