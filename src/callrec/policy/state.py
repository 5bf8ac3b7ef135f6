"""The recording policy's state: the phases of a call, why a recording stops, and the
``CallState`` that ``decide`` takes and returns (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Phase(StrEnum):
    NEW = "new"
    ANNOUNCING = "announcing"  # caller hears "this call will be recorded..."
    IDENTIFYING = "identifying"  # caller keys in the client number
    WAITING = "waiting"  # holding bridge, music on hold, agents being rung
    CONNECTED = "connected"  # agent and caller in the mixing bridge: the only recorded phase
    UNATTENDED = "unattended"  # the agent left the bridge, why is not known yet; recording stopped
    TRANSFERRED = "transferred"  # caller handed to a non-agent party: never recorded
    ENDED = "ended"
    # Outbound (the dialer): the agent is brought into the bridge first, then the client is dialled
    # and screened by answering-machine detection. A machine gets a voicemail script, unrecorded.
    DIALING = "dialing"
    VOICEMAIL = "voicemail"


class StopReason(StrEnum):
    AGENT_HANGUP = "agent_hangup"
    CALLER_HANGUP = "caller_hangup"
    BLIND_TRANSFER = "blind_transfer"
    ATTENDED_TRANSFER = "attended_transfer"
    CONTROLLER_TRANSFER = "controller_transfer"
    REQUEUE = "requeue"
    LEFT_BRIDGE = "left_bridge"
    RECORDING_FAILED = "recording_failed"
    CLIENT_UNREACHED = "client_unreached"  # outbound: no person answered; the agent is let go
    UNOBSERVED = "unobserved"  # gone while callrec was not connected (found on reconcile)


TRANSFER_KINDS: Mapping[StopReason, str] = {
    StopReason.BLIND_TRANSFER: "blind",
    StopReason.ATTENDED_TRANSFER: "attended",
    StopReason.CONTROLLER_TRANSFER: "controller",
}


@dataclass(frozen=True, slots=True)
class AgentInBridge:
    leg_id: UUID
    channel_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A recording segment that is running (a stop has not been requested yet)."""

    recording_id: UUID
    mixmonitor_id: str
    number: int
    agent_channel_id: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class CallState:
    call_id: UUID
    phase: Phase = Phase.NEW
    announced: bool = False
    agent: AgentInBridge | None = None
    recording: Segment | None = None
    segments: int = 0
    on_hold: bool = False
    departed: AgentInBridge | None = None  # the agent who left, until we learn why (UNATTENDED)
    outbound: bool = False
    disclosing: bool = False  # outbound: the disclosure is playing, the agent is muted

    @property
    def recording_without_agent(self) -> bool:
        """The invariant the whole product exists for; must never be True."""
        return self.recording is not None and (
            self.agent is None or self.agent.channel_id != self.recording.agent_channel_id
        )


__all__ = [
    "TRANSFER_KINDS",
    "AgentInBridge",
    "CallState",
    "Phase",
    "Segment",
    "StopReason",
]
