"""The recording policy: a pure state machine over frozen dataclasses.

``decide(state, event) -> (state, commands)`` has no I/O, no asyncio and no clock: every time, ID and file
name arrives on the event from the imperative shell (:mod:`callrec.controller`). The rules it enforces:

* The caller hears the recording announcement before reaching anyone; client-number entry and waiting
  (music on hold) follow. None of that is ever recorded.
* Recording starts only when an agent's channel enters the caller's bridge, and only after the
  announcement finished.
* Recording stops on the FIRST sign that the agent left (hangup, blind/attended transfer, a transfer or
  requeue by the controller, the caller hanging up). Later signs of the same departure are ignored, so the
  shell sends exactly one stop per segment.
* A caller taken by another agent (requeue) gets a new segment and no second announcement.

Transitions are data: :data:`TRANSITIONS` maps ``(phase, event type)`` to a handler and :data:`IGNORED`
lists the pairs that deliberately do nothing. A test checks every pair is in exactly one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Phase(StrEnum):
    NEW = "new"
    ANNOUNCING = "announcing"  # caller hears "this call will be recorded..."
    IDENTIFYING = "identifying"  # caller keys in the client number
    WAITING = "waiting"  # holding bridge, music on hold, agents being rung
    CONNECTED = "connected"  # agent and caller in the mixing bridge: the only recorded phase
    TRANSFERRED = "transferred"  # caller handed to a non-agent party: never recorded
    ENDED = "ended"


class StopReason(StrEnum):
    AGENT_HANGUP = "agent_hangup"
    CALLER_HANGUP = "caller_hangup"
    BLIND_TRANSFER = "blind_transfer"
    ATTENDED_TRANSFER = "attended_transfer"
    CONTROLLER_TRANSFER = "controller_transfer"
    REQUEUE = "requeue"
    LEFT_BRIDGE = "left_bridge"
    RECORDING_FAILED = "recording_failed"


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
    """An operator asked the controller to move the caller elsewhere (`callrec calls transfer`)."""

    at: datetime
    target: str


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


Event = (
    CallArrived | AnnouncementFinished | ClientIdentified | AgentJoined | AgentLeft | TransferRequested
    | RequeueRequested | HoldStarted | HoldEnded | RecordingFailed | CallerLeft
)
EVENT_TYPES: tuple[type, ...] = (
    CallArrived, AnnouncementFinished, ClientIdentified, AgentJoined, AgentLeft, TransferRequested,
    RequeueRequested, HoldStarted, HoldEnded, RecordingFailed, CallerLeft,
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
class Alarm:
    message: str


Command = (
    PlayAnnouncement | CollectClientNumber | Enqueue | StartRecording | StopRecording | NoteHold
    | CallerMusic | NoteAgentLeft | NoteTransfer | ReleaseAgent | TransferCaller | HangupCaller
    | NotePhase | CloseAnnouncement | EndCall | Alarm
)
Decision = tuple[CallState, tuple[Command, ...]]
Handler = Callable[[CallState, Event], Decision]


class UnexpectedEvent(Exception):
    """An event the table does not know for this phase: a bug in the table, never a runtime condition."""


# ------------------------------------------------------------------------------------------- handlers
def _enter(state: CallState, phase: Phase, at: datetime, **changes: object) -> CallState:
    return replace(state, phase=phase, **changes)  # type: ignore[arg-type]


def _arrive(state: CallState, event: CallArrived) -> Decision:
    return _enter(state, Phase.ANNOUNCING, event.at), (
        NotePhase(Phase.ANNOUNCING, event.at), PlayAnnouncement())


def _announced(state: CallState, event: AnnouncementFinished) -> Decision:
    return _enter(state, Phase.IDENTIFYING, event.at, announced=True), (
        CloseAnnouncement("finished", event.at), NotePhase(Phase.IDENTIFYING, event.at),
        CollectClientNumber())


def _identified(state: CallState, event: ClientIdentified) -> Decision:
    return _enter(state, Phase.WAITING, event.at), (NotePhase(Phase.WAITING, event.at), Enqueue())


def _agent_joined(state: CallState, event: AgentJoined) -> Decision:
    agent = AgentInBridge(event.leg_id, event.channel_id, event.agent_name)
    segment = Segment(event.recording_id, event.mixmonitor_id, state.segments + 1, event.channel_id,
                      event.at)
    new = _enter(state, Phase.CONNECTED, event.at, agent=agent, recording=segment,
                 segments=segment.number)
    return new, (NotePhase(Phase.CONNECTED, event.at), StartRecording(segment, event.leg_id))


def _agent_too_early(state: CallState, event: AgentJoined) -> Decision:
    # Nobody may reach an agent before the announcement ended: refuse the leg rather than record it.
    return state, (Alarm(f"agent {event.agent_name} joined during {state.phase}; released"),
                   ReleaseAgent(event.channel_id))


def _second_agent(state: CallState, event: AgentJoined) -> Decision:
    return state, (Alarm(f"agent {event.agent_name} joined a connected call; released"),
                   ReleaseAgent(event.channel_id))


def _stop(state: CallState, reason: StopReason, at: datetime) -> tuple[Command, ...]:
    """Everything that must happen the moment the agent is gone, in order: hold closed, stop sent."""
    assert state.agent is not None
    commands: list[Command] = []
    if state.on_hold:
        rec = state.recording.recording_id if state.recording else None
        commands += [NoteHold(False, rec, at), CallerMusic(False)]
    if state.recording is not None:
        commands.append(StopRecording(state.recording, reason, at))
    commands.append(NoteAgentLeft(state.agent.leg_id, reason, at))
    if reason in TRANSFER_KINDS:
        commands.append(NoteTransfer(TRANSFER_KINDS[reason], state.agent.leg_id, None, at))
    return tuple(commands)


def _without_agent(state: CallState, phase: Phase, at: datetime) -> CallState:
    return _enter(state, phase, at, agent=None, recording=None, on_hold=False)


def _agent_left(state: CallState, event: AgentLeft) -> Decision:
    assert state.agent is not None
    if event.channel_id != state.agent.channel_id:
        return state, ()  # a late sign from an earlier agent: that segment was stopped already
    commands = list(_stop(state, event.reason, event.at))
    if event.target is not None:
        commands = [replace(c, target=event.target) if isinstance(c, NoteTransfer) else c
                    for c in commands]
    commands.append(ReleaseAgent(state.agent.channel_id))
    if event.reason in (StopReason.BLIND_TRANSFER, StopReason.ATTENDED_TRANSFER):
        # The caller now talks to the transfer target inside our bridge: stays unrecorded.
        new = _without_agent(state, Phase.TRANSFERRED, event.at)
        return new, (*commands, NotePhase(Phase.TRANSFERRED, event.at))
    # The agent hung up or was pulled out: the conversation is over for the caller too.
    new = _without_agent(state, Phase.ENDED, event.at)
    return new, (*commands, NotePhase(Phase.ENDED, event.at), HangupCaller(),
                 EndCall("completed", event.reason.value, event.at))


def _controller_transfer(state: CallState, event: TransferRequested) -> Decision:
    assert state.agent is not None
    # Stop BEFORE the caller is moved, so nothing the target says can reach the file.
    commands = [c if not isinstance(c, NoteTransfer) else replace(c, target=event.target)
                for c in _stop(state, StopReason.CONTROLLER_TRANSFER, event.at)]
    new = _without_agent(state, Phase.TRANSFERRED, event.at)
    return new, (*commands, ReleaseAgent(state.agent.channel_id), TransferCaller(event.target),
                 NotePhase(Phase.TRANSFERRED, event.at))


def _requeue(state: CallState, event: RequeueRequested) -> Decision:
    assert state.agent is not None
    commands = _stop(state, StopReason.REQUEUE, event.at)
    new = _without_agent(state, Phase.WAITING, event.at)
    return new, (*commands, ReleaseAgent(state.agent.channel_id), NotePhase(Phase.WAITING, event.at),
                 Enqueue())


def _hold(state: CallState, event: HoldStarted) -> Decision:
    if state.on_hold:
        return state, ()
    rec = state.recording.recording_id if state.recording else None
    return replace(state, on_hold=True), (NoteHold(True, rec, event.at), CallerMusic(True))


def _unhold(state: CallState, event: HoldEnded) -> Decision:
    if not state.on_hold:
        return state, ()
    rec = state.recording.recording_id if state.recording else None
    return replace(state, on_hold=False), (NoteHold(False, rec, event.at), CallerMusic(False))


def _recording_failed(state: CallState, event: RecordingFailed) -> Decision:
    if state.recording is None or state.recording.mixmonitor_id != event.mixmonitor_id:
        return state, ()
    return replace(state, recording=None), (Alarm(f"recording failed: {event.error}"),)


def _caller_left_announcing(state: CallState, event: CallerLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        CloseAnnouncement("caller_hung_up", event.at), NotePhase(Phase.ENDED, event.at),
        EndCall("abandoned", "caller_hangup_during_announcement", event.at))


def _caller_left_before_agent(state: CallState, event: CallerLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        NotePhase(Phase.ENDED, event.at),
        EndCall("abandoned", f"caller_hangup_while_{state.phase.value}", event.at))


def _caller_left_connected(state: CallState, event: CallerLeft) -> Decision:
    assert state.agent is not None
    commands = _stop(state, StopReason.CALLER_HANGUP, event.at)
    new = _without_agent(state, Phase.ENDED, event.at)
    return new, (*commands, ReleaseAgent(state.agent.channel_id), NotePhase(Phase.ENDED, event.at),
                 EndCall("completed", "caller_hangup", event.at))


def _caller_left_transferred(state: CallState, event: CallerLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        NotePhase(Phase.ENDED, event.at), EndCall("transferred", "caller_hangup", event.at))


# ------------------------------------------------------------------------------------------- the table
P = Phase
TRANSITIONS: Mapping[tuple[Phase, type], Handler] = {
    (P.NEW, CallArrived): _arrive,
    (P.NEW, CallerLeft): _caller_left_before_agent,
    (P.ANNOUNCING, AnnouncementFinished): _announced,
    (P.ANNOUNCING, CallerLeft): _caller_left_announcing,
    (P.ANNOUNCING, AgentJoined): _agent_too_early,
    (P.IDENTIFYING, ClientIdentified): _identified,
    (P.IDENTIFYING, CallerLeft): _caller_left_before_agent,
    (P.IDENTIFYING, AgentJoined): _agent_too_early,
    (P.WAITING, AgentJoined): _agent_joined,
    (P.WAITING, CallerLeft): _caller_left_before_agent,
    (P.CONNECTED, AgentJoined): _second_agent,
    (P.CONNECTED, AgentLeft): _agent_left,
    (P.CONNECTED, TransferRequested): _controller_transfer,
    (P.CONNECTED, RequeueRequested): _requeue,
    (P.CONNECTED, HoldStarted): _hold,
    (P.CONNECTED, HoldEnded): _unhold,
    (P.CONNECTED, RecordingFailed): _recording_failed,
    (P.CONNECTED, CallerLeft): _caller_left_connected,
    (P.TRANSFERRED, AgentJoined): _second_agent,
    (P.TRANSFERRED, CallerLeft): _caller_left_transferred,
    (P.ENDED, AgentJoined): _second_agent,
}

# Deliberate no-ops, listed so that a new event type or phase forces a decision (a test checks that
# TRANSITIONS and IGNORED cover every pair exactly once):
# late or duplicate signs (a second AgentLeft for the same departure, a hangup after the call ended),
# requests that make no sense in the phase (a transfer with no agent), hold signalling outside a
# conversation, and a failed start reported after the segment was already stopped.
_LATE_OR_MEANINGLESS = (AgentLeft, TransferRequested, RequeueRequested, HoldStarted, HoldEnded,
                        RecordingFailed)
IGNORED: frozenset[tuple[Phase, type]] = frozenset({
    *((P.NEW, e) for e in (AnnouncementFinished, ClientIdentified, AgentJoined, *_LATE_OR_MEANINGLESS)),
    *((P.ANNOUNCING, e) for e in (CallArrived, ClientIdentified, *_LATE_OR_MEANINGLESS)),
    *((P.IDENTIFYING, e) for e in (CallArrived, AnnouncementFinished, *_LATE_OR_MEANINGLESS)),
    *((P.WAITING, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified,
                               *_LATE_OR_MEANINGLESS)),
    *((P.CONNECTED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified)),
    *((P.TRANSFERRED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified,
                                   *_LATE_OR_MEANINGLESS)),
    *((P.ENDED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified, CallerLeft,
                             *_LATE_OR_MEANINGLESS)),
})


def initial_state(call_id: UUID) -> CallState:
    return CallState(call_id=call_id)


def decide(state: CallState, event: Event) -> Decision:
    """Apply one event; return the new state and the commands for the shell, in order."""
    key = (state.phase, type(event))
    handler = TRANSITIONS.get(key)
    if handler is not None:
        return handler(state, event)
    if key in IGNORED:
        return state, ()
    raise UnexpectedEvent(f"{type(event).__name__} in phase {state.phase}")
