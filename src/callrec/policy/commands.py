"""Commands out of the recording policy: what the shell must do, in order (frozen dataclasses),
and the ``Decision`` and ``Handler`` types that pair them with the new state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .state import CallState, Phase, Segment, StopReason


@dataclass(frozen=True, slots=True)
class PlayAnnouncement:
    pass


@dataclass(frozen=True, slots=True)
class CollectClientNumber:
    pass


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Put the caller in the holding bridge with music on hold and hunt for a free agent."""


@dataclass(frozen=True, slots=True)
class StartRecording:
    segment: Segment
    agent_leg_id: UUID


@dataclass(frozen=True, slots=True)
class StopRecording:
    segment: Segment
    reason: StopReason
    at: datetime


@dataclass(frozen=True, slots=True)
class NoteHold:
    started: bool  # True: hold began, False: hold ended
    recording_id: UUID | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CallerMusic:
    on: bool


@dataclass(frozen=True, slots=True)
class NoteAgentLeft:
    leg_id: UUID
    reason: StopReason
    at: datetime


@dataclass(frozen=True, slots=True)
class NoteTransfer:
    kind: str
    leg_id: UUID
    target: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ExplainDeparture:
    """The cause of a departure first seen as LEFT_BRIDGE arrived: record the real reason."""

    leg_id: UUID
    reason: StopReason


@dataclass(frozen=True, slots=True)
class ReleaseAgent:
    """Hang up what is left of the agent's channel (a transferer stays in Stasis until its BYE)."""

    channel_id: str


@dataclass(frozen=True, slots=True)
class TransferCaller:
    target: str


@dataclass(frozen=True, slots=True)
class HangupCaller:
    pass


@dataclass(frozen=True, slots=True)
class NotePhase:
    phase: Phase
    at: datetime


@dataclass(frozen=True, slots=True)
class CloseAnnouncement:
    outcome: str  # "finished" | "caller_hung_up"
    at: datetime


@dataclass(frozen=True, slots=True)
class EndCall:
    outcome: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StartSettleTimer:
    pass


@dataclass(frozen=True, slots=True)
class Alarm:
    message: str


@dataclass(frozen=True, slots=True)
class FetchAgent:
    """Outbound: ring the task's agent (or a free one) into the call's bridge."""


@dataclass(frozen=True, slots=True)
class DialClient:
    """Outbound: the agent is in the bridge; dial the client into answering-machine detection."""


@dataclass(frozen=True, slots=True)
class MuteAgent:
    """Silence what the agent says toward the bridge (on) or let it through again (off)."""

    channel_id: str
    on: bool


@dataclass(frozen=True, slots=True)
class BridgeClient:
    """A person answered: put the client into the agent's bridge."""


@dataclass(frozen=True, slots=True)
class PlayDisclosure:
    """Play the recording disclosure into the bridge: client and agent hear it, and so does
    the file."""

    at: datetime


@dataclass(frozen=True, slots=True)
class LeaveVoicemail:
    """A machine answered and its greeting ended: play this attempt's script to it, then hang up."""


Command = (
    PlayAnnouncement | CollectClientNumber | Enqueue | StartRecording | StopRecording | NoteHold
    | CallerMusic | NoteAgentLeft | NoteTransfer | ExplainDeparture | ReleaseAgent
    | TransferCaller | HangupCaller | NotePhase | CloseAnnouncement | EndCall | StartSettleTimer
    | Alarm | FetchAgent | DialClient | MuteAgent | BridgeClient | PlayDisclosure | LeaveVoicemail
)
Decision = tuple[CallState, tuple[Command, ...]]
# Any, not Event: a handler takes only the event type its table key names, which typing can't link.
Handler = Callable[[CallState, Any], Decision]


__all__ = [
    "Alarm",
    "BridgeClient",
    "CallerMusic",
    "CloseAnnouncement",
    "CollectClientNumber",
    "Command",
    "Decision",
    "DialClient",
    "EndCall",
    "Enqueue",
    "ExplainDeparture",
    "FetchAgent",
    "Handler",
    "HangupCaller",
    "LeaveVoicemail",
    "MuteAgent",
    "NoteAgentLeft",
    "NoteHold",
    "NotePhase",
    "NoteTransfer",
    "PlayAnnouncement",
    "PlayDisclosure",
    "ReleaseAgent",
    "StartRecording",
    "StartSettleTimer",
    "StopRecording",
    "TransferCaller",
]
