"""Events into the recording policy: what the shell saw happen, each carrying the times and IDs
the shell minted (frozen dataclasses), and ``UnexpectedEvent`` for a pair the table lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from .state import StopReason


@dataclass(frozen=True, slots=True)
class CallArrived:
    at: datetime


@dataclass(frozen=True, slots=True)
class AnnouncementFinished:
    at: datetime


@dataclass(frozen=True, slots=True)
class ClientIdentified:
    at: datetime
    client_number: str | None  # None: retries exhausted, the fallback queues the caller anyway


@dataclass(frozen=True, slots=True)
class AgentJoined:
    """The agent's channel entered the caller's mixing bridge (ChannelEnteredBridge)."""

    at: datetime
    leg_id: UUID
    channel_id: str
    agent_name: str
    recording_id: UUID  # minted by the shell, like the MixMonitor ID
    mixmonitor_id: str


@dataclass(frozen=True, slots=True)
class AgentLeft:
    """Any sign the agent left: ChannelLeftBridge, hangup, StasisEnd, a transfer naming the
    agent..."""

    at: datetime
    channel_id: str
    reason: StopReason
    target: str | None = None


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """The controller must move the caller elsewhere: an operator asked (`callrec calls transfer`),
    or the agent sent a REFER that Asterisk left to us (PJSIP_TRANSFER_HANDLING(ari-only))."""

    at: datetime
    target: str
    reason: StopReason = StopReason.CONTROLLER_TRANSFER


@dataclass(frozen=True, slots=True)
class RequeueRequested:
    at: datetime


@dataclass(frozen=True, slots=True)
class HoldStarted:
    at: datetime


@dataclass(frozen=True, slots=True)
class HoldEnded:
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordingFailed:
    at: datetime
    mixmonitor_id: str
    error: str


@dataclass(frozen=True, slots=True)
class CallerLeft:
    at: datetime


@dataclass(frozen=True, slots=True)
class SettleTimeout:
    """The shell's timer: the agent left the bridge and no transfer or hangup explained it."""

    at: datetime
    replaced: bool = False  # another party took the agent's place in the bridge (a transfer)


@dataclass(frozen=True, slots=True)
class TransfereeLeft:
    """The party the caller was transferred to (the Local channel in our bridge) is gone."""

    at: datetime


@dataclass(frozen=True, slots=True)
class DialStarted:
    """The dialer placed an outbound call: an agent is to be brought in before the client is
    rung."""

    at: datetime


@dataclass(frozen=True, slots=True)
class ClientAnswered:
    """The client's line answered and answering-machine detection gave its verdict (AMDSTATUS:
    HUMAN, MACHINE, NOTSURE, HANGUP)."""

    at: datetime
    verdict: str
    recording_id: UUID  # minted by the shell, used only if a person answered
    mixmonitor_id: str


@dataclass(frozen=True, slots=True)
class DialFailed:
    """Nobody answered: busy, no answer, failed, no agent available, the attempt refused..."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DisclosureFinished:
    at: datetime


@dataclass(frozen=True, slots=True)
class VoicemailLeft:
    at: datetime
    left: bool  # False: nothing was left (no script for this task, or it could not be played)


Event = (
    CallArrived | AnnouncementFinished | ClientIdentified | AgentJoined | AgentLeft
    | TransferRequested | RequeueRequested | HoldStarted | HoldEnded | RecordingFailed
    | CallerLeft | SettleTimeout | TransfereeLeft | DialStarted | ClientAnswered | DialFailed
    | DisclosureFinished | VoicemailLeft
)
EVENT_TYPES: tuple[type, ...] = (
    CallArrived, AnnouncementFinished, ClientIdentified, AgentJoined, AgentLeft, TransferRequested,
    RequeueRequested, HoldStarted, HoldEnded, RecordingFailed, CallerLeft, SettleTimeout,
    TransfereeLeft, DialStarted, ClientAnswered, DialFailed, DisclosureFinished, VoicemailLeft,
)


class UnexpectedEvent(Exception):
    """An event the table does not know for this phase: a bug in the table, never a runtime
    condition."""


__all__ = [
    "EVENT_TYPES",
    "AgentJoined",
    "AgentLeft",
    "AnnouncementFinished",
    "CallArrived",
    "CallerLeft",
    "ClientAnswered",
    "ClientIdentified",
    "DialFailed",
    "DialStarted",
    "DisclosureFinished",
    "Event",
    "HoldEnded",
    "HoldStarted",
    "RecordingFailed",
    "RequeueRequested",
    "SettleTimeout",
    "TransferRequested",
    "TransfereeLeft",
    "UnexpectedEvent",
    "VoicemailLeft",
]
