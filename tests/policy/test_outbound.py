"""The outbound policy, as a specification: agent first and muted, the client dialled only then, a
person recorded from the disclosure on, a machine left a message and never recorded."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec import policy as p
from callrec.policy import Phase, StopReason
from tests.policy.test_policy import at, kinds, run

AGENT = "agent-1"


def agent_in(n: int = 1, channel: str = AGENT) -> p.AgentJoined:
    return p.AgentJoined(at(2 + n), UUID(int=100 + n), channel, f"agent{n}", UUID(int=900 + n),
                         f"unused-{n}")


def answered(verdict: str = "HUMAN", t: float = 10) -> p.ClientAnswered:
    return p.ClientAnswered(at(t), verdict, UUID(int=500), "mm-out")


DIALING = [p.DialStarted(at(0)), agent_in()]


def talking() -> p.CallState:
    return run([*DIALING, answered()])[0]


def test_the_agent_is_fetched_first_then_muted_and_only_then_is_the_client_dialled() -> None:
    state, commands = run([p.DialStarted(at(0))])
    assert (state.phase, kinds(commands)) == (Phase.DIALING, [p.FetchAgent])
    state, commands = run([agent_in()], state)
    assert kinds(commands) == [p.MuteAgent, p.DialClient]
    assert commands[0] == p.MuteAgent(AGENT, True)
    assert state.recording is None


def test_a_person_joins_then_recording_starts_then_the_disclosure_plays() -> None:
    state, commands = run([*DIALING, answered()])
    assert kinds(commands)[-3:] == [p.BridgeClient, p.StartRecording, p.PlayDisclosure]
    assert state.phase is Phase.CONNECTED and state.disclosing and not state.announced
    assert state.recording is not None and state.recording.agent_channel_id == AGENT


def test_the_agent_is_unmuted_when_the_disclosure_ends() -> None:
    state, commands = run([p.DisclosureFinished(at(20))], talking())
    assert commands == [p.CloseAnnouncement("finished", at(20)), p.MuteAgent(AGENT, False)]
    assert state.announced and not state.disclosing


@pytest.mark.parametrize("leaving", [
    p.CallerLeft(at(12)),
    p.AgentLeft(at(12), AGENT, StopReason.AGENT_HANGUP),
    p.TransferRequested(at(12), "PJSIP/2000"),
])
def test_a_conversation_ending_during_the_disclosure_cuts_it_off_after_the_stop(
        leaving: p.Event) -> None:
    state, commands = run([leaving], talking())
    order = kinds(commands)
    assert order[0] is p.StopRecording
    assert p.CloseAnnouncement("cut_off", at(12)) in commands
    if p.EndCall in order:
        assert order.index(p.CloseAnnouncement) < order.index(p.EndCall)
    assert not state.disclosing


def test_after_the_disclosure_the_call_stops_like_an_inbound_one() -> None:
    state, commands = run([p.DisclosureFinished(at(20)), p.CallerLeft(at(30))], talking())
    assert kinds(commands)[2:] == [p.StopRecording, p.NoteAgentLeft, p.ReleaseAgent, p.EndCall]
    assert state.phase is Phase.ENDED


def test_a_machine_frees_the_agent_and_gets_the_voicemail_unrecorded() -> None:
    state, commands = run([*DIALING, answered("MACHINE")])
    assert kinds(commands)[-3:] == [p.NoteAgentLeft, p.ReleaseAgent, p.LeaveVoicemail]
    assert not any(isinstance(c, (p.StartRecording, p.BridgeClient)) for c in commands)
    assert state.phase is Phase.VOICEMAIL and state.agent is None
    state, commands = run([p.VoicemailLeft(at(30), True)], state)
    assert commands[-1] == p.EndCall("voicemail", "machine_voicemail_left", at(30))


def test_a_machine_hanging_up_during_the_message_ends_the_call() -> None:
    state = run([*DIALING, answered("MACHINE"), p.CallerLeft(at(20))])[0]
    assert state.phase is Phase.ENDED
    assert run([p.VoicemailLeft(at(25), True)], state)[1] == []


@pytest.mark.parametrize("verdict", ["NOTSURE", "HANGUP", ""])
def test_an_unsure_verdict_hangs_up_without_recording_or_message(verdict: str) -> None:
    _, commands = run([answered(verdict)], run(DIALING)[0])
    assert kinds(commands) == [p.NoteAgentLeft, p.ReleaseAgent, p.HangupCaller, p.EndCall]
    assert commands[-1].outcome == "unanswered"


@pytest.mark.parametrize("reason", ["busy", "no_answer", "failed", "no_agent"])
def test_no_answer_ends_the_call_and_lets_the_agent_go(reason: str) -> None:
    state, commands = run([*DIALING, p.DialFailed(at(30), reason)])
    assert commands[-1] == p.EndCall("unanswered", reason, at(30))
    assert p.ReleaseAgent(AGENT) in commands and state.agent is None


def test_the_agent_hanging_up_before_the_client_answers_abandons_the_dial() -> None:
    state, commands = run([*DIALING, p.AgentLeft(at(5), AGENT, StopReason.AGENT_HANGUP)])
    assert kinds(commands)[-3:] == [p.NoteAgentLeft, p.HangupCaller, p.EndCall]
    assert state.phase is Phase.ENDED


def test_the_client_channel_leaving_stasis_for_amd_is_not_a_hangup() -> None:
    state, commands = run([p.CallerLeft(at(6))], run(DIALING)[0])
    assert (state.phase, commands) == (Phase.DIALING, [])


def test_a_person_answering_without_an_agent_is_hung_up_not_recorded() -> None:
    state, commands = run([p.DialStarted(at(0)), answered()])
    assert p.StartRecording not in kinds(commands) and state.phase is Phase.ENDED


# ------------------------------------------------------------------------------------ invariants
def outbound_events() -> st.SearchStrategy[list[p.Event]]:
    times = st.floats(0, 600).map(at)
    channels = st.sampled_from(["agent-1", "agent-2"])
    event = st.one_of(
        st.builds(lambda t, n, ch: p.AgentJoined(t, UUID(int=n), ch, f"a{n}", UUID(int=n),
                                                 f"x{n}"), times, st.integers(1, 5), channels),
        st.builds(p.ClientAnswered, times, st.sampled_from(["HUMAN", "MACHINE", "NOTSURE"]),
                  st.integers(1, 9).map(lambda n: UUID(int=700 + n)),
                  st.integers(1, 9).map(lambda n: f"mm-{n}")),
        st.builds(p.DialFailed, times, st.sampled_from(["busy", "no_answer"])),
        st.builds(p.DisclosureFinished, times), st.builds(p.VoicemailLeft, times, st.booleans()),
        st.builds(p.AgentLeft, times, channels, st.sampled_from(list(StopReason))),
        st.builds(p.CallerLeft, times), st.builds(p.HoldStarted, times),
        st.builds(p.RequeueRequested, times), st.builds(p.SettleTimeout, times, st.booleans()),
        st.builds(p.TransferRequested, times, st.just("PJSIP/2000")),
    )
    return st.lists(event, max_size=30).map(lambda events: [p.DialStarted(at(0)), *events])


@settings(max_examples=500)
@given(outbound_events())
def test_outbound_never_records_without_the_agent_nor_before_the_disclosure(
        events: list[p.Event]) -> None:
    state = p.initial_state(UUID(int=1))
    for event in events:
        before = state
        state, commands = p.decide(state, event)
        assert not state.recording_without_agent
        started = [c for c in commands if isinstance(c, p.StartRecording)]
        if started and before.phase is Phase.DIALING:
            # The first segment: the disclosure follows it in the same breath.
            assert any(isinstance(c, p.PlayDisclosure) for c in commands)
        if any(isinstance(c, p.BridgeClient) for c in commands):
            assert before.agent is not None  # the client never waits alone in the bridge
        if state.phase is Phase.VOICEMAIL:
            assert state.recording is None and state.agent is None
        if not state.disclosing and before.disclosing:
            assert any(isinstance(c, p.CloseAnnouncement) for c in commands)
