"""`callrec`: the command line. Each command is a thin shell over the store or the ARI gateway."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any
from uuid import UUID

import click

from callrec import app
from callrec.ari import AriClient, AriError
from callrec.cli import access, dial, recordings_ops, release, retention, timeline
from callrec.cli.context import Context, call_id_arg, json_option, pass_ctx
from callrec.cli.output import emit_json, table
from callrec.config import Config
from callrec.controller.controller import CONTROL_EVENT
from callrec.dialer.store import DialStore
from callrec.governance.ports import ChainedAuditSink, GrantAuthoriser
from callrec.release.ports import Governance
from callrec.store import CallDetail, Store


@click.group()
@click.option("--config", "config_path", envvar="CALLREC_CONFIG", type=click.Path(dir_okay=False),
              help="TOML configuration file (default ./callrec.toml if present).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Call-recording compliance for Asterisk contact centres."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(config_path)


@main.command()
@pass_ctx
def serve(ctx: Context) -> None:
    """Run the ARI controller until SIGINT/SIGTERM."""
    _serve(ctx.config)


def _serve(config: Config) -> None:
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    app.run_serve(config)


@main.group()
def dialer() -> None:
    """The outbound dialer (its call tasks: `callrec dial`)."""


@dialer.command("run")
@pass_ctx
def dialer_run(ctx: Context) -> None:
    """Run `callrec serve` with the dialer on, whatever [dialer] enabled says (the dialer places
    its calls through the controller). Until SIGINT/SIGTERM."""
    config = ctx.config
    _serve(replace(config, dialer=replace(config.dialer, enabled=True)))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@pass_ctx
def db_migrate(ctx: Context) -> None:
    """Apply pending schema migrations."""
    applied = ctx.with_store(lambda s: s.migrate())
    click.echo(f"applied: {', '.join(map(str, applied))}" if applied else "schema up to date")


# ------------------------------------------------------------------------------------ agents
@main.group()
def agents() -> None:
    """The agent pool (name + Asterisk dial string)."""


@agents.command("add")
@click.argument("name")
@click.argument("dial_string")
@pass_ctx
def agents_add(ctx: Context, name: str, dial_string: str) -> None:
    """Add an agent, e.g. `callrec agents add alice PJSIP/alice`."""
    if "/" not in dial_string:
        raise click.BadParameter("a dial string looks like TECH/resource, e.g. PJSIP/alice")
    ctx.with_store(lambda s: s.add_agent(name, dial_string))
    click.echo(f"added {name} ({dial_string})")


@agents.command("list")
@json_option
@pass_ctx
def agents_list(ctx: Context, as_json: bool) -> None:
    rows = ctx.with_store(lambda s: s.list_agents())
    if as_json:
        emit_json(rows)
        return
    table("Agents", ["name", "dial string", "enabled"],
          [(a.name, a.dial_string, a.enabled) for a in rows])


@agents.command("remove")
@click.argument("name")
@pass_ctx
def agents_remove(ctx: Context, name: str) -> None:
    if not ctx.with_store(lambda s: s.remove_agent(name)):
        raise click.ClickException(f"no agent named {name!r}")
    click.echo(f"removed {name}")


# ------------------------------------------------------------------------------------- calls
@main.group()
def calls() -> None:
    """Calls and their timelines; live control of calls in progress."""


@calls.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--direction", type=click.Choice(["inbound", "outbound"]))
@json_option
@pass_ctx
def calls_list(ctx: Context, limit: int, direction: str | None, as_json: bool) -> None:
    rows = ctx.with_store(lambda s: s.list_calls(limit=limit, direction=direction))
    if as_json:
        emit_json(rows)
        return
    table("Calls", ["id", "direction", "caller", "client", "started", "ended", "outcome", "reason"],
          [(c.id, c.direction, c.caller_number, c.client_number, c.started_at, c.ended_at,
            c.outcome, c.end_reason) for c in rows])


@calls.command("show")
@click.argument("call_id", type=call_id_arg)
@json_option
@pass_ctx
def calls_show(ctx: Context, call_id: UUID, as_json: bool) -> None:
    """A call's timeline, agent legs, recordings, holds, announcement proof and transfers; for an
    outbound call also the dialer's task and the attempt the call was."""
    from callrec.cli.show import Dialled, call_json, print_call

    async def read(s: Store) -> tuple[CallDetail | None, Dialled]:
        detail = await s.get_call(call_id)
        if detail is None or detail.call.direction != "outbound":
            return detail, None
        return detail, await DialStore(s.database).attempt_of_call(call_id)
    detail, dialled = ctx.with_store(read)
    if detail is None:
        raise click.ClickException(f"no call {call_id}")
    if as_json:
        emit_json(call_json(detail, dialled))
        return
    print_call(detail, dialled)


def _control(ctx: Context, call_id: UUID, action: str, **extra: str) -> None:
    cfg = ctx.config.asterisk

    async def send() -> None:
        async with AriClient(cfg.ari_url, cfg.ari_user, cfg.ari_password, cfg.app) as ari:
            await ari.user_event(CONTROL_EVENT, {"call_id": str(call_id), "action": action, **extra})
    try:
        asyncio.run(send())
    except AriError as exc:
        raise click.ClickException(f"ARI: {exc}") from exc
    click.echo(f"{action} requested for call {call_id}")


@calls.command("transfer")
@click.argument("call_id", type=call_id_arg)
@click.option("--to", "target", required=True, help="Asterisk dial string, e.g. PJSIP/2000@trunk")
@pass_ctx
def calls_transfer(ctx: Context, call_id: UUID, target: str) -> None:
    """Move the caller to another party; the agent's recording stops first."""
    _control(ctx, call_id, "transfer", target=target)


@calls.command("requeue")
@click.argument("call_id", type=call_id_arg)
@pass_ctx
def calls_requeue(ctx: Context, call_id: UUID) -> None:
    """Take the caller from the agent back to the queue (new segment with the next agent)."""
    _control(ctx, call_id, "requeue")


@calls.command("hold")
@click.argument("call_id", type=call_id_arg)
@click.option("--off", is_flag=True, help="Take the caller off hold.")
@pass_ctx
def calls_hold(ctx: Context, call_id: UUID, off: bool) -> None:
    _control(ctx, call_id, "unhold" if off else "hold")


# -------------------------------------------------------------------------------- recordings
@main.group()
def recordings() -> None:
    """Recordings and their evidence."""


@recordings.command("list")
@click.option("--call", "call_id", type=call_id_arg)
@click.option("--agent")
@click.option("--caller", "caller_number")
@click.option("--client", "client_number")
@click.option("--direction", type=click.Choice(["inbound", "outbound"]))
@click.option("--status")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@json_option
@pass_ctx
def recordings_list(ctx: Context, as_json: bool, **filters: Any) -> None:
    rows = ctx.with_store(lambda s: s.list_recordings(**filters))
    if as_json:
        emit_json(rows)
        return
    table("Recordings", ["id", "call", "seg", "agent", "caller", "started", "ms", "status", "stop"],
          [(r.recording.id, r.recording.call_id, r.recording.segment, r.agent_name,
            r.caller_number, r.recording.started_at, r.recording.duration_ms, r.recording.status,
            r.recording.stop_reason) for r in rows])


# ------------------------------------------------------------------------------- operations
def _governance(store: Store) -> Governance:
    """Releases are checked against access grants and written to the hash-chained audit log."""
    return Governance(ChainedAuditSink(store.database), GrantAuthoriser(store.database))


access.register(main)
retention.register(main)
recordings_ops.register(main)
release.register(main, governance=_governance)
timeline.register(main)
dial.register(main)
