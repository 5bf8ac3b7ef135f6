"""The one place where callrec's parts are wired together, and the service lifecycle.

startup: database (migrate, sync configured agents) -> AMI -> ARI; then a TaskGroup runs the evidence
writer and the controller until SIGINT/SIGTERM; shutdown lets calls finish for ``shutdown_timeout``
seconds, drains queued evidence, and closes the gateways in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from callrec.ami import AmiGateway
from callrec.ari import AriClient
from callrec.config import Config
from callrec.controller.agents import Agent, AgentPool
from callrec.controller.controller import Controller
from callrec.controller.deps import Deps
from callrec.controller.diskspace import POLICIES, Policy, disk_news
from callrec.controller.evidence import EvidenceWriter, store_applier, store_batch_applier
from callrec.controller.recorder import Recorder
from callrec.controller.sweep import Reason, Sweeper, SweepFinding, store_statuses
from callrec.dialer.errors import DialerError
from callrec.dialer.loop import DialerLoop
from callrec.dialer.prompts import resolve_disclosure
from callrec.dialer.store import DialStore
from callrec.store import Store, StoreError

log = logging.getLogger(__name__)

# How long the list of agents read from the store is reused (controller.agents): an agent added or
# removed with the CLI is seen by the next hunt at most this much later.
AGENT_LIST_TTL = 1.0
# How long the evidence writer waits after a fact for the next ones, to write them in one
# transaction (controller.evidence): the facts of a controller killed outright are lost up to this
# much earlier than without it; a round trip to PostgreSQL costs the controller more CPU than
# handling an ARI event.
EVIDENCE_LINGER = 0.05
# How often the recordings disk is looked at between calls (watch_disk); recordings starting
# check it themselves.
DISK_CHECK_SECONDS = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Service:
    controller: Controller
    evidence: EvidenceWriter
    store: Store


@contextlib.asynccontextmanager
async def open_store(config: Config) -> AsyncIterator[Store]:
    store = await Store.open(config.database.dsn, max_size=config.database.pool_max)
    try:
        yield store
    finally:
        await store.close()


async def sync_agents(store: Store, config: Config) -> None:
    """Agents listed in the config file are added if missing; agents added by the CLI are kept."""
    known = {a.name for a in await store.list_agents()}
    for entry in config.agents:
        if entry.name not in known:
            await store.add_agent(entry.name, entry.dial_string)


@contextlib.asynccontextmanager
async def running_service(config: Config) -> AsyncIterator[Service]:
    """Everything up and the controller consuming events; torn down gracefully on exit."""
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(open_store(config))
        await store.migrate()
        await sync_agents(store, config)
        a = config.asterisk
        ami = AmiGateway(a.ami_host, a.ami_port, a.ami_user, a.ami_secret,
                         action_timeout=a.ami_timeout, events=False)
        await ami.connect()
        stack.push_async_callback(ami.close)
        ari = await stack.enter_async_context(AriClient(
            a.ari_url, a.ari_user, a.ari_password, a.app,
            rest_over_websocket=a.ari_rest == "websocket"))
        evidence = EvidenceWriter(store_applier(store),
                                  Path(config.state_dir) / f"evidence-{a.app}.journal",
                                  apply_batch=store_batch_applier(store), linger=EVIDENCE_LINGER)

        async def load_agents() -> Sequence[Agent]:
            return [Agent(r.name, r.dial_string) for r in await store.list_agents() if r.enabled]

        rec = config.recordings
        recorder = Recorder(ami, asterisk_dir=rec.asterisk_dir, local_dir=rec.local_dir,
                            finalise_timeout=rec.finalise_timeout, min_free_bytes=rec.min_free_bytes,
                            disk_policy=disk_policy(rec.disk_policy),
                            cut_short_tolerance_ms=rec.cut_short_tolerance_ms)
        deps = Deps(ari=ari, store=store, evidence=evidence,
                    pool=AgentPool(load_agents, ttl=AGENT_LIST_TTL),
                    recorder=recorder,
                    inbound=config.inbound, new_id=uuid.uuid4, now=utc_now)
        controller = Controller(deps)
        sweeper = Sweeper(Path(rec.local_dir), store_statuses(store),
                          quiet_seconds=max(60.0, 3 * rec.finalise_timeout))
        async with asyncio.TaskGroup() as tasks:
            writer = tasks.create_task(evidence.run(), name="evidence")
            events = tasks.create_task(controller.run(), name="controller")
            sweeping = tasks.create_task(sweep_forever(sweeper, controller, evidence, deps,
                                                       rec.sweep_interval), name="sweep")
            dialling = tasks.create_task(dial_forever(config, store, controller, deps),
                                         name="dialer")
            watching = tasks.create_task(watch_disk(recorder), name="disk")
            try:
                yield Service(controller, evidence, store)
            finally:
                dialling.cancel()  # no new outbound calls; those in progress finish below
                sweeping.cancel()
                watching.cancel()
                events.cancel()
                await controller.shutdown(config.shutdown_timeout)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(config.shutdown_timeout):
                        await evidence.drained()
                writer.cancel()


async def dial_forever(config: Config, store: Store, controller: Controller, deps: Deps) -> None:
    """The outbound dialer ([dialer] enabled = true), once the controller has reconciled."""
    if not config.dialer.enabled:
        return
    try:  # espeak-ng and sox: off the event loop (a stat() once the file exists)
        dialer = await asyncio.to_thread(resolve_disclosure, config.dialer)
    except DialerError as exc:
        # Never call a client without a disclosure that can be played; serve keeps running.
        log.error("dialer NOT started, no client will be called: the disclosure (disclosure_text)"
                  " could not be rendered: %s; install espeak-ng and sox, or set [dialer] "
                  "disclosure_prompt to your own recording, then restart", exc)
        return
    log.info("dialer: disclosure %s (%s); its proof will cite the words %r",
             dialer.disclosure_prompt, "the operator's own recording"
             if config.dialer.disclosure_prompt else "rendered from disclosure_text",
             dialer.disclosure_text)
    await controller.reconciled.wait()
    loop = DialerLoop(dialer, DialStore(store.database), controller, deps.pool.busy_names,
                      deps.evidence.drained, deps.now, deps.new_id)
    log.info("dialer running: up to %d outbound calls at once", config.dialer.max_concurrent)
    await loop.run()


def disk_policy(value: str) -> Policy:
    if value not in POLICIES:
        raise SystemExit(f"callrec: recordings.disk_policy must be one of {POLICIES}, not {value!r}")
    return value


async def watch_disk(recorder: Recorder, interval: float = DISK_CHECK_SECONDS) -> None:
    """The recordings disk looked at between calls too: the operator hears of a filling disk
    before a recording is refused or cut short, not from the first call it happens to."""
    low = False
    while True:
        low, news = disk_news(low, await recorder.disk_verdict())
        if news is not None:
            (log.error if low else log.info)("%s", news)
        await asyncio.sleep(interval)


async def sweep_forever(sweeper: Sweeper, controller: Controller, evidence: EvidenceWriter,
                        deps: Deps, interval: float) -> None:
    """Find files a crash left open: at start-up (once the controller reconciled and the journal is
    replayed, or live recordings would look orphaned), then every ``interval`` seconds."""
    await controller.reconciled.wait()
    while True:
        await evidence.drained()
        try:
            findings = await sweeper.run_once(controller.recordings_in_hand)
            for finding in findings:
                note_sweep_finding(finding, deps)
            note_orphans([f for f in findings if f.reason == Reason.ORPHAN])
        except StoreError as exc:
            log.warning("sweep skipped: %s", exc)
        await asyncio.sleep(interval)


def note_sweep_finding(finding: SweepFinding, deps: Deps) -> None:
    # Orphans (files no recording row names: another database's, or copied in) are summed up by
    # note_orphans: a recordings directory shared with test databases holds thousands.
    level = logging.DEBUG if finding.reason == Reason.ORPHAN else logging.WARNING
    log.log(level, "sweep: %s %s (%s): %s", finding.reason, finding.path.name, finding.leg,
            finding.outcome)
    if finding.reason == Reason.UNSEALED and finding.leg == "mix" and finding.facts is not None:
        deps.record_sealed(finding.recording_id, finding.last_write, finding.facts, None,
                           "interrupted")


def note_orphans(orphans: Sequence[SweepFinding]) -> None:
    if orphans:
        recordings = {f.recording_id for f in orphans}
        log.warning("sweep: %d files of %d recordings have no recording row (left alone; e.g. %s)",
                    len(orphans), len(recordings), orphans[0].path)


async def serve(config: Config) -> None:
    """`callrec serve`: run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_service(config) as service:
            log.info("callrec serving ARI app %r", config.asterisk.app)
            await stop.wait()
            log.info("shutting down: %d calls in progress, %d evidence writes queued",
                     len(service.controller.calls), service.evidence.pending)
    except StoreError as exc:
        raise SystemExit(f"callrec: database: {exc}") from exc


def run_serve(config: Config) -> None:
    """`callrec serve` on the configured event loop (``event_loop``)."""
    with asyncio.Runner(loop_factory=loop_factory(config.event_loop)) as runner:
        runner.run(serve(config))


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The configured loop's factory; None is asyncio's own (config.load allows only the two)."""
    return uvloop.new_event_loop if name == "uvloop" else None
