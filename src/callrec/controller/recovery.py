"""After a controller restart: what to do with each call the database says is still open. Pure.

Asterisk keeps no events for a disconnected application, so the restarted controller compares two
pictures: the evidence (open calls, their agent legs and recordings) and what Asterisk has now
(channels, and who is in which bridge). Whatever it cannot prove happened is marked ``interrupted``.

* caller gone                        -> end the call; open recordings interrupted (files finalised)
* caller and agent in our mix bridge -> resume control: CONNECTED, the running segment adopted
* caller alive, agent gone           -> open recordings interrupted; the caller is queued again
* caller alive, never past the announcement -> start again from the announcement
* an outbound call not resumable      -> end it and hang up the client (the dialer retries)
* an outbound call resumable, but no proof its disclosure began -> the same: nothing may be said
  to the client before a disclosure we can prove (a kill landing between the recording's row and
  the disclosure's)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from callrec.store import AgentLeg, Announcement, CallDetail, Recording

OPEN = frozenset({"recording", "stopping", "finalising"})
DISCLOSURE = "outbound_disclosure"
DISCLOSURE_UNPROVEN = "outbound_disclosure_unproven_after_restart"


@dataclass(frozen=True)
class LiveView:
    channels: frozenset[str]
    bridges: Mapping[str, frozenset[str]]  # bridge id -> channel ids in it

    def in_bridge(self, bridge_id: str, channel_id: str) -> bool:
        return channel_id in self.bridges.get(bridge_id, frozenset())


@dataclass(frozen=True)
class EndCall:
    reason: str
    interrupted: tuple[Recording, ...]


@dataclass(frozen=True)
class ResumeConnected:
    leg: AgentLeg
    recording: Recording | None  # None: the agent talks but no segment was running (start failed)
    interrupted: tuple[Recording, ...]
    # An outbound call's disclosure proof: the agent stays muted until one has finished.
    disclosure: Announcement | None = None


@dataclass(frozen=True)
class Requeue:
    interrupted: tuple[Recording, ...]


@dataclass(frozen=True)
class Restart:
    """The caller is still there but never heard the whole announcement: play it again."""


Plan = EndCall | ResumeConnected | Requeue | Restart


def mix_bridge_id(call_id: UUID) -> str:
    return f"callrec-{call_id}"


def plan(detail: CallDetail, live: LiveView) -> Plan:
    call = detail.call
    open_recordings = tuple(r for r in detail.recordings if r.status in OPEN)
    if call.channel_id not in live.channels:
        return EndCall("ended_while_controller_down", open_recordings)
    mix = mix_bridge_id(call.id)
    present = [g for g in detail.legs
               if g.left_at is None and g.channel_id in live.channels
               and live.in_bridge(mix, g.channel_id) and live.in_bridge(mix, call.channel_id)]
    if present:
        leg = present[-1]
        running = [r for r in open_recordings if r.agent_leg_id == leg.id]
        current = running[-1] if running else None
        others = tuple(r for r in open_recordings if r is not current)
        if call.direction != "outbound":
            return ResumeConnected(leg, current, others)
        told = [a for a in detail.announcements if a.kind == DISCLOSURE]
        if not told:
            return EndCall(DISCLOSURE_UNPROVEN, open_recordings)
        return ResumeConnected(leg, current, others, told[-1])
    if call.direction == "outbound":
        # The dialer's client, still being screened or hearing a voicemail script, or alone after
        # its agent left: hung up, never sent through the inbound IVR. The dialer closes the
        # attempt as failed when it starts again.
        return EndCall("outbound_interrupted_by_restart", open_recordings)
    if not any(a.outcome == "finished" for a in detail.announcements):
        return Restart() if not open_recordings else Requeue(open_recordings)
    return Requeue(open_recordings)
