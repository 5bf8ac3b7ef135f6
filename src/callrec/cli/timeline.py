"""`callrec calls timeline CALL_ID -o call.png` and `callrec verify [--since ISO]`.

Wiring: `register(main)` in cli/main.py (adds `timeline` to the existing `calls` group and the
top-level `verify` command).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from callrec.cli.context import Context, call_id_arg, json_option, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.store import Store
from callrec.timeline import TimelineError, VerifyReport, draw_call, verify_all
from callrec.timeline.render import sidecar_path


def since_arg(value: str | None) -> datetime | None:
    """ISO 8601 date or time; without a zone it is read as UTC (evidence times are UTC)."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date/time: {value!r} (e.g. 2025-03-01 or "
                                 "2025-03-01T09:00+01:00)") from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@click.command("timeline")
@click.argument("call_id", type=call_id_arg)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PNG to write; its data goes beside it as OUTPUT.json.")
@click.option("--no-waveform", is_flag=True, help="Skip reading the recording files.")
@pass_ctx
def calls_timeline(ctx: Context, call_id: UUID, output: Path, no_waveform: bool) -> None:
    """Draw the call's phases, agents, recorded spans, holds and transfers on a time axis, with
    each recording's waveform under it."""
    async def work(store: Store) -> dict[str, Any]:
        return await draw_call(store, call_id, output, waveform=not no_waveform)
    try:
        drawn = ctx.with_store(work)
    except TimelineError as exc:
        raise click.ClickException(str(exc)) from exc
    phases = " > ".join(p["label"] for p in drawn["phases"]) or "no phases recorded"
    click.echo(f"{output} ({phases}); data in {sidecar_path(output)}")


@click.command("verify")
@click.option("--since", type=str, default=None, help="Only recordings started at/after this "
              "ISO date/time (UTC unless a zone is given).")
@json_option
@pass_ctx
def verify(ctx: Context, since: str | None, as_json: bool) -> None:
    """Check every recording against its call's timeline and its file; exit 1 if anything is off.

    Starts no earlier than the agent joined and stops no later than the agent left (20 ms
    tolerance), is no longer than the agent's time in the bridge, and its file exists, is not
    empty or silent, and matches its SHA-256.
    """
    start = since_arg(since)
    until = datetime.now(UTC)
    try:
        report: VerifyReport = ctx.with_store(lambda s: verify_all(s, start, until))
    except TimelineError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json({"checked": report.checked, "findings": report.findings})
    elif report.findings:
        table(f"{len(report.findings)} finding(s) in {report.checked} recording(s)",
              ["recording", "call", "finding", "detail"],
              [(f.recording_id, f.call_id, f.code, f.message) for f in report.findings])
    else:
        click.echo(f"{report.checked} recording(s) checked: all consistent with their calls")
    if report.findings:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    calls = main.commands["calls"]
    if not isinstance(calls, click.Group):
        raise TypeError("`calls` must be a click group")
    if "timeline" not in calls.commands:
        calls.add_command(calls_timeline)
    if "verify" not in main.commands:
        main.add_command(verify)
