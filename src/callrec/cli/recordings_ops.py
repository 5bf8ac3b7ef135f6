"""`callrec recordings list|show|fetch|encrypt` and `callrec encryption keygen`: finding
recordings and handing them out, each attempt audited.

`register(main)` adds these to the existing `recordings` group (replacing its plain `list`).
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import click
from rich.console import Console
from rich.progress import Progress

from callrec.cli.access import (
    encryption_config,
    governed,
    json_option,
    utc_time,
    uuid_arg,
)
from callrec.cli.context import Context, pass_ctx
from callrec.cli.output import cell, emit_json, table
from callrec.governance import crypto
from callrec.governance.errors import CryptoError
from callrec.governance.files import Encrypted, encrypt_all, encrypt_recording, fetch
from callrec.governance.listing import MAX_LIMIT, SORTS, RecordingFilter, RecordingRow
from callrec.governance.service import Evidence
from callrec.governance.settings import ENCRYPTION_KEY_ENV

CSV_COLUMNS = ("id", "call_id", "segment", "started_at", "stopped_at", "duration_ms", "status",
               "direction", "caller_number", "client_number", "agent_name", "queue",
               "business_unit", "hold_count", "legal_hold", "sha256")


def _csv_values(r: RecordingRow) -> list[Any]:
    rec = r.recording
    values = (rec.id, rec.call_id, rec.segment, rec.started_at, rec.stopped_at, rec.duration_ms,
              rec.status, r.direction, r.caller_number, r.client_number, r.agent_name, r.queue,
              r.business_unit, r.hold_count, r.legal_hold, rec.sha256)
    return ["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in values]


@click.command("list")
@click.option("--since", type=utc_time, help="Started at or after (ISO date/time, UTC default).")
@click.option("--until", type=utc_time, help="Started before.")
@click.option("--agent")
@click.option("--caller", "caller_number")
@click.option("--client", "client_number")
@click.option("--call", "call_id", type=uuid_arg("call"))
@click.option("--direction", type=click.Choice(["inbound", "outbound"]))
@click.option("--business-unit")
@click.option("--queue")
@click.option("--status")
@click.option("--has-holds", is_flag=True, help="The caller was put on hold during it.")
@click.option("--legal-hold", is_flag=True, help="Under an active legal hold.")
@click.option("--sort", type=click.Choice(SORTS), default="started", show_default=True,
              help="Newest or longest first.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MAX_LIMIT))
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")
@pass_ctx
def recordings_list(ctx: Context, /, as_json: bool, as_csv: bool, **filters: Any) -> None:
    """Find recordings (every listing is audited)."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    f = RecordingFilter(**filters)
    rows = governed(ctx, lambda g: g.list_recordings(f))
    if as_json:
        emit_json(rows)
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_values(r) for r in rows)
    else:
        first = f.offset + 1
        title = f"Recordings {first}-{f.offset + len(rows)} (page {f.page})" if rows else \
            f"Recordings: none on page {f.page}"
        table(title, ["id", "call", "seg", "agent", "caller", "client", "started", "ms",
                      "status", "holds", "legal"],
              [(r.recording.id, r.recording.call_id, r.recording.segment, r.agent_name,
                r.caller_number, r.client_number, r.recording.started_at,
                r.recording.duration_ms, r.recording.status, r.hold_count,
                "HOLD" if r.legal_hold else "") for r in rows])


@click.command("show")
@click.argument("recording_id", type=uuid_arg("recording"))
@json_option
@pass_ctx
def recordings_show(ctx: Context, recording_id: UUID, as_json: bool) -> None:
    """The evidence of one recording: its call's timeline, legs, holds, disclosure proof, file
    hashes, legal holds and disposal."""
    evidence = governed(ctx, lambda g: g.show_recording(recording_id))
    if as_json:
        emit_json(evidence)
        return
    _print_evidence(evidence)


