"""Carrying out the policy's commands for one call: ARI and AMI calls now, evidence writes queued."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from callrec import policy as p
from callrec.ami import AmiError
from callrec.ari import AriError, AriNotFound
from callrec.controller.agents import Agent
from callrec.controller.diskspace import cut_short
from callrec.controller.ivr import collect_client_number
from callrec.controller.recorder import RecordingFiles
from callrec.controller.translate import AgentLegRef

if TYPE_CHECKING:
    from callrec.controller.session import CallSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Running:
    segment: p.Segment
    files: RecordingFiles
    channel_name: str
    asterisk_id: str | None = None  # MixMonitor's own ID, for a targeted StopMixMonitor


@dataclass(frozen=True)
class Armed:
    """A MixMonitor started with ``b`` on an agent who answered, before it was bridged: it writes
    from the instant the agent enters the caller's bridge. Its segment adopts it, or it is discarded."""

    recording_id: UUID  # minted now; translate puts it on the AgentJoined of this channel
    files: RecordingFiles
    channel_name: str
    asterisk_id: str | None
    disk_alarm: str | None  # raised when the segment begins, as a start would have


class Effects:
    def __init__(self, session: CallSession) -> None:
        self.s = session
        self.d = session.deps
        self.running: dict[UUID, Running] = {}  # recording id -> segment being recorded
        self.finalising: set[UUID] = set()  # stopped, files not sealed yet (the sweep skips them)
        self.armed: dict[str, Armed] = {}  # agent channel id -> its MixMonitor, not yet a segment
        self.announcement_id = self.d.new_id()
        self.hold_id: UUID | None = None

    async def execute(self, command: p.Command) -> None:
        handler = getattr(self, f"_{type(command).__name__}")
        await handler(command)

    # ------------------------------------------------------------------------------ recording
    async def _StartRecording(self, c: p.StartRecording) -> None:
        seg = c.segment
        leg = self.s.legs[seg.agent_channel_id]
        files = self.d.recorder.files(seg.recording_id, seg.started_at)
        try:
            asterisk_id = await self._monitor_for(seg, files, leg.channel_name)
            self.running[seg.recording_id] = Running(seg, files, leg.channel_name, asterisk_id)
        except AmiError as exc:
            self.s.submit(p.RecordingFailed(self.d.now(), seg.mixmonitor_id, str(exc)))
            status = "failed"
        else:
            status = "recording"
        self.d.record("recording_started",
            seg.recording_id, call_id=self.s.call_id, agent_leg_id=c.agent_leg_id,
            segment=seg.number, mixmonitor_id=seg.mixmonitor_id, file_mix=str(files.local_mix),
            file_caller=str(files.local_caller), file_agent=str(files.local_agent),
            at=seg.started_at)
        if status == "failed":
            self.d.record("recording_status",
                seg.recording_id, "failed")
        self.d.record("agent_joined", c.agent_leg_id,
                                                                       seg.started_at)
        if seg.number == 1:
            self.d.record("call_answered", self.s.call_id,
                                                                             seg.started_at)

    async def _monitor_for(self, seg: p.Segment, files: RecordingFiles,
                           channel_name: str) -> str | None:
        """The MixMonitor of this segment: the one armed when the agent answered (writing since the
        agent entered, however late we heard of it), else one started now."""
        armed = self.armed.pop(seg.agent_channel_id, None)
        if armed is not None and (armed.recording_id, armed.files) == (seg.recording_id, files):
            if armed.disk_alarm:
                await self._Alarm(p.Alarm(armed.disk_alarm))
            return armed.asterisk_id
        if armed is not None:
            # Armed under the answer's date directory, entered after midnight: recovery and the
            # sweep find a segment's files by its start, so this one records afresh.
            self._discard(armed)
        log.debug("call %s: MixMonitor start %.1f ms after the agent entered", self.s.call_id,
                  (self.d.now() - seg.started_at).total_seconds() * 1000)
        await self._room_to_record()
        return await self.d.recorder.start(channel_name, files)

    async def arm(self, channel_id: str, channel_name: str, answered_at: datetime) -> None:
        """What app_queue does: MixMonitor with ``b`` on the agent who answered, BEFORE it is
        added to the caller's bridge. ``b`` writes no audio until the channel is bridged, so the file
        begins exactly when the agent enters, whatever our event loop's lag. Not armed (disk
        refused, AMI error): the segment starts its own MixMonitor when the agent enters."""
        verdict = await self.d.recorder.disk_verdict()
        if not verdict.record:
            return
        recording_id = self.d.new_id()
        files = self.d.recorder.files(recording_id, answered_at)
        try:
            asterisk_id = await self.d.recorder.start(channel_name, files)
        except AmiError as exc:
            log.warning("call %s: MixMonitor not armed on %s (%s)", self.s.call_id, channel_name,
                        exc)
            return
        self.armed[channel_id] = Armed(recording_id, files, channel_name, asterisk_id,
                                       verdict.alarm)

    def disarm(self, channel_id: str) -> None:
        """The agent will not become a segment: its armed MixMonitor goes, with what it wrote."""
        armed = self.armed.pop(channel_id, None)
        if armed is not None:
            self._discard(armed)

    def _discard(self, armed: Armed) -> None:
        # In the background (the files may take a moment to close); the call's clean-up awaits it.
        self.s.spawn(self.d.recorder.discard(armed.channel_name, armed.asterisk_id, armed.files),
                     "finalise-discard")

    async def _room_to_record(self) -> None:
        verdict = await self.d.recorder.disk_verdict()
        if verdict.alarm:
            await self._Alarm(p.Alarm(verdict.alarm))
        if not verdict.record:
            raise AmiError(verdict.alarm or "disk full", "MixMonitor")  # refused like Asterisk would

    async def _StopRecording(self, c: p.StopRecording) -> None:
        run = self.running.pop(c.segment.recording_id, None)
        if run is None:
            return
        await self.d.recorder.stop(run.channel_name, run.asterisk_id)
        self.d.record("recording_stop_requested",
            c.segment.recording_id, c.at, c.reason.value)
        self.finalising.add(c.segment.recording_id)
        self.s.spawn(self._finalise(run, c.at, c.reason is p.StopReason.UNOBSERVED), "finalise")

    async def _finalise(self, run: Running, stopped_at: datetime, unobserved: bool) -> None:
        try:
            await self._seal(run, stopped_at, unobserved)
        finally:
            self.finalising.discard(run.segment.recording_id)

    async def _seal(self, run: Running, stopped_at: datetime, unobserved: bool = False) -> None:
        done = await self.d.recorder.finalise(run.files)
        rid = run.segment.recording_id
        if done.facts is None:
            self.d.record("recording_status", rid, "failed")
            return
        facts = done.facts
        if unobserved:
            # The agent left while we were not connected: when is not known (`stopped_at` is when
            # we found out), so no cut-short verdict; the file ended itself (MixMonitor's b).
            self.d.record_sealed(rid, stopped_at, facts, done.stereo, "interrupted")
            return
        in_bridge = _offset_ms(run.segment.started_at, stopped_at)
        short = cut_short(facts.duration_ms, in_bridge, self.d.recorder.cut_short_tolerance_ms)
        if short:
            # MixMonitor ignores write errors: a full disk shows only as a file that ends early.
            await self._Alarm(p.Alarm(f"recording {rid} cut short: {facts.duration_ms} ms recorded,"
                                      f" agent in the bridge {in_bridge} ms"))
        self.d.record_sealed(rid, stopped_at, facts, done.stereo,
                             "complete" if done.complete and not short else "incomplete")

    # ---------------------------------------------------------------------------------- prompts
    async def _PlayAnnouncement(self, c: p.PlayAnnouncement) -> None:
        self.s.spawn(self._announce(), "ivr")

    async def _announce(self) -> None:
        cfg = self.d.inbound
        started = self.d.now()
        self.d.record("announcement_started",
            self.announcement_id, self.s.call_id, "inbound_announcement", cfg.announcement,
            cfg.announcement_text, started)
        finished = await self.play(cfg.announcement)
        self.s.submit(p.AnnouncementFinished(finished))

    async def _CollectClientNumber(self, c: p.CollectClientNumber) -> None:
        self.s.spawn(self._collect(), "ivr")

    async def _collect(self) -> None:
        number = await collect_client_number(self.play, self.s.digits, self.d.inbound)
        if number is not None:
            self.d.record("set_client_number",
                self.s.call_id, number)
        self.s.submit(p.ClientIdentified(self.d.now(), number))

    async def play(self, media: str, *, bridge: bool = False,
                   playback_id: str | None = None) -> datetime:
        """Play to the caller (or into the call's mixing bridge, for everyone in it) and wait for
        PlaybackFinished; its Asterisk timestamp is returned."""
        playback_id = playback_id or str(self.d.new_id())
        done: asyncio.Future[datetime] = asyncio.get_running_loop().create_future()
        self.s.playbacks[playback_id] = done
        self.s.claim(playback_id)
        if bridge:
            await self.d.ari.play_on_bridge(self.s.mix_bridge, media, playback_id)
        else:
            await self.d.ari.play(self.s.caller.id, media, playback_id)
        return await done

    async def _CloseAnnouncement(self, c: p.CloseAnnouncement) -> None:
        if c.outcome != "finished":
            self.s.cancel_tasks("ivr")
        self.d.record("announcement_ended",
            self.announcement_id, c.at, c.outcome)

    # ---------------------------------------------------------------------------------- waiting
    async def _Enqueue(self, c: p.Enqueue) -> None:
        await self.ari_quiet(self.d.ari.create_bridge(self.s.hold_bridge, "holding", "callrec-hold"))
        if self.s.caller_in_mix:  # a requeue; on the first queueing it would only earn a 422
            await self.ari_quiet(self.d.ari.remove_channel(self.s.mix_bridge, self.s.caller.id))
            self.s.caller_in_mix = False
        await self.d.ari.add_channel(self.s.hold_bridge, self.s.caller.id)
        await self.d.ari.bridge_start_moh(self.s.hold_bridge, self.d.inbound.moh_class)
        self.s.spawn(self._hunt(), "hunt")

    async def _hunt(self) -> None:
        """Ring free agents one at a time until one answers; the caller keeps hearing music."""
        while self.s.state.phase is p.Phase.WAITING:
            if await self.ring_free_agents():
                return
            await asyncio.sleep(self.d.hunt_retry_seconds)

    async def ring_free_agents(self, only: str | None = None) -> bool:
        """One round through the free agents (or just `only`), each rung once; True if one
        answered."""
        tried: set[str] = set()
        while free := [a for a in await self.d.pool.free(exclude=tried)
                       if only is None or a.name == only]:
            tried.add(free[0].name)
            if await self._ring(free[0]):
                return True
        return False

    async def _ring(self, agent: Agent) -> bool:
        if not self.d.connected.is_set():
            # The agent's channel would enter an application nobody listens to: its answer lost,
            # the agent talking to no one. The hunt rings again once we are connected.
            log.info("call %s: not ringing %s while ARI is disconnected", self.s.call_id,
                     agent.name)
            return False
        leg_id = self.d.new_id()
        channel_id = f"callrec-agent-{leg_id}"
        if not self.d.pool.acquire(agent, channel_id):
            return False
        leg = self.s.add_leg(AgentLegRef(leg_id, agent.name, channel_id))
        self.d.record("agent_offered",
            leg_id, self.s.call_id, agent.name, channel_id, self.d.now())
        try:
            await self.d.ari.originate(agent.dial_string, channel_id=channel_id,
                                       app_args=f"agent,{self.s.call_id},{leg_id}",
                                       timeout=self.d.inbound.ring_timeout,
                                       caller_id=self.s.caller.caller_number or None)
        except AriError as exc:
            log.warning("call %s: cannot ring %s: %s", self.s.call_id, agent.name, exc)
            self.d.pool.channel_gone(channel_id)
            self.d.record("agent_leg_outcome", leg_id, "failed")
            return False
        try:
            # The originate timeout ends an unanswered ring; this bound only guards against the
            # outcome never reaching us (events lost while the socket was down).
            async with asyncio.timeout(self.d.inbound.ring_timeout + 10):
                answered = await asyncio.shield(leg.answered)
        except TimeoutError:
            answered = False
            await self.hangup(channel_id)
            self.d.pool.channel_gone(channel_id)
        if not answered:
            self.d.record("agent_leg_outcome",
                leg_id, "no_answer")
        return answered

    # ------------------------------------------------------------------------------ in the call
    async def _NoteHold(self, c: p.NoteHold) -> None:
        run = self.running.get(c.recording_id) if c.recording_id else None
        offset = _offset_ms(run.segment.started_at, c.at) if run else None
        if c.started:
            self.hold_id = self.d.new_id()
            self.d.record("hold_started",
                self.hold_id, self.s.call_id, c.recording_id, c.at, offset)
        elif self.hold_id is None:  # a hold begun before a restart: no row of ours to close
            log.warning("call %s: a hold ended that this controller never saw begin",
                        self.s.call_id)
        else:
            self.d.record("hold_ended", self.hold_id, c.at, offset)

    async def _CallerMusic(self, c: p.CallerMusic) -> None:
        if c.on:
            await self.ari_quiet(self.d.ari.start_moh(self.s.caller.id, self.d.inbound.moh_class))
        else:
            await self.ari_quiet(self.d.ari.stop_moh(self.s.caller.id))

    async def _NoteAgentLeft(self, c: p.NoteAgentLeft) -> None:
        self.d.record("agent_left", c.leg_id, c.at, c.reason.value)

    async def _NoteTransfer(self, c: p.NoteTransfer) -> None:
        tid = self.d.new_id()
        self.d.record("transfer",
            tid, self.s.call_id, c.kind, c.leg_id, c.target, c.at)

    async def _ExplainDeparture(self, c: p.ExplainDeparture) -> None:
        self.d.record("explain_departure", c.leg_id, c.reason.value)

    async def _ReleaseAgent(self, c: p.ReleaseAgent) -> None:
        self.disarm(c.channel_id)  # released before its segment began: nothing of it is kept
        await self.hangup(c.channel_id)

    async def _TransferCaller(self, c: p.TransferCaller) -> None:
        channel_id = f"callrec-xfer-{self.d.new_id()}"
        self.s.transferees.add(channel_id)
        self.s.claim(channel_id)
        try:
            await self.d.ari.originate(c.target, channel_id=channel_id,
                                       app_args=f"transferee,{self.s.call_id}",
                                       caller_id=self.s.caller.caller_number or None)
        except AriError as exc:
            log.warning("call %s: transfer to %s failed: %s", self.s.call_id, c.target, exc)
            self.s.submit(p.TransfereeLeft(self.d.now()))

    async def _HangupCaller(self, c: p.HangupCaller) -> None:
        await self.hangup(self.s.caller.id)

    async def _NotePhase(self, c: p.NotePhase) -> None:
        self.d.record("add_call_event",
            self.s.call_id, c.at, f"phase:{c.phase.value}", {})

    async def _StartSettleTimer(self, c: p.StartSettleTimer) -> None:
        self.s.spawn(self._settle(), "settle")

    async def _settle(self) -> None:
        await asyncio.sleep(self.d.settle_seconds)
        self.s.submit(p.SettleTimeout(self.d.now(), replaced=bool(self.s.transferees)))

    async def _EndCall(self, c: p.EndCall) -> None:
        self.d.record("end_call",
            self.s.call_id, c.at, c.outcome, c.reason)
        self.s.finish()

    async def _Alarm(self, c: p.Alarm) -> None:
        log.warning("call %s: %s", self.s.call_id, c.message)
        self.d.record("add_call_event",
            self.s.call_id, self.d.now(), "alarm", {"message": c.message})

    # ---------------------------------------------------------------------------------- helpers
    async def hangup(self, channel_id: str) -> None:
        """Hang up a channel of this call, unless we know it is gone already (one REST request,
        and a 404, saved per channel on every call's clean-up)."""
        if channel_id in self.s.gone:
            return
        try:
            await self.d.ari.hangup(channel_id)
        except AriError as exc:
            log.debug("ignored: %s", exc)
            if not isinstance(exc, AriNotFound):
                return  # not known to be gone: a later hang-up may try again
        self.s.gone.add(channel_id)

    @staticmethod
    async def ari_quiet(call: Awaitable[object]) -> None:
        """For clean-up calls whose target may already be gone (404) or busy elsewhere (409/422)."""
        try:
            await call
        except AriError as exc:
            log.debug("ignored: %s", exc)


def _offset_ms(start: datetime, at: datetime) -> int:
    return max(0, round((at - start).total_seconds() * 1000))
