"""The outbound half of the recording policy: the dialer's calls, agent first.

An outbound call is recorded under the same rules as an inbound one once a person is on the line
(recording only while the agent is in the bridge, stopped on the first sign the agent left), with
three differences the Ministry's outbound procedure asks for:

* The agent is brought into the bridge BEFORE the client is dialled, and muted: nothing the agent
  says can reach the client before the disclosure has been heard.
* A person answering (AMD said HUMAN) joins the bridge; the recording starts with both parties
  present, and the disclosure is played into the bridge so that it is in the recording. The agent
  is unmuted when it ends. A conversation that ends before then leaves the disclosure "cut off".
* A machine gets the attempt's voicemail script and is hung up on; the agent is let go first and
  nothing is recorded, because a voicemail drop is not a conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .commands import (
    Alarm,
    BridgeClient,
    CloseAnnouncement,
    Command,
    Decision,
    DialClient,
    EndCall,
    FetchAgent,
    Handler,
    HangupCaller,
    LeaveVoicemail,
    MuteAgent,
    NoteAgentLeft,
    NotePhase,
    PlayDisclosure,
    ReleaseAgent,
    StartRecording,
)
from .events import (
    AgentJoined,
    AgentLeft,
    AnnouncementFinished,
    CallArrived,
    CallerLeft,
    ClientAnswered,
    ClientIdentified,
    DialFailed,
    DialStarted,
    DisclosureFinished,
    HoldEnded,
    HoldStarted,
    RecordingFailed,
    RequeueRequested,
    SettleTimeout,
    TransfereeLeft,
    TransferRequested,
    VoicemailLeft,
)
from .rules import _enter, _second_agent, _without_agent
from .state import (
    AgentInBridge,
    CallState,
    Phase,
    Segment,
    StopReason,
)

HUMAN = "HUMAN"
MACHINE = "MACHINE"


def _dial_started(state: CallState, event: DialStarted) -> Decision:
    new = _enter(state, Phase.DIALING, event.at, outbound=True)
    return new, (NotePhase(Phase.DIALING, event.at), FetchAgent())


def _agent_ready(state: CallState, event: AgentJoined) -> Decision:
    if state.agent is not None:
        return _second_agent(state, event)
    agent = AgentInBridge(event.leg_id, event.channel_id, event.agent_name)
    # Muted from the start: the first words the client may hear from the agent come after the
    # disclosure, and a muted agent cannot be overheard during answering-machine detection either.
    return _enter(state, state.phase, event.at, agent=agent), (
        MuteAgent(event.channel_id, True), DialClient())


def _let_agent_go(state: CallState, at: datetime) -> tuple[Command, ...]:
    if state.agent is None:
        return ()
    return (NoteAgentLeft(state.agent.leg_id, StopReason.CLIENT_UNREACHED, at),
            ReleaseAgent(state.agent.channel_id))


def _client_answered(state: CallState, event: ClientAnswered) -> Decision:
    if state.agent is None:  # the shell dials only once the agent is in: a bug, never record it
        new = _without_agent(state, Phase.ENDED, event.at)
        return new, (Alarm("client answered with no agent in the bridge; hung up"), HangupCaller(),
                     NotePhase(Phase.ENDED, event.at),
                     EndCall("failed", "client_answered_without_agent", event.at))
    if event.verdict == HUMAN:
        return _person(state, event)
    released = _let_agent_go(state, event.at)
    if event.verdict == MACHINE:
        new = _without_agent(state, Phase.VOICEMAIL, event.at)
        return new, (*released, NotePhase(Phase.VOICEMAIL, event.at), LeaveVoicemail())
    # NOTSURE, HANGUP or anything else: nobody to speak to and no greeting known to have ended.
    new = _without_agent(state, Phase.ENDED, event.at)
    return new, (*released, HangupCaller(), NotePhase(Phase.ENDED, event.at),
                 EndCall("unanswered", f"amd_{event.verdict.lower() or 'unknown'}", event.at))


def _person(state: CallState, event: ClientAnswered) -> Decision:
    assert state.agent is not None
    segment = Segment(event.recording_id, event.mixmonitor_id, state.segments + 1,
                      state.agent.channel_id, event.at)
    new = _enter(state, Phase.CONNECTED, event.at, recording=segment, segments=segment.number,
                 disclosing=True)
    # Client in, recording on, THEN the disclosure: it is the first thing in the file.
    return new, (NotePhase(Phase.CONNECTED, event.at), BridgeClient(),
                 StartRecording(segment, state.agent.leg_id), PlayDisclosure(event.at))


def _dial_failed(state: CallState, event: DialFailed) -> Decision:
    new = _without_agent(state, Phase.ENDED, event.at)
    return new, (*_let_agent_go(state, event.at), HangupCaller(), NotePhase(Phase.ENDED, event.at),
                 EndCall("unanswered", event.reason, event.at))


def _agent_gone_before_client(state: CallState, event: AgentLeft) -> Decision:
    if state.agent is None or event.channel_id != state.agent.channel_id:
        return state, ()
    new = _without_agent(state, Phase.ENDED, event.at)
    return new, (NoteAgentLeft(state.agent.leg_id, event.reason, event.at), HangupCaller(),
                 NotePhase(Phase.ENDED, event.at),
                 EndCall("abandoned", "agent_left_before_client_answered", event.at))


def _disclosed(state: CallState, event: DisclosureFinished) -> Decision:
    if not state.disclosing:
        return state, ()
    new = _enter(state, state.phase, event.at, disclosing=False, announced=True)
    commands: tuple[Command, ...] = (CloseAnnouncement("finished", event.at),)
    if state.agent is not None:
        commands += (MuteAgent(state.agent.channel_id, False),)
    return new, commands


def _voicemail_done(state: CallState, event: VoicemailLeft) -> Decision:
    new = _enter(state, Phase.ENDED, event.at)
    reason = "machine_voicemail_left" if event.left else "machine_no_message"
    return new, (HangupCaller(), NotePhase(Phase.ENDED, event.at),
                 EndCall("voicemail", reason, event.at))


def _machine_hung_up(state: CallState, event: CallerLeft) -> Decision:
    return _enter(state, Phase.ENDED, event.at), (
        NotePhase(Phase.ENDED, event.at), EndCall("voicemail", "machine_hung_up", event.at))


def cut_off_disclosure(before: CallState, after: CallState, commands: tuple[Command, ...],
                       at: datetime) -> Decision:
    """Applied to every decision taken while the disclosure plays: a call that leaves the
    conversation (the client or the agent gone, a transfer, a requeue) before it finished leaves it
    cut off. Noted after the stop (every millisecond counts there) and before the call's end."""
    if not before.disclosing or after.phase is Phase.CONNECTED:
        return after, commands  # still playing, or DisclosureFinished just closed it
    ends = [i for i, c in enumerate(commands) if isinstance(c, EndCall)]
    cut = ends[0] if ends else len(commands)
    return (_enter(after, after.phase, at, disclosing=False),
            (*commands[:cut], CloseAnnouncement("cut_off", at), *commands[cut:]))


