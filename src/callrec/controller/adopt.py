"""Carrying out recovery plans: adopt live calls after a restart, close the rest with a reason."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from callrec import policy as p
from callrec.ari import AriError, Channel
from callrec.controller import recovery as r
from callrec.controller.deps import Deps
from callrec.controller.effects import Effects, Running
from callrec.controller.outbound import OutboundPlan, adopted_plan
from callrec.controller.session import CallSession
from callrec.controller.translate import AgentLegRef
from callrec.store import Announcement, CallDetail, Recording, StoreError

log = logging.getLogger(__name__)

NewSession = Callable[[UUID, Channel], CallSession]
NewOutbound = Callable[[OutboundPlan, Channel], CallSession]


class Adopter:
    def __init__(self, deps: Deps, new_session: NewSession, new_outbound: NewOutbound) -> None:
        self.deps = deps
        self.new_session = new_session
        self.new_outbound = new_outbound

    async def recover(self, known: set[UUID]) -> int:
        """Plan and carry out recovery for every open call not in ``known``; how many were found."""
        try:
            open_calls = [c for c in await self.deps.store.open_calls() if c.id not in known]
        except StoreError as exc:
            log.warning("recovery: cannot read open calls: %s", exc)
            return 0
        if not open_calls:
            return 0
        try:
            channels = {c.id: c for c in await self.deps.ari.list_channels()}
            bridges = {b.id: frozenset(b.channels) for b in await self.deps.ari.list_bridges()}
        except AriError as exc:
            log.warning("recovery: cannot read Asterisk's state: %s", exc)
            return 0
        live = r.LiveView(frozenset(channels), bridges)
        for call in open_calls:
            detail = await self.deps.store.get_call(call.id)
            if detail is not None:
                await self._carry_out(detail, r.plan(detail, live), channels)
        return len(open_calls)

    async def _carry_out(self, detail: CallDetail, plan: r.Plan,
                         channels: Mapping[str, Channel]) -> None:
        call_id, now = detail.call.id, self.deps.now()
        log.warning("recovery: call %s -> %s", call_id, type(plan).__name__)
        self.deps.record("add_call_event",
            call_id, now, "recovered", {"plan": type(plan).__name__})
        if not isinstance(plan, r.ResumeConnected):
            # An agent still alive on a call we will not resume may still be recording (alone in
            # the bridge after the caller left): stop that first, so the files can close.
            await self._release_agents(detail, channels)
        for recording in getattr(plan, "interrupted", ()):
            await self._interrupt(recording, now)
        if isinstance(plan, r.EndCall):
            if detail.call.channel_id in channels:  # an outbound client still on the line
                await Effects.ari_quiet(self.deps.ari.hangup(detail.call.channel_id))
            self.deps.record("end_call", call_id, now, "interrupted", plan.reason)
            for bridge in (r.mix_bridge_id(call_id), f"{r.mix_bridge_id(call_id)}-hold"):
                await Effects.ari_quiet(self.deps.ari.destroy_bridge(bridge))
            return
        client = channels[detail.call.channel_id]
        if isinstance(plan, r.ResumeConnected) and plan.disclosure is not None:
            session = self.new_outbound(adopted_plan(detail.call, plan.disclosure), client)
        else:
            session = self.new_session(call_id, client)
        if isinstance(plan, r.ResumeConnected):
            await self._resume(session, plan, channels[plan.leg.channel_id])
            if plan.disclosure is not None:
                await self._disclose_before_talking(session, plan.disclosure)
        elif isinstance(plan, r.Requeue):
            session.state = p.CallState(call_id, p.Phase.WAITING, announced=True,
                                        segments=len(detail.recordings))
            await session.effects.execute(p.Enqueue())
        else:
            session.submit(p.CallArrived(now))

    async def _resume(self, session: CallSession, plan: r.ResumeConnected,
                      agent: Channel) -> None:
        leg = plan.leg
        ref = AgentLegRef(leg.id, leg.agent_name, leg.channel_id)
        adopted = session.add_leg(ref)
        adopted.channel_name = agent.name
        adopted.answered.set_result(True)
        self.deps.pool.acquire_name(leg.agent_name, leg.channel_id)
        segment = None
        if plan.recording is not None:
            rec = plan.recording
            segment = p.Segment(rec.id, rec.mixmonitor_id, rec.segment, leg.channel_id,
                                rec.started_at)
            asterisk_id = await self._mixmonitor_id(agent.id)
            files = self.deps.recorder.files(rec.id, rec.started_at)
            session.effects.running[rec.id] = Running(segment, files, agent.name, asterisk_id)
        session.state = p.CallState(
            session.call_id, p.Phase.CONNECTED, announced=True,
            agent=p.AgentInBridge(leg.id, leg.channel_id, leg.agent_name), recording=segment,
            segments=max(plan.recording.segment if plan.recording else 0, 1),
            outbound=plan.disclosure is not None)

    async def _disclose_before_talking(self, session: CallSession, told: Announcement) -> None:
        """An adopted outbound conversation: the agent is heard only after a disclosure that
        finished. Asterisk keeps an ARI mute across our restart, and plays on a disclosure we
        started, but tells the new process neither."""
        assert session.state.agent is not None
        agent = session.state.agent.channel_id
        if told.outcome == "finished":
            # The unmute that follows it may not have been sent before the crash: it is idempotent.
            await session.effects.execute(p.MuteAgent(agent, False))
            return
        # Still playing or stopped unseen: nothing proves the client heard it to the end. Stop what
        # is left of it (played under its proof's id) and play it again whole, the agent muted; the
        # policy unmutes when that one finishes.
        now = self.deps.now()
        if told.outcome is None:
            self.deps.record("announcement_ended", told.id, now, "cut_off")
        await Effects.ari_quiet(self.deps.ari.stop_playback(str(told.id)))
        session.state = replace(session.state, disclosing=True)
        await session.effects.execute(p.MuteAgent(agent, True))
        await session.effects.execute(p.PlayDisclosure(now))

    async def _release_agents(self, detail: CallDetail, channels: Mapping[str, Channel]) -> None:
        for leg in detail.legs:
            agent = channels.get(leg.channel_id)
            if agent is None:
                continue
            await self.deps.recorder.stop(agent.name, await self._mixmonitor_id(agent.id))
            self.deps.record("agent_left", leg.id, self.deps.now(), "controller_restart")
            await Effects.ari_quiet(self.deps.ari.hangup(agent.id))

    async def _mixmonitor_id(self, channel_id: str) -> str | None:
        try:
            return await self.deps.ari.get_var(channel_id, "CALLREC_MIXMONITOR")
        except AriError:
            return None

    async def _interrupt(self, recording: Recording, now: datetime) -> None:
        """A segment nobody saw stop: let MixMonitor's file speak for itself, marked interrupted."""
        self.deps.record("recording_stop_requested",
            recording.id, now, "controller_restart")
        done = await self.deps.recorder.finalise(
            self.deps.recorder.files(recording.id, recording.started_at))
        self.deps.record_sealed(recording.id, now, done.facts, done.stereo, "interrupted")
