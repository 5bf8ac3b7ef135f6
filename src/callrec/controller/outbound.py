"""One outbound call of the dialer: agent first, then the client, screened by AMD on the pbx.

The client's channel is originated into our ARI application, so that a busy line or a phone nobody
answers still reports its ChannelDestroyed (with the cause) to us. When it answers we send it to the
dialplan context holding AMD() (an application ARI cannot run); it comes back with a second
StasisStart whose arguments carry the verdict (see asterisk-conf/pbx/extensions.conf
[callrec-outbound]). The policy decides everything else; this module carries out the outbound
commands and tells the dialer how the attempt ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from callrec import policy as p
from callrec.ari import AriError, AriEvent, Channel
from callrec.controller.deps import Deps
from callrec.controller.effects import Effects
from callrec.controller.session import CallSession, Leg
from callrec.store import Announcement, Call

log = logging.getLogger(__name__)

# ARI app arguments of the client's channel: when it first answers, and back from AMD.
DIALLED, SCREENED = "dialled", "screened"
# Q.850 causes of a client's channel that never answered.
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({16, 18, 19, 0})
VOICEMAIL_PLAY_LIMIT = 180.0  # s: a script longer than this is cut, the machine hung up on


def unanswered_reason(cause: int | None) -> str:
    """Why a client's phone that never answered did not (the attempt outcome names)."""
    if cause in _BUSY_CAUSES:
        return "busy"
    if cause in _NO_ANSWER_CAUSES:
        return "no_answer"
    return "failed"


class AttemptHooks(Protocol):
    """The dialer's side of one attempt (callrec.dialer.loop): evidence it owns, written in order."""

    async def begin(self, agent: str | None) -> bool:
        """Write the attempt row; False (already logged) means do not dial. ``agent``: who is in
        the bridge and would leave a voicemail (the name the script speaks)."""

    async def voicemail(self) -> str | None:
        """The rendered script for this attempt as Asterisk media, None to leave nothing."""

    async def voicemail_left(self, at: datetime) -> None:
        """The script started playing at `at`."""


class AdoptedHooks:
    """The hooks of a call adopted after a restart: its attempt row was written and the client
    dialled before the crash; the dialer closes that attempt from the evidence
    (DialerLoop.close_interrupted)."""

    async def begin(self, agent: str | None) -> bool:
        return False

    async def voicemail(self) -> str | None:
        return None

    async def voicemail_left(self, at: datetime) -> None:
        return None


@dataclass(frozen=True)
class OutboundPlan:
    call_id: UUID
    number: str  # E.164
    endpoint: str  # the dial string of the client's phone
    caller_id: str  # what the client sees (the business unit's number)
    business_unit: str
    agent: str | None  # the task's agent, or None for any free agent
    amd_context: str
    amd_options: str
    ring_seconds: int
    verdict_timeout: float
    disclosure_prompt: str
    disclosure_text: str
    hooks: AttemptHooks


def adopted_plan(call: Call, disclosure: Announcement) -> OutboundPlan:
    """The plan of a conversation adopted after a restart: past dialling and screening, so only
    the disclosure matters (the one its proof names, should it have to be played again)."""
    return OutboundPlan(
        call_id=call.id, number=call.caller_number, endpoint="", caller_id="",
        business_unit=call.business_unit or "", agent=None, amd_context="", amd_options="",
        ring_seconds=0, verdict_timeout=0.0, disclosure_prompt=disclosure.prompt,
        disclosure_text=disclosure.text or "", hooks=AdoptedHooks())


@dataclass
class OutboundResult:
    """What the dialer needs to close the attempt."""

    began: bool = False  # the attempt row was written and the client dialled
    verdict: str | None = None  # AMDSTATUS
    cause: str | None = None  # AMDCAUSE
    outcome: str = ""  # the call's outcome (EndCall)
    reason: str = ""  # ... and its reason
    recording_id: UUID | None = None
    voicemail_left: bool = False


class OutboundSession(CallSession):
    def __init__(self, deps: Deps, plan: OutboundPlan, claim: Callable[[str], None],
                 release: Callable[[CallSession], None]) -> None:
        client = Channel.from_json({"id": f"callrec-client-{plan.call_id}",
                                    "caller": {"number": plan.number}})
        super().__init__(deps, plan.call_id, client, claim, release)
        self.plan = plan
        self.result = OutboundResult()
        self.outbound = OutboundEffects(self)
        self.effects = self.outbound
        self.closed = asyncio.Event()  # cleaned up: recordings sealed, channels gone
        self._client_answered = False

    async def _handle(self, item: object) -> None:
        if isinstance(item, AriEvent) and item.channel and item.channel.id == self.caller.id:
            self._client_event(item)
        await super()._handle(item)  # type: ignore[arg-type]

    def _client_event(self, event: AriEvent) -> None:
        assert event.channel is not None
        if event.type == "StasisStart" and event.args[:1] == (DIALLED,):
            self._client_answered = True
            self.caller = event.channel
            self.spawn(self.outbound.screen(), "screen")
        elif event.type == "StasisStart" and event.args[:1] == (SCREENED,):
            self.cancel_tasks("screen")
            verdict = event.args[2] if len(event.args) > 2 else ""
            self.result.verdict = verdict
            self.result.cause = event.args[3] if len(event.args) > 3 else ""
            log.info("call %s: AMD says %s (%s)", self.call_id, verdict, self.result.cause)
            rid = self.deps.new_id()
            if verdict == "HUMAN":
                self.result.recording_id = rid
            self.submit(p.ClientAnswered(event.timestamp, verdict, rid, f"callrec-{rid}"))
        elif event.type == "ChannelDestroyed" and self.state.phase is p.Phase.DIALING:
            cause = event.raw.get("cause")
            reason = ("hangup_during_screening" if self._client_answered
                      else unanswered_reason(cause if isinstance(cause, int) else None))
            log.info("call %s: client %s gone before a verdict (cause %s): %s", self.call_id,
                     self.plan.number, cause, reason)
            self.submit(p.DialFailed(event.timestamp, reason))

    async def _agent_answered(self, leg: Leg, channel: Channel, at: datetime) -> None:
        leg.channel_name = channel.name
        if not leg.answered.done():
            leg.answered.set_result(True)
        self.deps.record("agent_answered", leg.ref.leg_id, at)
        if self.state.phase is not p.Phase.DIALING or self.state.agent is not None:
            await self.effects.hangup(channel.id)
            return
        # Agent first: alone in the bridge, waiting for the client (AgentJoined then dials).
        await self.deps.ari.add_channel(self.mix_bridge, channel.id)

    async def _cleanup(self) -> None:
        try:
            await super()._cleanup()
        finally:
            self.closed.set()