P = Phase
OUTBOUND_TRANSITIONS: Mapping[tuple[Phase, type], Handler] = {
    (P.NEW, DialStarted): _dial_started,
    (P.NEW, DialFailed): _dial_failed,
    (P.DIALING, AgentJoined): _agent_ready,
    (P.DIALING, ClientAnswered): _client_answered,
    (P.DIALING, DialFailed): _dial_failed,
    (P.DIALING, AgentLeft): _agent_gone_before_client,
    (P.CONNECTED, DisclosureFinished): _disclosed,
    (P.VOICEMAIL, VoicemailLeft): _voicemail_done,
    (P.VOICEMAIL, CallerLeft): _machine_hung_up,
    (P.VOICEMAIL, AgentJoined): _second_agent,
}

_OUTBOUND_ONLY = (DialStarted, ClientAnswered, DialFailed, DisclosureFinished, VoicemailLeft)
_INBOUND_PHASES = (P.NEW, P.ANNOUNCING, P.IDENTIFYING, P.WAITING, P.CONNECTED, P.UNATTENDED,
                   P.TRANSFERRED, P.ENDED)
# While dialling, a CallerLeft is the client's channel leaving Stasis for AMD or a ring that failed:
# the shell reports both as ClientAnswered / DialFailed. Inbound requests make no sense yet.
_DIALING_IGNORES = (CallArrived, AnnouncementFinished, ClientIdentified, TransferRequested,
                    RequeueRequested, HoldStarted, HoldEnded, RecordingFailed, CallerLeft,
                    SettleTimeout, TransfereeLeft, DialStarted, DisclosureFinished, VoicemailLeft)
# Leaving a voicemail: the agent is gone and nothing is recorded; only the end of the message or
# the machine hanging up matter.
_VOICEMAIL_IGNORES = (CallArrived, AnnouncementFinished, ClientIdentified, AgentLeft,
                      TransferRequested, RequeueRequested, HoldStarted, HoldEnded, RecordingFailed,
                      SettleTimeout, TransfereeLeft, DialStarted, ClientAnswered, DialFailed,
                      DisclosureFinished)
# The dialer's events in an inbound phase: late (a verdict after the call ended, the disclosure
# finishing after the client hung up) or meaningless for a call that is not the dialer's.
OUTBOUND_IGNORED: frozenset[tuple[Phase, type]] = frozenset({
    *((phase, e) for phase in _INBOUND_PHASES for e in _OUTBOUND_ONLY
      if (phase, e) not in OUTBOUND_TRANSITIONS),
    *((P.DIALING, e) for e in _DIALING_IGNORES),
    *((P.VOICEMAIL, e) for e in _VOICEMAIL_IGNORES),
})
