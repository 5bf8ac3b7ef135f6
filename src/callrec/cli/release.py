"""`callrec release create|list`: a reviewed client copy of a recording, and the record of it.

Wiring: `register(main, governance=...)` in cli/main.py, passing a factory that builds the real
audit log and grant check from the open Store. Without it the command runs with stand-ins that
log a warning on every use (see callrec.release.ports.unwired).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import click

from callrec.cli.access import access_config, encryption_config
from callrec.cli.context import Context, json_option, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.governance.crypto import load_key
from callrec.governance.errors import CryptoError
from callrec.governance.settings import acting_user
from callrec.release import (
    Format,
    Governance,
    PlanError,
    RedactMode,
    Release,
    ReleaseError,
    ReleaseRecords,
    ReleaseRequest,
    Span,
    create_release,
    parse_span,
    unwired,
)
from callrec.store import Store

GovernanceFactory = Callable[[Store], Governance]


def recording_id_arg(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a recording ID (a UUID): {value!r}") from exc


def span_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                ) -> tuple[Span, ...]:
    try:
        return tuple(parse_span(v) for v in values)
    except PlanError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def output_format(out: Path, chosen: str | None) -> Format:
    """--format wins; otherwise the output's suffix decides (.mp3), defaulting to WAV."""
    if chosen is not None:
        return Format(chosen)
    return Format.MP3 if out.suffix.lower() == ".mp3" else Format.WAV


def make_group(governance: GovernanceFactory) -> click.Group:
    @click.group("release")
    def release() -> None:
        """Client copies of recordings: holds cut out, spans redacted, reviewed, fingerprinted."""

    @release.command("create")
    @click.argument("recording_id", type=recording_id_arg)
    @click.option("--request-ref", required=True, help="The client's request reference.")
    @click.option("--redact", "redactions", multiple=True, callback=span_option,
                  metavar="MM:SS-MM:SS", help="Span of the ORIGINAL recording to redact "
                  "(repeatable), e.g. 01:23-01:41.")
    @click.option("--redact-mode", type=click.Choice([m.value for m in RedactMode]),
                  default=RedactMode.BEEP.value, show_default=True)
    @click.option("--format", "fmt", type=click.Choice([f.value for f in Format]),
                  help="Default: from the output's suffix (.mp3), else wav.")
    @click.option("--reviewer", help="Who reviewed the recording in full (default: you).")
    @click.option("--reviewed", is_flag=True,
                  help="Confirm the recording was reviewed in its entirety (required).")
    @click.option("-o", "--output", required=True,
                  type=click.Path(dir_okay=False, path_type=Path))
    @json_option
    @pass_ctx
    def create(ctx: Context, recording_id: UUID, request_ref: str, redactions: tuple[Span, ...],
               redact_mode: str, fmt: str | None, reviewer: str | None, reviewed: bool,
               output: Path, as_json: bool) -> None:
        """Build the client copy of RECORDING_ID in one step and record the release."""
        actor = acting_user(access_config(ctx))
        try:
            key = load_key(encryption_config(ctx))
        except CryptoError as exc:
            raise click.ClickException(f"encryption key: {exc}") from exc
        req = ReleaseRequest(
            recording_id=recording_id, request_ref=request_ref, output=output,
            reviewer=reviewer or actor, reviewed=reviewed, actor=actor, redactions=redactions,
            redact_mode=RedactMode(redact_mode), format=output_format(output, fmt),
            key=key)

        async def work(store: Store) -> Release:
            return await create_release(store, ReleaseRecords.of(store), governance(store), req)
        try:
            done = ctx.with_store(work)
        except ReleaseError as exc:
            raise click.ClickException(f"release refused: {exc}") from exc
        if as_json:
            emit_json(done)
            return
        cut = sum(p["source_end_ms"] - p["source_start_ms"] for p in done.edit_list
                  if p["kind"] == "cut")
        click.echo(f"release {done.id}: {done.output_path} ({done.format}, "
                   f"{done.output_duration_ms} ms, {cut} ms of hold cut, "
                   f"{len(redactions)} span(s) redacted) sha256 {done.output_sha256}")

    @release.command("list")
    @click.option("--recording", "recording_id", type=recording_id_arg)
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
    @json_option
    @pass_ctx
    def list_(ctx: Context, recording_id: UUID | None, limit: int, as_json: bool) -> None:
        """Releases, newest first."""
        rows = ctx.with_store(lambda s: ReleaseRecords.of(s).list(recording_id, limit))
        if as_json:
            emit_json(rows)
            return
        table("Releases", ["id", "recording", "request", "reviewer", "created", "format", "ms",
                           "sha256", "output"],
              [(r.id, r.recording_id, r.request_ref, r.reviewer, r.created_at, r.format,
                r.output_duration_ms, r.output_sha256[:16], r.output_path) for r in rows])

    return release


def _unwired(store: Store) -> Governance:
    return unwired()


def register(main: click.Group, governance: GovernanceFactory = _unwired) -> None:
    if "release" not in main.commands:
        main.add_command(make_group(governance))
