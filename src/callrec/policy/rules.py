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

Transitions are data: :data:`INBOUND_TRANSITIONS` maps ``(phase, event type)`` to a handler and
:data:`INBOUND_IGNORED` lists the pairs that deliberately do nothing; :mod:`.outbound` adds the dialer's
phases, and :mod:`.table` joins both. A test checks every pair is in exactly one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from .commands import (
    Alarm,
    CallerMusic,
    CloseAnnouncement,
    CollectClientNumber,
    Command,
    Decision,
    EndCall,
    Enqueue,
    ExplainDeparture,
    Handler,
    HangupCaller,
    NoteAgentLeft,
    NoteHold,
    NotePhase,
    NoteTransfer,
    PlayAnnouncement,
    ReleaseAgent,
    StartRecording,
    StartSettleTimer,
    StopRecording,
    TransferCaller,
)
from .events import (
    AgentJoined,
    AgentLeft,
    AnnouncementFinished,
    CallArrived,
    CallerLeft,
    ClientIdentified,
    HoldEnded,
    HoldStarted,
    RecordingFailed,
    RequeueRequested,
    SettleTimeout,
    TransfereeLeft,
    TransferRequested,
)
from .state import (
    TRANSFER_KINDS,
    AgentInBridge,
    CallState,
    Phase,
    Segment,
    StopReason,
)


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
    """Everything that must happen the moment the agent is gone, in order: the stop first, then the
    hold closed (at the same instant) and the departure noted."""
    assert state.agent is not None
    commands: list[Command] = []
    if state.recording is not None:
        commands.append(StopRecording(state.recording, reason, at))  # first: every ms counts
    if state.on_hold:
        rec = state.recording.recording_id if state.recording else None
        commands += [NoteHold(False, rec, at), CallerMusic(False)]
    commands.append(NoteAgentLeft(state.agent.leg_id, reason, at))
    if reason in TRANSFER_KINDS:
        commands.append(NoteTransfer(TRANSFER_KINDS[reason], state.agent.leg_id, None, at))
    return tuple(commands)


def _without_agent(state: CallState, phase: Phase, at: datetime, **changes: object) -> CallState:
    return _enter(state, phase, at, agent=None, recording=None, on_hold=False, **changes)


def _agent_left(state: CallState, event: AgentLeft) -> Decision:
    assert state.agent is not None
    if event.channel_id != state.agent.channel_id:
        return state, ()  # a late sign from an earlier agent: that segment was stopped already
    commands = _with_target(_stop(state, event.reason, event.at), event.target)
    if event.reason is StopReason.LEFT_BRIDGE:
        # Stop now, decide the caller's fate when the cause shows up (a blind REFER can report the
        # agent leaving the bridge before BridgeBlindTransfer names it) or the settle timer fires.
        new = _without_agent(state, Phase.UNATTENDED, event.at, departed=state.agent)
        return new, (*commands, NotePhase(Phase.UNATTENDED, event.at), StartSettleTimer())
    return _after_departure(_without_agent(state, state.phase, event.at), state.agent, event,
                            commands)


def _departure_explained(state: CallState, event: AgentLeft) -> Decision:
    assert state.departed is not None
    if event.channel_id != state.departed.channel_id or event.reason is StopReason.LEFT_BRIDGE:
        return state, ()
    notes: tuple[Command, ...] = (ExplainDeparture(state.departed.leg_id, event.reason),)
    if event.reason in TRANSFER_KINDS:
        notes += (NoteTransfer(TRANSFER_KINDS[event.reason], state.departed.leg_id, event.target,
                               event.at),)
    return _after_departure(state, state.departed, event, notes)


def _after_departure(state: CallState, agent: AgentInBridge, event: AgentLeft,
                     commands: tuple[Command, ...]) -> Decision:
    released = (*commands, ReleaseAgent(agent.channel_id))
    if event.reason in (StopReason.BLIND_TRANSFER, StopReason.ATTENDED_TRANSFER):
        # The caller now talks to the transfer target inside our bridge: stays unrecorded.
        new = _enter(state, Phase.TRANSFERRED, event.at, departed=None)
        return new, (*released, NotePhase(Phase.TRANSFERRED, event.at))
    # The agent hung up: the conversation is over for the caller too.
    new = _enter(state, Phase.ENDED, event.at, departed=None)
    return new, (*released, NotePhase(Phase.ENDED, event.at), HangupCaller(),
                 EndCall("completed", event.reason.value, event.at))


