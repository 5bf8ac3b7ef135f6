"""`callrec users|access|audit`: who may do what, need-to-know access, and the audit log.

Also the plumbing shared by the governed commands (recordings_ops, retention): `governed()` runs
one operation as the acting user and turns governance errors into clean exits:
1 = usage or database error, 3 = refused (audited), 4 = integrity or encryption failure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import click

from callrec.cli.context import Context, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.governance import (
    AccessConfig,
    AccessRefused,
    CryptoError,
    EncryptionConfig,
    Governance,
    GovernanceError,
    IntegrityError,
    RetentionConfig,
    Role,
    acting_user,
)
from callrec.governance.settings import from_env
from callrec.store import StoreError
from callrec.store.pool import Database

T = TypeVar("T")
EXIT_REFUSED = 3
EXIT_INTEGRITY = 4


class Refused(click.ClickException):
    exit_code = EXIT_REFUSED


class Compromised(click.ClickException):
    exit_code = EXIT_INTEGRITY


# --------------------------------------------------------------------------- shared plumbing
def access_config(ctx: Context) -> AccessConfig:
    # Until [access] is part of callrec.config.Config, read its CALLREC_ACCESS_* overrides here.
    found = getattr(ctx.config, "access", None)
    return found if isinstance(found, AccessConfig) else from_env(AccessConfig, "access",
                                                                  os.environ)


def encryption_config(ctx: Context) -> EncryptionConfig:
    found = getattr(ctx.config, "encryption", None)
    return found if isinstance(found, EncryptionConfig) else from_env(
        EncryptionConfig, "encryption", os.environ)


def retention_settings(ctx: Context) -> RetentionConfig:
    found = getattr(ctx.config, "retention", None)
    return found if isinstance(found, RetentionConfig) else RetentionConfig()


def governed(ctx: Context, work: Callable[[Governance], Awaitable[T]]) -> T:
    """Run `work` as the acting user over a small pool of its own."""
    config, access = ctx.config, access_config(ctx)

    async def run() -> T:
        db = await Database.connect(config.database.dsn, min_size=1, max_size=2,
                                    timeout=10.0)
        try:
            return await work(Governance(db, acting_user(access), access=access))
        finally:
            await db.close()
    try:
        return asyncio.run(run())
    except AccessRefused as exc:
        raise Refused(f"refused: {exc}") from exc
    except (IntegrityError, CryptoError) as exc:
        raise Compromised(str(exc)) from exc
    except GovernanceError as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(f"database: {exc}") from exc


def uuid_arg(what: str) -> Callable[[str], UUID]:
    def parse(value: str) -> UUID:
        try:
            return UUID(value)
        except ValueError as exc:
            raise click.BadParameter(f"not a {what} ID (a UUID): {value!r}") from exc
    parse.__name__ = f"{what} id"
    return parse


def utc_time(value: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date/time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


# ------------------------------------------------------------------------------------- users
@click.group()
def users() -> None:
    """Users and roles (viewer, approver, auditor, admin). The acting user is
    $CALLREC_ACTING_USER, else [access] acting_user, else the OS user."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@pass_ctx
def users_add(ctx: Context, name: str, role: str) -> None:
    """Add a user (admins only; the very first user must be an admin)."""
    governed(ctx, lambda g: g.add_user(name, Role(role)))
    click.echo(f"added {name} ({role})")


@users.command("disable")
@click.argument("name")
@pass_ctx
def users_disable(ctx: Context, name: str) -> None:
    governed(ctx, lambda g: g.disable_user(name))
    click.echo(f"disabled {name}")


@users.command("list")
@json_option
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    rows = governed(ctx, lambda g: g.list_users())
    if as_json:
        emit_json(rows)
        return
    table("Users", ["name", "role", "enabled", "created", "by"],
          [(u["name"], u["role"], u["enabled"], u["created_at"], u["created_by"]) for u in rows])


# ------------------------------------------------------------------------------------ access
@click.group()
def access() -> None:
    """Need-to-know access: request, approval by someone else, a grant that expires."""


@access.command("request")
@click.argument("recording_id", type=uuid_arg("recording"))
@click.option("--reason", required=True, help="Why you need to hear it (kept in the audit log).")
@pass_ctx
def access_request(ctx: Context, recording_id: UUID, reason: str) -> None:
    request = governed(ctx, lambda g: g.request_access(recording_id, reason))
    click.echo(f"request {request.id} pending approval")


@access.command("approve")
@click.argument("request_id", type=uuid_arg("request"))
@click.option("--hours", type=click.FloatRange(min=0, min_open=True),
              help="Grant lifetime (default [access] grant_hours, 24).")
@pass_ctx
def access_approve(ctx: Context, request_id: UUID, hours: float | None) -> None:
    grant = governed(ctx, lambda g: g.approve(request_id, hours))
    click.echo(f"granted {grant.grantee} access to {grant.recording_id} until "
               f"{grant.expires_at.isoformat()}")


@access.command("deny")
@click.argument("request_id", type=uuid_arg("request"))
@click.option("--reason", required=True)
@pass_ctx
def access_deny(ctx: Context, request_id: UUID, reason: str) -> None:
    governed(ctx, lambda g: g.deny(request_id, reason))
    click.echo(f"denied {request_id}")


@access.command("list")
@click.option("--pending", is_flag=True, help="Only requests awaiting a decision.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
@json_option
@pass_ctx
def access_list(ctx: Context, pending: bool, limit: int, as_json: bool) -> None:
    rows = governed(ctx, lambda g: g.list_requests(pending=pending, limit=limit))
    if as_json:
        emit_json(rows)
        return
    table("Access requests", ["id", "recording", "requester", "reason", "at", "status", "by"],
          [(r.id, r.recording_id, r.requester, r.reason, r.requested_at, r.status, r.decided_by)
           for r in rows])


# ------------------------------------------------------------------------------------- audit
@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log (auditors and admins)."""


@audit.command("list")
@click.option("--actor")
@click.option("--action")
@click.option("--target")
@click.option("--since", type=utc_time)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
@json_option
@pass_ctx
def audit_list(ctx: Context, /, as_json: bool, **filters: Any) -> None:
    rows = governed(ctx, lambda g: g.audit_list(**filters))
    if as_json:
        emit_json(rows)
        return
    table("Audit log (newest first)", ["seq", "at", "actor", "action", "target", "outcome",
                                       "detail"],
          [(e.seq, e.at, e.actor, e.action, e.target, e.outcome, e.detail) for e in rows])


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("an anchor looks like SEQ:ROW_HASH (from an earlier verify)")
    return int(seq), digest.lower()


@audit.command("verify")
@click.option("--anchor", help="SEQ:ROW_HASH printed by an earlier verify and kept elsewhere: "
                               "detects rows deleted at the end or a rewritten chain.")
@json_option
@pass_ctx
def audit_verify(ctx: Context, anchor: str | None, as_json: bool) -> None:
    """Walk the whole chain; exit 4 at the first edited, missing or rewritten row."""
    parsed = _anchor(anchor)
    report = governed(ctx, lambda g: g.audit_verify(parsed))
    if as_json:
        emit_json(report)
    elif report.ok:
        click.echo(f"audit log intact: {report.rows} rows; head {report.head_seq}:"
                   f"{report.head_hash}")
    if not report.ok:
        raise Compromised(f"audit log BROKEN at row {report.bad_seq}: {report.problem}")


def register(main: click.Group) -> None:
    for group in (users, access, audit):
        main.add_command(group)