def _print_evidence(e: Evidence) -> None:
    from callrec.cli.show import print_call

    rec = e.row.recording
    table(f"Recording {rec.id}", ["field", "value"], [
        ("call", rec.call_id), ("segment", rec.segment), ("agent", e.row.agent_name),
        ("status", rec.status), ("started", rec.started_at), ("stopped", rec.stopped_at),
        ("stop reason", rec.stop_reason), ("duration ms", rec.duration_ms),
        ("bytes", rec.bytes), ("mix", rec.file_mix), ("mix sha256", rec.sha256),
        ("stereo", rec.file_stereo), ("caller leg", rec.file_caller),
        ("agent leg", rec.file_agent), ("queue", e.row.queue),
        ("business unit", e.row.business_unit),
    ])
    if e.legal_holds:
        table("Legal holds", ["placed", "by", "reason", "released", "by", "why"],
              [(h.placed_at, h.placed_by, h.reason, h.released_at, h.released_by,
                h.release_reason) for h in e.legal_holds])
    if e.disposal:
        d = e.disposal
        table("Disposal", ["when", "class", "days", "by", "sha256", "files"],
              [(d.disposed_at, d.retention_class, d.retention_days, d.actor, cell(d.sha256),
                ", ".join(f"{f['path']} ({f['outcome']})" for f in d.files))])
    if e.call is not None:
        print_call(e.call)


@click.command("fetch")
@click.argument("recording_id", type=uuid_arg("recording"))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@pass_ctx
def recordings_fetch(ctx: Context, recording_id: UUID, output: Path, force: bool) -> None:
    """Write a copy (stereo if fingerprinted, else the mix) under a live access grant. The
    SHA-256 is verified before OUTPUT is written; encrypted files are decrypted."""
    key = _key(ctx)
    done = governed(ctx, lambda g: fetch(g, recording_id, output, key=key, overwrite=force))
    click.echo(f"wrote {done.output} ({done.kind}, {done.bytes} bytes, sha256 {done.sha256})")


def _key(ctx: Context) -> bytes | None:
    try:
        return crypto.load_key(encryption_config(ctx))
    except CryptoError as exc:
        raise click.ClickException(f"encryption key: {exc}") from exc


@click.command("encrypt")
@click.argument("recording_ids", nargs=-1, type=uuid_arg("recording"))
@click.option("--all", "every", is_flag=True, help="Every complete or incomplete recording.")
@pass_ctx
def recordings_encrypt(ctx: Context, recording_ids: tuple[UUID, ...], every: bool) -> None:
    """Encrypt recordings' files in place with AES-256-GCM (admins; already encrypted files are
    left as they are)."""
    if every == bool(recording_ids):
        raise click.UsageError("give recording IDs or --all (not both)")
    settings = encryption_config(ctx)
    key = _key(ctx)
    if key is None:
        raise click.ClickException(f"no key: set {ENCRYPTION_KEY_ENV} or [encryption] "
                                   "key_file (callrec encryption keygen makes one)")
    console = Console(stderr=True)

    async def work(g: Any) -> list[Encrypted]:
        if every:
            with Progress(console=console) as bar:
                task = bar.add_task("encrypting", total=None)
                return await encrypt_all(g, key, settings.chunk_size,
                                         lambda _: bar.advance(task))
        return [await encrypt_recording(g, r, key, settings.chunk_size) for r in recording_ids]
    results = governed(ctx, work)
    files = sum(len(r.files) for r in results)
    click.echo(f"encrypted {files} files of {len(results)} recordings")


@click.group()
def encryption() -> None:
    """Keys for encryption at rest."""


@encryption.command("keygen")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def encryption_keygen(output: Path) -> None:
    """Write a new random AES-256 key (hex) to OUTPUT, readable by its owner only."""
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise click.ClickException(f"{output}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as f:
        f.write(crypto.generate_key().hex() + "\n")
    click.echo(f"wrote {output}; keep a copy: recordings encrypted with it are lost without it")


def register(main: click.Group) -> None:
    group = main.commands.get("recordings")
    if not isinstance(group, click.Group):
        group = click.Group("recordings", help="Recordings and their evidence.")
        main.add_command(group)
    for command in (recordings_list, recordings_show, recordings_fetch, recordings_encrypt):
        group.add_command(command)
    main.add_command(encryption)