def _settled(state: CallState, event: SettleTimeout) -> Decision:
    assert state.departed is not None
    if event.replaced:
        # Someone took the agent's place but no transfer event named it: still a transfer (a REFER
        # without Replaces is the common case); the caller stays with the new party, unrecorded.
        return _after_departure(state, state.departed, AgentLeft(
            event.at, state.departed.channel_id, StopReason.BLIND_TRANSFER),
            (NoteTransfer("blind", state.departed.leg_id, None, event.at),))
    # Nobody explained the departure: put the caller back in the queue rather than drop them.
    new = _enter(state, Phase.WAITING, event.at, departed=None)
    return new, (ReleaseAgent(state.departed.channel_id), NotePhase(Phase.WAITING, event.at),
                 Enqueue())


def _with_target(commands: tuple[Command, ...], target: str | None) -> tuple[Command, ...]:
    if target is None:
        return commands
    return tuple(replace(c, target=target) if isinstance(c, NoteTransfer) else c for c in commands)


def _controller_transfer(state: CallState, event: TransferRequested) -> Decision:
    assert state.agent is not None
    # Stop BEFORE the caller is moved, so nothing the target says can reach the file.
    commands = _with_target(_stop(state, event.reason, event.at), event.target)
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


def _unattended_transfer(state: CallState, event: TransferRequested) -> Decision:
    assert state.departed is not None
    new = _enter(state, Phase.TRANSFERRED, event.at, departed=None)
    return new, (NoteTransfer("controller", state.departed.leg_id, event.target, event.at),
                 ReleaseAgent(state.departed.channel_id), TransferCaller(event.target),
                 NotePhase(Phase.TRANSFERRED, event.at))


def _unattended_requeue(state: CallState, event: RequeueRequested) -> Decision:
    return _settled(state, SettleTimeout(event.at))


def _transferee_left(state: CallState, event: TransfereeLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        NotePhase(Phase.ENDED, event.at), HangupCaller(),
        EndCall("transferred", "transfer_target_hangup", event.at))


def _caller_left_unattended(state: CallState, event: CallerLeft) -> Decision:
    assert state.departed is not None
    new = _enter(state, Phase.ENDED, event.at, departed=None)
    return new, (ReleaseAgent(state.departed.channel_id), NotePhase(Phase.ENDED, event.at),
                 EndCall("completed", "caller_hangup", event.at))


def _caller_left_transferred(state: CallState, event: CallerLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        NotePhase(Phase.ENDED, event.at), EndCall("transferred", "caller_hangup", event.at))


# ------------------------------------------------------------------------------------------- the table
P = Phase
INBOUND_TRANSITIONS: Mapping[tuple[Phase, type], Handler] = {
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
    (P.UNATTENDED, AgentLeft): _departure_explained,
    (P.UNATTENDED, SettleTimeout): _settled,
    (P.UNATTENDED, TransferRequested): _unattended_transfer,
    (P.UNATTENDED, RequeueRequested): _unattended_requeue,
    (P.UNATTENDED, CallerLeft): _caller_left_unattended,
    (P.UNATTENDED, AgentJoined): _second_agent,
    (P.TRANSFERRED, AgentJoined): _second_agent,
    (P.TRANSFERRED, TransfereeLeft): _transferee_left,
    (P.TRANSFERRED, CallerLeft): _caller_left_transferred,
    (P.ENDED, AgentJoined): _second_agent,
}

# Deliberate no-ops, listed so that a new event type or phase forces a decision (a test checks that
# TRANSITIONS and IGNORED cover every pair exactly once):
# late or duplicate signs (a second AgentLeft for the same departure, a hangup after the call ended),
# requests that make no sense in the phase (a transfer with no agent), hold signalling outside a
# conversation, and a failed start reported after the segment was already stopped.
_LATE_OR_MEANINGLESS = (AgentLeft, TransferRequested, RequeueRequested, HoldStarted, HoldEnded,
                        RecordingFailed, SettleTimeout, TransfereeLeft)
INBOUND_IGNORED: frozenset[tuple[Phase, type]] = frozenset({
    *((P.NEW, e) for e in (AnnouncementFinished, ClientIdentified, AgentJoined, *_LATE_OR_MEANINGLESS)),
    *((P.ANNOUNCING, e) for e in (CallArrived, ClientIdentified, *_LATE_OR_MEANINGLESS)),
    *((P.IDENTIFYING, e) for e in (CallArrived, AnnouncementFinished, *_LATE_OR_MEANINGLESS)),
    *((P.WAITING, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified,
                               *_LATE_OR_MEANINGLESS)),
    *((P.CONNECTED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified,
                                 SettleTimeout, TransfereeLeft)),
    *((P.UNATTENDED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified,
                                  HoldStarted, HoldEnded, RecordingFailed, TransfereeLeft)),
    *((P.TRANSFERRED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified, AgentLeft,
                                   TransferRequested, RequeueRequested, HoldStarted, HoldEnded,
                                   RecordingFailed, SettleTimeout)),
    *((P.ENDED, e) for e in (CallArrived, AnnouncementFinished, ClientIdentified, CallerLeft,
                             *_LATE_OR_MEANINGLESS)),
})
