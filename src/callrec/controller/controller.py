"""The ARI application: routes events to calls, starts new ones, reconciles after a reconnect.

Asterisk keeps no events for a disconnected application, so after every (re)connect we compare what we
believe with what Asterisk has (`/channels`) and feed the policy the departures we missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from callrec import policy as p
from callrec.ari import AriError, AriEvent, Channel, Connected, Disconnected
from callrec.controller.adopt import Adopter
from callrec.controller.deps import Deps
from callrec.controller.effects import Effects
from callrec.controller.orphans import Orphan, orphans
from callrec.controller.outbound import OutboundPlan, OutboundSession
from callrec.controller.session import CallSession
from callrec.controller.stats import EventStats

log = logging.getLogger(__name__)
S = TypeVar("S", bound=CallSession)

CONTROL_EVENT = "callrec-control"  # ARI user event the CLI sends: {call_id, action, target}
# Events callrec never reads (translate.py and the session consume the rest).
UNUSED_EVENTS = ("ChannelVarset", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine",
                 "ChannelStateChange", "Dial", "PlaybackStarted", "ChannelTalkingStarted",
                 "ChannelTalkingFinished")


class Controller:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.calls: dict[UUID, CallSession] = {}
        self._owners: dict[str, CallSession] = {}  # channel / bridge / playback id -> call
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = deps.connected  # set while the ARI application is connected
        self.stats = EventStats()
        self._recovering = asyncio.Lock()
        self._deferred_recovery: asyncio.Task[None] | None = None
        self.reconciled = asyncio.Event()  # the first recovery after start-up has run
        self._adopter = Adopter(deps, self._session, self._adopted_outbound)

    async def run(self) -> None:
        """Consume the event stream until cancelled."""
        async for item in self.deps.ari.events():
            if isinstance(item, Connected):
                self.connected.set()
                log.info("ARI connected: application active")
                await self._filter_events()
                await self.reconcile()
            elif isinstance(item, Disconnected):
                self.connected.clear()
                log.warning("ARI disconnected: %s", item.reason)
            else:
                await self.dispatch(item)

    async def dispatch(self, event: AriEvent) -> None:
        self.stats.handled(event.type, event.timestamp, self.deps.now())
        if log.isEnabledFor(logging.DEBUG):
            log.debug("ARI %s %s %s @%s", event.type, event.channel.name if event.channel else "",
                      event.bridge.id if event.bridge else "", event.timestamp.time())
        if event.type in ("StasisEnd", "ChannelDestroyed") and event.channel is not None:
            # StasisEnd too: once a channel leaves the app we get no ChannelDestroyed for it (a
            # blind-transferred agent hangs up after its StasisEnd), and the agent must become free.
            self.deps.pool.channel_gone(event.channel.id)
        if (event.type == "StasisStart" and event.channel is not None
                and await self._stasis_start(event)):
            return
        if event.type == "ApplicationReplaced":
            # Another process connected as our application: Asterisk now sends it our events.
            log.error("ARI application %r taken over by another connection: this controller no "
                      "longer sees events", event.application)
            return
        if event.type == "ChannelUserevent" and event.raw.get("eventname") == CONTROL_EVENT:
            self._control(event)
            return
        session = self._owner_of(event)
        if session is not None:
            session.submit(event)

    def _owner_of(self, event: AriEvent) -> CallSession | None:
        for obj_id in _ids(event):
            session = self._owners.get(obj_id)
            if session is not None:
                return session
        return None

    async def _stasis_start(self, event: AriEvent) -> bool:
        """True if the event was fully handled here."""
        assert event.channel is not None
        args = event.args
        if event.replace_channel is not None:
            owner = self._owners.get(event.replace_channel.id)
            if owner is not None:
                owner.submit(event)
                return True
        if args[:1] == ("inbound",):
            await self._new_call(event)
            return True
        if args[:1] == ("transferee",) and event.channel.id in self._owners:
            owner = self._owners[event.channel.id]
            await Effects.ari_quiet(self.deps.ari.add_channel(owner.mix_bridge, event.channel.id))
            return True
        if event.channel.id in self._owners:
            return False  # an agent leg answering: its call handles it
        # A channel we did not create: most likely the Local;1 half of a blind transfer, which enters
        # Stasis with no arguments just before it enters the call's bridge. Give its call a moment to
        # claim it; anything still unclaimed then is hung up rather than left dangling.
        self._spawn(self._hangup_if_unclaimed(event.channel.id, event.channel.name),
                    f"stray:{event.channel.id}")
        return True

    def _session(self, call_id: UUID, caller: Channel) -> CallSession:
        """A call's session, registered for routing and running."""
        return self._register(CallSession(self.deps, call_id, caller, self._claimer_for(call_id),
                                          self._release))

    def _adopted_outbound(self, plan: OutboundPlan, client: Channel) -> OutboundSession:
        """An outbound conversation found live after a restart (controller.adopt)."""
        session = OutboundSession(self.deps, plan, self._claimer_for(plan.call_id), self._release)
        session.caller = client
        return self._register(session)

    def _register(self, session: S) -> S:
        self.calls[session.call_id] = session
        for obj_id in (session.caller.id, session.mix_bridge, session.hold_bridge):
            self._owners[obj_id] = session
        self._spawn(session.run(), f"call:{session.call_id}")
        return session

    async def start_outbound(self, plan: OutboundPlan) -> OutboundSession:
        """Place one call of the dialer (agent first, see controller.outbound). Refused while the
        ARI application is disconnected: a channel originated into it would reach nobody."""
        if not self.connected.is_set():
            raise AriError(None, "POST", "/channels", "ARI application not connected: not dialling")
        session = self._register(OutboundSession(self.deps, plan, self._claimer_for(plan.call_id),
                                                 self._release))
        self.deps.record("create_call", plan.call_id, direction="outbound",
                         caller_number=plan.number, channel_id=session.caller.id,
                         started_at=self.deps.now(), queue=None,
                         business_unit=plan.business_unit or None)
        try:
            await self.deps.ari.create_bridge(session.mix_bridge, "mixing,proxy_media", "callrec")
        except AriError as exc:
            log.warning("outbound call %s: setup failed: %s", plan.call_id, exc)
            session.submit(p.DialFailed(self.deps.now(), "failed"))
            return session
        session.submit(p.DialStarted(self.deps.now()))
        return session

    async def _new_call(self, event: AriEvent) -> None:
        assert event.channel is not None
        await self._take_call(event.channel, event.timestamp)

    async def _take_call(self, channel: Channel, at: datetime) -> None:
        call_id = self.deps.new_id()
        session = self._session(call_id, channel)
        self.deps.record("create_call",
            call_id, direction="inbound", caller_number=channel.caller_number,
            channel_id=channel.id, started_at=at, queue=self.deps.inbound.queue,
            business_unit=self.deps.inbound.business_unit or None)
        try:
            await self.deps.ari.answer(channel.id)
            # proxy_media: two SIP channels in a plain mixing bridge go native RTP, where media
            # (and DTMF) bypass Asterisk's core and a recording could miss audio.
            await self.deps.ari.create_bridge(session.mix_bridge, "mixing,proxy_media", "callrec")
        except AriError as exc:
            log.warning("call %s: setup failed: %s", call_id, exc)
            session.submit(p.CallerLeft(at))
            return
        session.submit(p.CallArrived(at))

    def _claimer_for(self, call_id: UUID):
        def claim(obj_id: str) -> None:
            session = self.calls.get(call_id)
            if session is not None:
                self._owners[obj_id] = session
        return claim

    def _release(self, session: CallSession) -> None:
        self.calls.pop(session.call_id, None)
        for obj_id in [k for k, v in self._owners.items() if v is session]:
            del self._owners[obj_id]

    # ----------------------------------------------------------------------------- control
    def _control(self, event: AriEvent) -> None:
        raw = event.raw.get("userevent")
        if not isinstance(raw, dict):
            return
        try:
            session = self.calls.get(UUID(str(raw.get("call_id"))))
        except ValueError:
            session = None
        if session is None:
            log.warning("control request for an unknown call: %r", raw.get("call_id"))
            return
        action, at = raw.get("action"), event.timestamp
        requests: dict[str, p.Event] = {
            "transfer": p.TransferRequested(at, str(raw.get("target", ""))),
            "requeue": p.RequeueRequested(at),
            "hold": p.HoldStarted(at),
            "unhold": p.HoldEnded(at),
        }
        request = requests.get(str(action))
        if request is not None and not (action == "transfer" and not raw.get("target")):
            session.submit(request)

    # ---------------------------------------------------------------------------- reconcile
    async def reconcile(self) -> None:
        """After every (re)connect: adopt or close open calls we hold no session for (a restart),
        and tell the calls we do hold about channels that vanished while we were not listening."""
        if self.deps.evidence.journalled:
            # PostgreSQL is behind our own journal (an outage, perhaps a restart since): a call
            # whose end and sealed recording are still in the journal looks open there, and
            # recovering it now would mark it interrupted. So recovery waits for the replay - in
            # the background, as telephony never waits for the database.
            if self._deferred_recovery is None or self._deferred_recovery.done():
                log.info("recovery deferred until the evidence journal (%d facts) is replayed",
                         self.deps.evidence.journalled)
                self._deferred_recovery = self._spawn(self._recover_after_replay(), "recover")
        else:
            await self._recover()
        try:
            alive = {c.id for c in await self.deps.ari.list_channels()}
        except AriError as exc:
            log.warning("reconcile: cannot list channels: %s", exc)
            return
        now = self.deps.now()
        for session in list(self.calls.values()):
            for channel_id, leg in session.legs.items():
                if channel_id in alive:
                    continue
                # No StasisEnd or ChannelDestroyed will ever come for it: free the agent, end a
                # ring that was in progress, and tell the call in case it was the agent in the bridge.
                self.deps.pool.channel_gone(channel_id)
                if not leg.answered.done():
                    leg.answered.set_result(False)
                session.submit(p.AgentLeft(now, leg.ref.channel_id, p.StopReason.UNOBSERVED))
            if session.caller.id not in alive:
                session.submit(p.CallerLeft(now))

    async def _recover_after_replay(self) -> None:
        await self.deps.evidence.drained()
        await self._recover()

    async def _recover(self) -> None:
        async with self._recovering:  # one pass at a time: two would adopt the same call twice
            await self._adopter.recover(set(self.calls))
            await self._settle_orphans()
        self.reconciled.set()  # the sweep and the dialer start once the open calls are settled

    async def _settle_orphans(self) -> None:
        """Channels in our application that no call accounts for (controller.orphans)."""
        try:
            in_app = (await self.deps.ari.application()).get("channel_ids") or ()
            if not in_app:
                return
            live = {c.id: c for c in await self.deps.ari.list_channels()}
            bridges = await self.deps.ari.list_bridges()
        except AriError as exc:
            log.warning("recovery: cannot list our application's channels: %s", exc)
            return
        for channel, kind in orphans(in_app, self._owners, live, self.deps.ari.app):
            log.warning("recovery: channel %s (%s) belongs to no call: %s", channel.name,
                        channel.id, "taken as a new call" if kind is Orphan.CALLER else "hung up")
            if kind is Orphan.LEG:
                await Effects.ari_quiet(self.deps.ari.hangup(channel.id))
                continue
            for bridge in bridges:  # left in its lost call's bridge: ours to empty and destroy
                if channel.id in bridge.channels:
                    await Effects.ari_quiet(self.deps.ari.remove_channel(bridge.id, channel.id))
                    if bridge.id.startswith("callrec-") and bridge.id not in self._owners:
                        await Effects.ari_quiet(self.deps.ari.destroy_bridge(bridge.id))
            await self._take_call(channel, self.deps.now())

    async def _filter_events(self) -> None:
        """Half of what Asterisk sends an application is ChannelVarset and similar chatter; under
        load, parsing it delays the ChannelEnteredBridge that starts a recording."""
        try:
            await self.deps.ari.drop_events(UNUSED_EVENTS)
        except AriError as exc:
            log.info("ARI event filter not applied (%s): carrying on with every event", exc)

    def recordings_in_hand(self) -> set[UUID]:
        """Recordings this controller is running or still sealing: the sweep leaves them alone."""
        return {rid for session in self.calls.values()
                for rid in (*session.effects.running, *session.effects.finalising)}

    # ---------------------------------------------------------------------------- lifecycle
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self, timeout: float) -> None:
        """Let calls in progress finish for up to ``timeout`` seconds, then stop handling them.

        Live calls are not hung up: their channels stay in Stasis and the next controller reconciles.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        if self._deferred_recovery is not None:
            self._deferred_recovery.cancel()  # it may wait for a database that is not coming back
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:  # a StopMixMonitor AMI did not answer, being sent again: give it what time is left
            async with asyncio.timeout_at(deadline):
                await self.deps.recorder.retries_sent()
        except TimeoutError:
            log.warning("shutdown: a StopMixMonitor is still unanswered by AMI (MixMonitor's b "
                        "option ends the file when its agent hangs up)")
        log.info("ARI events handled: %s", self.stats.summary())

    async def _hangup_if_unclaimed(self, channel_id: str, name: str, grace: float = 2.0) -> None:
        await asyncio.sleep(grace)
        if channel_id not in self._owners:
            log.info("hanging up unclaimed channel %s in Stasis", name)
            await Effects.ari_quiet(self.deps.ari.hangup(channel_id))


def _ids(event: AriEvent) -> list[str]:
    ids = [c.id for c in (event.channel, event.replace_channel, event.transferer_first_leg,
                          event.transferer_second_leg, event.transferee, event.transfer_target)
           if c is not None]
    if event.bridge is not None:
        ids.append(event.bridge.id)
    if event.playback is not None:
        ids.append(event.playback.id)
    return ids