class OutboundEffects(Effects):
    s: OutboundSession

    async def _FetchAgent(self, c: p.FetchAgent) -> None:
        self.s.spawn(self._fetch(), "fetch")

    async def _fetch(self) -> None:
        if not await self.ring_free_agents(only=self.s.plan.agent):
            self.s.submit(p.DialFailed(self.d.now(), "no_agent"))

    async def _DialClient(self, c: p.DialClient) -> None:
        self.s.spawn(self._dial(), "dial")

    async def _dial(self) -> None:
        plan = self.s.plan
        if not self.d.connected.is_set():  # no attempt: the client would enter a deaf application
            self.s.submit(p.DialFailed(self.d.now(), "ari_disconnected"))
            return
        agent = self.s.state.agent.name if self.s.state.agent else None
        if not await plan.hooks.begin(agent):
            self.s.submit(p.DialFailed(self.d.now(), "refused"))
            return
        self.s.result.began = True
        try:
            await self.d.ari.originate(
                plan.endpoint, channel_id=self.s.caller.id, app_args=f"{DIALLED},{plan.call_id}",
                caller_id=plan.caller_id or None, timeout=plan.ring_seconds,
                variables={"CALLREC_CALL": str(plan.call_id), "CALLREC_AMD": plan.amd_options})
        except AriError as exc:
            log.warning("call %s: cannot dial the client: %s", plan.call_id, exc)
            self.s.submit(p.DialFailed(self.d.now(), "failed"))

    async def screen(self) -> None:
        """The client answered: run AMD in the dialplan; give up if no verdict comes back."""
        plan = self.s.plan
        try:
            await self.d.ari.continue_in_dialplan(self.s.caller.id, plan.amd_context, "amd")
        except AriError as exc:
            log.warning("call %s: cannot screen the client: %s", plan.call_id, exc)
            self.s.submit(p.DialFailed(self.d.now(), "failed"))
            return
        # Out of Stasis the channel's hangup may reach nobody: bound the wait for its verdict.
        await asyncio.sleep(plan.verdict_timeout)
        self.s.submit(p.DialFailed(self.d.now(), "screening_timeout"))

    async def _MuteAgent(self, c: p.MuteAgent) -> None:
        # direction "in": what the agent's phone sends is dropped; the agent still hears.
        if c.on:
            await self.ari_quiet(self.d.ari.mute(c.channel_id, "in"))
        else:
            await self.ari_quiet(self.d.ari.unmute(c.channel_id, "in"))

    async def _BridgeClient(self, c: p.BridgeClient) -> None:
        await self.d.ari.add_channel(self.s.mix_bridge, self.s.caller.id)

    async def _PlayDisclosure(self, c: p.PlayDisclosure) -> None:
        self.s.spawn(self._disclose(), "ivr")  # "ivr": cancelled if the disclosure is cut off

    async def _disclose(self) -> None:
        plan = self.s.plan
        self.d.record("announcement_started", self.announcement_id, self.s.call_id,
                      "outbound_disclosure", plan.disclosure_prompt, plan.disclosure_text,
                      self.d.now())
        # Played under its proof's id: a controller restarted mid-disclosure can stop what is left
        # of it (Asterisk plays on without us) before playing it again whole (controller.adopt).
        finished = await self.play(plan.disclosure_prompt, bridge=True,
                                   playback_id=str(self.announcement_id))
        self.s.submit(p.DisclosureFinished(finished))

    async def _LeaveVoicemail(self, c: p.LeaveVoicemail) -> None:
        self.s.spawn(self._leave_voicemail(), "voicemail")

    async def _leave_voicemail(self) -> None:
        media = await self.s.plan.hooks.voicemail()
        if media is None:
            self.s.submit(p.VoicemailLeft(self.d.now(), False))
            return
        started = self.d.now()
        try:
            async with asyncio.timeout(VOICEMAIL_PLAY_LIMIT):
                finished = await self.play(media)
        except (AriError, TimeoutError) as exc:
            log.warning("call %s: voicemail not played: %r", self.s.call_id, exc)
            self.s.submit(p.VoicemailLeft(self.d.now(), False))
            return
        self.s.result.voicemail_left = True
        await self.s.plan.hooks.voicemail_left(started)
        self.s.submit(p.VoicemailLeft(finished, True))

    async def _EndCall(self, c: p.EndCall) -> None:
        self.s.result.outcome, self.s.result.reason = c.outcome, c.reason
        await super()._EndCall(c)
