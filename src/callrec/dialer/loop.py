"""The dialer as it runs inside `callrec serve`: due tasks become outbound calls, each call's end
becomes the attempt's outcome.

The order of writes is the compliance argument: an attempt row is written (under the task's row lock,
refused by the pure schedule if it is not allowed) BEFORE the client is dialled, so a client is never
called without a record, never a fourth time, never outside hours. The attempt is closed only once
the call's own evidence is in the store, so the attempt can cite its call and recording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from uuid import UUID

from callrec.ari import AriError
from callrec.controller.outbound import OutboundPlan, OutboundResult, OutboundSession
from callrec.controller.recovery import DISCLOSURE_UNPROVEN
from callrec.dialer import schedule as s
from callrec.dialer.errors import DialerError
from callrec.dialer.outcome import attempt_outcome
from callrec.dialer.prompts import render_prompt
from callrec.dialer.scripts import ScriptKind, Voicemail, voicemail_for
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore
from callrec.store import StoreError

log = logging.getLogger(__name__)

# A task whose call could not even start (no agent free, ARI down) waits this long before the next
# try; it is not an attempt, so the client was not called and the retry interval does not apply.
NOT_PLACED_BACKOFF = timedelta(seconds=15)


class Placer(Protocol):
    """The controller, as the dialer sees it."""

    connected: asyncio.Event

    async def start_outbound(self, plan: OutboundPlan) -> OutboundSession: ...


@dataclass
class DialerLoop:
    config: DialerConfig
    store: DialStore
    placer: Placer
    busy_agents: Callable[[], set[str]]
    evidence_written: Callable[[], Awaitable[None]]
    now: Callable[[], datetime]
    new_id: Callable[[], UUID]
    calls: dict[UUID, asyncio.Task[None]] = field(default_factory=dict)  # by task id
    _not_before: dict[UUID, datetime] = field(default_factory=dict)

    async def run(self) -> None:
        if not self.config.disclosure_prompt:
            log.error("dialer: no disclosure to play (disclosure_prompt not resolved): no client "
                      "will be called")
            return
        await self.close_interrupted()
        while True:
            try:
                await self.tick()
            except (StoreError, DialerError) as exc:
                log.warning("dialer: %s", exc)
            await asyncio.sleep(self.config.poll_seconds)

    async def close_interrupted(self) -> None:
        """Attempts left in progress by a previous run (a crash, a restart), closed from what their
        call shows. A person who answered (the call has a recording: recording starts only on
        AMD's HUMAN) was reached, as on a normal run, and the task closes: the restarted controller
        has adopted the conversation, or it ended meanwhile. Anything else (still ringing, being
        screened, hearing a voicemail script, hung up by recovery) ends as failed and counts
        toward the three."""
        left = [t for t in await self.store.open_tasks()
                if t.status is s.Status.IN_PROGRESS and t.id not in self.calls]
        if left:
            await self.evidence_written()  # recovery's own verdicts on those calls are stored
        for task in left:
            await self._close_left_behind(task)

    async def _close_left_behind(self, task: s.Task) -> None:
        n = len(task.attempts)
        call = await self.store.call_left_behind(task)
        if call is not None:
            await self.store.attach_call(task.id, n, call.call_id)
        reached = (call is not None and call.recording_id is not None
                   and call.end_reason != DISCLOSURE_UNPROVEN)
        outcome = s.Outcome.ANSWERED_HUMAN if reached else s.Outcome.FAILED
        closed = await self.store.finish_attempt(
            task.id, outcome, self.now(), self.config, amd_verdict="HUMAN" if reached else None,
            recording_id=call.recording_id if reached and call else None)
        log.warning("dialer: task %s attempt %d was interrupted by a restart: %s -> task %s",
                    task.id, n, outcome.value, closed.status.value)

    async def tick(self) -> list[UUID]:
        """Start the calls that are due now; their task ids."""
        if not self.config.disclosure_prompt:  # see run(): a client is never called without one
            raise DialerError("no disclosure prompt to play: not dialling")
        if self.config.max_concurrent == 0 or not self.placer.connected.is_set():
            return []
        now = self.now()
        waiting = [t for t in await self.store.open_tasks()
                   if t.status is s.Status.OPEN and t.id not in self.calls
                   and self._not_before.get(t.id, now) <= now]
        chosen = s.due(waiting, now, self.config, len(self.calls), frozenset(self.busy_agents()))
        for task in chosen:
            call = asyncio.get_running_loop().create_task(self._call(task), name=f"dial:{task.id}")
            self.calls[task.id] = call
            call.add_done_callback(self._call_done)
        return [t.id for t in chosen]

    def _call_done(self, call: asyncio.Task[None]) -> None:
        for task_id in [k for k, v in self.calls.items() if v is call]:
            del self.calls[task_id]

    async def _call(self, task: s.Task) -> None:
        attempt = _Attempt(self, task)
        try:
            session = await self.placer.start_outbound(self._plan(task, attempt))
            await session.closed.wait()
        except AriError as exc:
            log.warning("dialer: task %s not placed: %s", task.id, exc)
            self._not_before[task.id] = self.now() + NOT_PLACED_BACKOFF
            return
        try:
            await self._close(task, attempt, session.result)
        except (StoreError, DialerError) as exc:
            log.error("dialer: task %s: attempt not closed: %s", task.id, exc)

    async def _close(self, task: s.Task, attempt: _Attempt, result: OutboundResult) -> None:
        if not result.began:
            log.info("dialer: task %s not dialled (%s)", task.id, result.reason)
            self._not_before[task.id] = self.now() + NOT_PLACED_BACKOFF
            return
        await self.evidence_written()  # the call and its recording rows exist: cite them
        await self.store.attach_call(task.id, attempt.n, attempt.call_id)
        outcome = attempt_outcome(result.verdict, result.reason, result.voicemail_left)
        closed = await self.store.finish_attempt(
            task.id, outcome, self.now(), self.config, amd_verdict=result.verdict or None,
            amd_cause=result.cause or None, recording_id=result.recording_id)
        log.info("dialer: task %s attempt %d: %s -> task %s", task.id, attempt.n, outcome.value,
                 closed.status.value)

    def _plan(self, task: s.Task, attempt: _Attempt) -> OutboundPlan:
        c = self.config
        unit = c.unit(task.business_unit)
        return OutboundPlan(
            call_id=attempt.call_id, number=task.number,
            endpoint=c.dial_template.format(number=task.number),
            caller_id=unit.caller_id if unit else "", business_unit=task.business_unit,
            agent=task.agent, amd_context=c.amd_context, amd_options=c.amd_options,
            ring_seconds=c.ring_seconds, verdict_timeout=c.verdict_timeout,
            disclosure_prompt=c.disclosure_prompt, disclosure_text=c.disclosure_text,
            hooks=attempt)


class _Attempt:
    """The hooks of one attempt (controller.outbound.AttemptHooks)."""

    def __init__(self, loop: DialerLoop, task: s.Task) -> None:
        self.loop = loop
        self.task = task
        self.call_id = loop.new_id()
        self.n = 0
        self.script: Voicemail | None = None
        self.agent: str | None = task.agent
        self.media: str | None = None

    async def begin(self, agent: str | None) -> bool:
        cfg = self.loop.config
        self.agent = agent or self.task.agent
        try:
            self.task = await self.loop.store.begin_attempt(self.task.id, self.loop.now(), cfg)
        except (DialerError, StoreError) as exc:  # SchedulingError is a DialerError
            log.warning("dialer: task %s: not dialling: %s", self.task.id, exc)
            return False
        self.n = len(self.task.attempts)
        await self._prepare_voicemail()
        return True

    async def _prepare_voicemail(self) -> None:
        """Rendered now, before dialling: a machine's tape runs while we wait for espeak."""
        cfg = self.loop.config
        try:
            # The agent actually fetched (the task's own, or whoever was free) is the one named.
            self.script = voicemail_for(self.task, self.agent, self.loop.now(), cfg)
            if self.script.kind is ScriptKind.NONE:
                return
            path = await asyncio.to_thread(render_prompt, self.script.text, Path(cfg.prompt_dir))
        except DialerError as exc:
            log.error("dialer: task %s: no voicemail script: %s", self.task.id, exc)
            return
        self.media = f"{cfg.prompt_media.rstrip('/')}/{path.stem}"

    async def voicemail(self) -> str | None:
        return self.media

    async def voicemail_left(self, at: datetime) -> None:
        if self.script is None or self.media is None:
            return
        try:
            await self.loop.store.voicemail_left(self.task.id, self.n, self.script, self.media, at)
        except (DialerError, StoreError) as exc:
            log.error("dialer: task %s: voicemail drop not recorded: %s", self.task.id, exc)
