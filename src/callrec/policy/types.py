"""Values of the recording policy: phases, call state, events in, commands out (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


# ----------------------------------------------------------------------------------------------- state
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


# ---------------------------------------------------------------------------------------------- events
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
    """Any sign the agent left: ChannelLeftBridge, hangup, StasisEnd, a transfer naming the agent..."""

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
    """The dialer placed an outbound call: an agent is to be brought in before the client is rung."""

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
    CallArrived | AnnouncementFinished | ClientIdentified | AgentJoined | AgentLeft | TransferRequested
    | RequeueRequested | HoldStarted | HoldEnded | RecordingFailed | CallerLeft | SettleTimeout
    | TransfereeLeft | DialStarted | ClientAnswered | DialFailed | DisclosureFinished | VoicemailLeft
)
EVENT_TYPES: tuple[type, ...] = (
    CallArrived, AnnouncementFinished, ClientIdentified, AgentJoined, AgentLeft, TransferRequested,
    RequeueRequested, HoldStarted, HoldEnded, RecordingFailed, CallerLeft, SettleTimeout,
    TransfereeLeft, DialStarted, ClientAnswered, DialFailed, DisclosureFinished, VoicemailLeft,
)


# -------------------------------------------------------------------------------------------- commands
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
    """Play the recording disclosure into the bridge: client and agent hear it, and so does the file."""

    at: datetime


@dataclass(frozen=True, slots=True)
class LeaveVoicemail:
    """A machine answered and its greeting ended: play this attempt's script to it, then hang up."""


Command = (
    PlayAnnouncement | CollectClientNumber | Enqueue | StartRecording | StopRecording | NoteHold
    | CallerMusic | NoteAgentLeft | NoteTransfer | ExplainDeparture | ReleaseAgent | TransferCaller | HangupCaller
    | NotePhase | CloseAnnouncement | EndCall | StartSettleTimer | Alarm | FetchAgent | DialClient
    | MuteAgent | BridgeClient | PlayDisclosure | LeaveVoicemail
)
Decision = tuple[CallState, tuple[Command, ...]]
Handler = Callable[[CallState, Event], Decision]


class UnexpectedEvent(Exception):
    """An event the table does not know for this phase: a bug in the table, never a runtime condition."""


__all__ = [
    "EVENT_TYPES",
    "TRANSFER_KINDS",
    "AgentInBridge",
    "AgentJoined",
    "AgentLeft",
    "Alarm",
    "AnnouncementFinished",
    "BridgeClient",
    "CallArrived",
    "CallState",
    "CallerLeft",
    "CallerMusic",
    "ClientAnswered",
    "ClientIdentified",
    "CloseAnnouncement",
    "CollectClientNumber",
    "Command",
    "Decision",
    "DialClient",
    "DialFailed",
    "DialStarted",
    "DisclosureFinished",
    "EndCall",
    "Enqueue",
    "Event",
    "ExplainDeparture",
    "FetchAgent",
    "Handler",
    "HangupCaller",
    "HoldEnded",
    "HoldStarted",
    "LeaveVoicemail",
    "MuteAgent",
    "NoteAgentLeft",
    "NoteHold",
    "NotePhase",
    "NoteTransfer",
    "Phase",
    "PlayAnnouncement",
    "PlayDisclosure",
    "RecordingFailed",
    "ReleaseAgent",
    "RequeueRequested",
    "Segment",
    "SettleTimeout",
    "StartRecording",
    "StartSettleTimer",
    "StopReason",
    "StopRecording",
    "TransferCaller",
    "TransferRequested",
    "TransfereeLeft",
    "UnexpectedEvent",
    "VoicemailLeft",
]
