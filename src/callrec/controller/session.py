"""One inbound call: a serial inbox, the policy state, and the channels and bridges it owns.

Events for one call are handled one at a time, in order, by the call's own task (so the policy sees a
consistent sequence); different calls run concurrently, so one slow call never delays another's
MixMonitor start. Commands that talk to Asterisk are awaited in place; evidence writes are queued to
the EvidenceWriter and never awaited here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from callrec import policy as p
from callrec.ari import AriError, AriEvent, Channel
from callrec.controller.deps import Deps
from callrec.controller.effects import Effects
from callrec.controller.ivr import DigitBuffer
from callrec.controller.translate import AgentLegRef, Roles, translate

log = logging.getLogger(__name__)

Inbox = AriEvent | p.Event


@dataclass
class Leg:
    ref: AgentLegRef
    channel_name: str = ""
    answered: asyncio.Future[bool] = field(default_factory=asyncio.Future)


class CallSession:
    def __init__(self, deps: Deps, call_id: UUID, caller: Channel, claim: Callable[[str], None],
                 release: Callable[[CallSession], None]) -> None:
        self.deps = deps
        self.call_id = call_id
        self.caller = caller
        self.mix_bridge = f"callrec-{call_id}"
        self.hold_bridge = f"callrec-{call_id}-hold"
        self.state = p.initial_state(call_id)
        self.legs: dict[str, Leg] = {}  # by agent channel id
        self.transferees: set[str] = set()
        self.digits = DigitBuffer.new()
        self.playbacks: dict[str, asyncio.Future[datetime]] = {}
        self.claim = claim  # route events for this channel/bridge id to us
        self._release = release
        # Channels destroyed (ChannelDestroyed has reached us, even if still queued in the inbox) or
        # already hung up by us: hanging them up again only earns a 404.
        self.gone: set[str] = set()
        # Whether the caller may be in the mix bridge. Unknown (so yes) for a call adopted after a
        # restart; no for a call that starts from the announcement, until it is put there.
        self.caller_in_mix = True
        self._inbox: asyncio.Queue[Inbox] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self.effects = Effects(self)
        self.ended = asyncio.Event()

    # ------------------------------------------------------------------------------------ inbox
    def submit(self, item: Inbox) -> None:
        if isinstance(item, AriEvent) and item.channel and _going(item):
            self.gone.add(item.channel.id)  # now, not when handled: the clean-up may come first
        if not self.ended.is_set():
            self._inbox.put_nowait(item)

    async def run(self) -> None:
        """Until the call ends. Cancelled (controller shutdown) it leaves the channels alone: they
        stay in Stasis, MixMonitor's ``b`` still ends a file when its agent leaves, and the next
        controller reconciles."""
        while not self.ended.is_set():
            item = await self._inbox.get()
            try:
                await self._handle(item)
            except Exception:  # one broken event must not kill the call's handling
                log.exception("call %s: error handling %s", self.call_id, _name(item))
        await self._cleanup()

    async def _handle(self, item: Inbox) -> None:
        if not isinstance(item, AriEvent):
            await self.apply(item)
            return
        self._side_channels(item)
        event = translate(item, self.roles(), self.deps.new_id)
        if event is not None:
            await self.apply(event)
        if item.type == "StasisStart" and item.channel and item.channel.id in self.legs:
            await self._agent_answered(self.legs[item.channel.id], item.channel, item.timestamp)

    def roles(self) -> Roles:
        return Roles(self.caller.id, self.mix_bridge, {k: v.ref for k, v in self.legs.items()},
                     frozenset(self.transferees), self.deps.inbound.transfer_context,
                     {k: a.recording_id for k, a in self.effects.armed.items()})

    async def apply(self, event: p.Event) -> None:
        if isinstance(event, p.CallArrived):
            self.caller_in_mix = False  # answered into no bridge (or, adopted, never past the
            # announcement); should it be wrong, ARI's addChannel still moves it out of any bridge
        self.state, commands = p.decide(self.state, event)
        for command in commands:
            await self.effects.execute(command)

    def _side_channels(self, event: AriEvent) -> None:
        """Inputs that feed running tasks rather than the policy: prompts, digits, ringing legs."""
        if event.type == "PlaybackFinished" and event.playback is not None:
            done = self.playbacks.pop(event.playback.id, None)
            if done is not None and not done.done():
                done.set_result(event.timestamp)
        elif event.type == "ChannelDtmfReceived" and event.channel and event.channel.id == self.caller.id:
            self.digits.push(event.digit or "")
        elif self._caller_in_mix_event(event):
            self.caller_in_mix = event.type == "ChannelEnteredBridge"
        elif event.type == "ChannelEnteredBridge" and event.channel and self._stranger(event):
            # A transfer swapped the agent for a new channel (a blind REFER puts Local/…;1 into our
            # bridge, after ChannelLeftBridge of the agent and before BridgeBlindTransfer): it is the
            # caller's new party from now on, and its hangup ends the call.
            self.transferees.add(event.channel.id)
            self.claim(event.channel.id)
        elif event.type == "ChannelDestroyed" and event.channel and event.channel.id in self.legs:
            leg = self.legs[event.channel.id]
            if not leg.answered.done():
                leg.answered.set_result(False)

    def _caller_in_mix_event(self, event: AriEvent) -> bool:
        return (event.type in ("ChannelEnteredBridge", "ChannelLeftBridge")
                and event.channel is not None and event.channel.id == self.caller.id
                and event.bridge is not None and event.bridge.id == self.mix_bridge)

    def _stranger(self, event: AriEvent) -> bool:
        channel_id = event.channel.id if event.channel else ""
        return (event.bridge is not None and event.bridge.id == self.mix_bridge
                and channel_id != self.caller.id and channel_id not in self.legs)

    # ---------------------------------------------------------------------------------- agents
    async def _agent_answered(self, leg: Leg, channel: Channel, at: datetime) -> None:
        leg.channel_name = channel.name
        if not leg.answered.done():
            leg.answered.set_result(True)
        # An originated channel enters Stasis when it answers: StasisStart's time is the answer time.
        self.deps.record("agent_answered", leg.ref.leg_id, at)
        if self.state.phase is not p.Phase.WAITING:
            await self.effects.hangup(channel.id)  # the caller left or another agent got there first
            return
        # MixMonitor first (armed with b: it writes from the instant the agent is bridged, whatever
        # our lag in hearing of it); then caller first, agent second: recording starts when the
        # AGENT enters, and by then the caller is already there to be heard.
        await self.effects.arm(channel.id, channel.name, at)
        try:
            # No removeChannel from the holding bridge first: ARI's addChannel departs the
            # channel's current Stasis bridge itself (res/stasis/control.c), one request saved.
            await self.deps.ari.add_channel(self.mix_bridge, self.caller.id)
            self.caller_in_mix = True
            await self.deps.ari.add_channel(self.mix_bridge, channel.id)
        except AriError:
            self.effects.disarm(channel.id)
            raise

    def add_leg(self, ref: AgentLegRef) -> Leg:
        leg = Leg(ref)
        self.legs[ref.channel_id] = leg
        self.claim(ref.channel_id)
        return leg

    # ----------------------------------------------------------------------------------- tasks
    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{name}:{self.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call %s: task %s failed", self.call_id, task.get_name(),
                      exc_info=task.exception())

    def cancel_tasks(self, prefix: str) -> None:
        for task in list(self._tasks):
            if task.get_name().startswith(prefix):
                task.cancel()

    def finish(self) -> None:
        self.ended.set()
        self._inbox.put_nowait(p.CallerLeft(self.deps.now()))  # wake run(); ignored in ENDED

    async def _cleanup(self) -> None:
        for task in list(self._tasks):
            if not task.get_name().startswith("finalise"):
                task.cancel()
        for channel_id in list(self.effects.armed):  # agents the call ended on before they joined
            self.effects.disarm(channel_id)
        for channel_id in [self.caller.id, *self.legs, *self.transferees]:
            await self.effects.hangup(channel_id)
        for bridge in (self.mix_bridge, self.hold_bridge):
            await self.effects.ari_quiet(self.deps.ari.destroy_bridge(bridge))
        finalising = [t for t in self._tasks if t.get_name().startswith("finalise")]
        if finalising:
            await asyncio.gather(*finalising, return_exceptions=True)
        self._release(self)


def _going(event: AriEvent) -> bool:
    """The channel is destroyed, or will be whatever we do: a hard hang-up request (the far end's
    BYE, queued as a hangup frame) always ends in ChannelDestroyed, so our own hang-up in the
    clean-up would only earn a 404. A *soft* request (an explicit hangup through AMI or ARI) is
    left alone, to be safe: the clean-up still hangs the channel up itself."""
    if event.type == "ChannelDestroyed":
        return True
    return event.type == "ChannelHangupRequest" and not event.soft


def _name(item: Inbox) -> str:
    return item.type if isinstance(item, AriEvent) else type(item).__name__

