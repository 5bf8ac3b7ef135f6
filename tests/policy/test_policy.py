"""The recording policy, as a specification.

Table tests walk a call through the phases; property tests throw arbitrary event orders at it and check
the two rules the product exists for: never recording while no agent is in the bridge, never starting a
recording before the announcement ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec import policy as p
from callrec.policy import Phase, StopReason

CALL = UUID(int=1)
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def joined(n: int = 1, channel: str = "agent-1") -> p.AgentJoined:
    return p.AgentJoined(at(10 + n), UUID(int=100 + n), channel, f"agent{n}", UUID(int=200 + n),
                         f"mm-{n}")


def run(events: list[p.Event], state: p.CallState | None = None) -> tuple[p.CallState, list]:
    state = state or p.initial_state(CALL)
    out: list = []
    for event in events:
        state, commands = p.decide(state, event)
        out.extend(commands)
    return state, out


def kinds(commands: list) -> list[type]:
    return [type(c) for c in commands if not isinstance(c, p.NotePhase)]


WAITING = [p.CallArrived(at(0)), p.AnnouncementFinished(at(5)), p.ClientIdentified(at(8), "123")]


def connected() -> p.CallState:
    return run([*WAITING, joined()])[0]


# --------------------------------------------------------------------------------------- the table
def test_every_phase_and_event_pair_is_decided_exactly_once() -> None:
    pairs = {(phase, event) for phase in Phase for event in p.EVENT_TYPES}
    assert set(p.TRANSITIONS) | set(p.IGNORED) == pairs
    assert not set(p.TRANSITIONS) & set(p.IGNORED)


@pytest.mark.parametrize(
    ("events", "phase", "expected"),
    [
        ([p.CallArrived(at(0))], Phase.ANNOUNCING, [p.PlayAnnouncement]),
        (WAITING[:2], Phase.IDENTIFYING, [p.PlayAnnouncement, p.CloseAnnouncement,
                                          p.CollectClientNumber]),
        (WAITING, Phase.WAITING, [p.PlayAnnouncement, p.CloseAnnouncement, p.CollectClientNumber,
                                  p.Enqueue]),
        ([*WAITING, joined()], Phase.CONNECTED, [p.PlayAnnouncement, p.CloseAnnouncement,
                                                 p.CollectClientNumber, p.Enqueue, p.StartRecording]),
    ],
    ids=["arrival-plays-announcement", "announcement-then-number", "number-then-queue",
         "agent-joins-recording-starts"],
)
def test_inbound_flow(events: list, phase: Phase, expected: list[type]) -> None:
    state, commands = run(events)
    assert state.phase is phase
    assert kinds(commands) == expected


def test_unidentified_caller_still_queues() -> None:
    state, commands = run([*WAITING[:2], p.ClientIdentified(at(9), None)])
    assert state.phase is Phase.WAITING
    assert kinds(commands)[-1] is p.Enqueue


@pytest.mark.parametrize(
    ("reason", "phase", "tail"),
    [
        (StopReason.AGENT_HANGUP, Phase.ENDED,
         [p.StopRecording, p.NoteAgentLeft, p.ReleaseAgent, p.HangupCaller, p.EndCall]),
        (StopReason.LEFT_BRIDGE, Phase.UNATTENDED,
         [p.StopRecording, p.NoteAgentLeft, p.StartSettleTimer]),
        (StopReason.BLIND_TRANSFER, Phase.TRANSFERRED,
         [p.StopRecording, p.NoteAgentLeft, p.NoteTransfer, p.ReleaseAgent]),
        (StopReason.ATTENDED_TRANSFER, Phase.TRANSFERRED,
         [p.StopRecording, p.NoteAgentLeft, p.NoteTransfer, p.ReleaseAgent]),
    ],
)
def test_agent_leaving_stops_the_recording_first(reason: StopReason, phase: Phase,
                                                  tail: list[type]) -> None:
    state, commands = p.decide(connected(), p.AgentLeft(at(30), "agent-1", reason))
    assert state.phase is phase
    assert state.recording is None and state.agent is None
    assert kinds(list(commands)) == tail
    stop = commands[0]
    assert isinstance(stop, p.StopRecording) and stop.reason is reason and stop.at == at(30)


@pytest.mark.parametrize(
    ("explanation", "phase", "tail"),
    [
        (StopReason.BLIND_TRANSFER, Phase.TRANSFERRED,
         [p.ExplainDeparture, p.NoteTransfer, p.ReleaseAgent]),
        (StopReason.ATTENDED_TRANSFER, Phase.TRANSFERRED,
         [p.ExplainDeparture, p.NoteTransfer, p.ReleaseAgent]),
        (StopReason.AGENT_HANGUP, Phase.ENDED,
         [p.ExplainDeparture, p.ReleaseAgent, p.HangupCaller, p.EndCall]),
    ],
)
def test_a_late_explanation_of_the_departure_decides_the_callers_fate(
        explanation: StopReason, phase: Phase, tail: list[type]) -> None:
    state, _ = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.LEFT_BRIDGE))
    state, commands = p.decide(state, p.AgentLeft(at(30.05), "agent-1", explanation, "2000"))
    assert state.phase is phase
    assert kinds(list(commands)) == tail  # no second StopRecording


def test_an_unexplained_departure_requeues_the_caller_when_the_timer_fires() -> None:
    state, _ = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.LEFT_BRIDGE))
    state, commands = p.decide(state, p.SettleTimeout(at(32)))
    assert state.phase is Phase.WAITING and kinds(list(commands)) == [p.ReleaseAgent, p.Enqueue]


def test_an_unexplained_departure_with_a_replacement_in_the_bridge_is_a_transfer() -> None:
    state, _ = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.LEFT_BRIDGE))
    state, commands = p.decide(state, p.SettleTimeout(at(32), replaced=True))
    assert state.phase is Phase.TRANSFERRED
    assert kinds(list(commands)) == [p.NoteTransfer, p.ReleaseAgent]


def test_the_transfer_target_hanging_up_ends_the_call() -> None:
    state, _ = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.BLIND_TRANSFER))
    state, commands = p.decide(state, p.TransfereeLeft(at(60)))
    assert state.phase is Phase.ENDED and p.HangupCaller in kinds(list(commands))


def test_transfer_target_is_noted() -> None:
    _, commands = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.BLIND_TRANSFER,
                                                    target="2000"))
    [note] = [c for c in commands if isinstance(c, p.NoteTransfer)]
    assert (note.kind, note.target) == ("blind", "2000")


def test_second_sign_of_the_same_departure_is_ignored() -> None:
    state, first = p.decide(connected(), p.AgentLeft(at(30), "agent-1", StopReason.BLIND_TRANSFER))
    state, second = p.decide(state, p.AgentLeft(at(30.1), "agent-1", StopReason.AGENT_HANGUP))
    assert sum(isinstance(c, p.StopRecording) for c in (*first, *second)) == 1


def test_sign_from_a_stale_agent_channel_is_ignored() -> None:
    state = connected()
    assert p.decide(state, p.AgentLeft(at(30), "someone-else", StopReason.AGENT_HANGUP)) == (state, ())


def test_controller_transfer_stops_before_moving_the_caller() -> None:
    state, commands = p.decide(connected(), p.TransferRequested(at(40), "PJSIP/2000"))
    order = kinds(list(commands))
    assert order.index(p.StopRecording) < order.index(p.TransferCaller)
    assert state.phase is Phase.TRANSFERRED and state.recording is None


def test_a_refer_left_to_the_controller_is_stopped_and_noted_as_blind() -> None:
    _, commands = p.decide(connected(), p.TransferRequested(at(40), "Local/2000@ctx",
                                                            StopReason.BLIND_TRANSFER))
    [stop] = [c for c in commands if isinstance(c, p.StopRecording)]
    [note] = [c for c in commands if isinstance(c, p.NoteTransfer)]
    assert stop.reason is StopReason.BLIND_TRANSFER and (note.kind, note.target) == (
        "blind", "Local/2000@ctx")
    assert kinds(list(commands)).index(p.StopRecording) < kinds(list(commands)).index(
        p.TransferCaller)


def test_requeue_starts_a_new_segment_without_a_second_announcement() -> None:
    state, commands = p.decide(connected(), p.RequeueRequested(at(40)))
    assert state.phase is Phase.WAITING and p.PlayAnnouncement not in kinds(list(commands))
    state, commands = p.decide(state, joined(2, "agent-2"))
    [start] = [c for c in commands if isinstance(c, p.StartRecording)]
    assert start.segment.number == 2 and start.segment.agent_channel_id == "agent-2"


def test_caller_hangup_while_connected_stops_and_releases_agent() -> None:
    state, commands = p.decide(connected(), p.CallerLeft(at(50)))
    assert kinds(list(commands)) == [p.StopRecording, p.NoteAgentLeft, p.ReleaseAgent, p.EndCall]
    assert state.phase is Phase.ENDED


@pytest.mark.parametrize(
    ("events", "outcome", "announcement"),
    [
        ([p.CallArrived(at(0))], "caller_hangup_during_announcement", "caller_hung_up"),
        (WAITING[:2], "caller_hangup_while_identifying", None),
        (WAITING, "caller_hangup_while_waiting", None),
    ],
)
def test_caller_hangup_before_an_agent_records_nothing(events: list, outcome: str,
                                                       announcement: str | None) -> None:
    state, before = run(events)
    state, commands = p.decide(state, p.CallerLeft(at(20)))
    end = commands[-1]
    assert isinstance(end, p.EndCall) and (end.outcome, end.reason) == ("abandoned", outcome)
    closes = [c.outcome for c in commands if isinstance(c, p.CloseAnnouncement)]
    assert closes == ([announcement] if announcement else [])
    assert not any(isinstance(c, p.StartRecording) for c in (*before, *commands))


def test_hold_plays_music_to_the_caller_and_is_noted_against_the_recording() -> None:
    state, on = p.decide(connected(), p.HoldStarted(at(20)))
    state, off = p.decide(state, p.HoldEnded(at(25)))
    assert [type(c) for c in on] == [p.NoteHold, p.CallerMusic]
    assert [type(c) for c in off] == [p.NoteHold, p.CallerMusic]
    assert on[0].recording_id == UUID(int=201) and on[0].started and not off[0].started


def test_agent_leaving_on_hold_stops_first_then_closes_the_hold_at_the_same_instant() -> None:
    state, _ = p.decide(connected(), p.HoldStarted(at(20)))
    _, commands = p.decide(state, p.AgentLeft(at(30), "agent-1", StopReason.AGENT_HANGUP))
    assert kinds(list(commands))[:3] == [p.StopRecording, p.NoteHold, p.CallerMusic]
    assert commands[0].at == commands[1].at == at(30)


def test_agent_before_the_announcement_ended_is_refused() -> None:
    state, commands = run([p.CallArrived(at(0)), joined()])
    assert state.recording is None
    assert kinds(commands) == [p.PlayAnnouncement, p.Alarm, p.ReleaseAgent]


def test_failed_start_clears_the_segment() -> None:
    state, commands = p.decide(connected(), p.RecordingFailed(at(12), "mm-1", "no such channel"))
    assert state.recording is None and isinstance(commands[0], p.Alarm)


# ------------------------------------------------------------------------------------ the invariants
def events_strategy() -> st.SearchStrategy[list[p.Event]]:
    times = st.floats(0, 600).map(at)
    channels = st.sampled_from(["agent-1", "agent-2", "agent-3"])
    joins = st.builds(lambda t, n, ch: p.AgentJoined(t, UUID(int=n), ch, f"a{n}", UUID(int=1000 + n),
                                                     f"mm-{n}"), times, st.integers(1, 9), channels)
    event = st.one_of(
        st.builds(p.CallArrived, times), st.builds(p.AnnouncementFinished, times),
        st.builds(p.ClientIdentified, times, st.one_of(st.none(), st.text(max_size=5))),
        joins, st.builds(p.AgentLeft, times, channels, st.sampled_from(list(StopReason))),
        st.builds(p.TransferRequested, times, st.just("PJSIP/2000")),
        st.builds(p.RequeueRequested, times), st.builds(p.HoldStarted, times),
        st.builds(p.HoldEnded, times), st.builds(p.CallerLeft, times),
        st.builds(p.SettleTimeout, times, st.booleans()), st.builds(p.TransfereeLeft, times),
        st.builds(p.RecordingFailed, times, st.sampled_from(["mm-1", "mm-2"]), st.just("x")),
    )
    return st.lists(event, max_size=40)


@settings(max_examples=500)
@given(events_strategy())
def test_never_recording_while_no_agent_is_in_the_bridge(events: list[p.Event]) -> None:
    state = p.initial_state(CALL)
    running: set[str] = set()
    for event in events:
        state, commands = p.decide(state, event)
        for command in commands:
            if isinstance(command, p.StartRecording):
                running.add(command.segment.mixmonitor_id)
            elif isinstance(command, p.StopRecording):
                running.discard(command.segment.mixmonitor_id)
        assert not state.recording_without_agent
        if state.agent is None:
            # The shell's view: every segment it was told to start has been told to stop,
            # except one whose start failed (the policy dropped it on RecordingFailed).
            assert state.recording is None
            assert running <= {e.mixmonitor_id for e in events if isinstance(e, p.RecordingFailed)}


@settings(max_examples=500)
@given(events_strategy())
def test_never_starts_recording_before_the_announcement_ended(events: list[p.Event]) -> None:
    state = p.initial_state(CALL)
    for event in events:
        announced = state.announced
        state, commands = p.decide(state, event)
        if any(isinstance(c, p.StartRecording) for c in commands):
            assert announced


@settings(max_examples=300)
@given(events_strategy())
def test_each_segment_is_stopped_at_most_once(events: list[p.Event]) -> None:
    state = p.initial_state(CALL)
    stops: list[int] = []
    for event in events:
        state, commands = p.decide(state, event)
        stops += [c.segment.number for c in commands if isinstance(c, p.StopRecording)]
    assert len(stops) == len(set(stops))
