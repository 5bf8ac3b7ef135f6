"""What a restarted controller does with each open call, from the evidence and Asterisk's state."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from callrec.controller import recovery as r
from callrec.store import AgentLeg, Announcement, Call, CallDetail, Recording

CALL = UUID(int=7)
T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CALLER, AGENT = "caller-ch", "callrec-agent-1"
MIX = r.mix_bridge_id(CALL)


def detail(*, announced: bool = True, leg_left: bool = False,
           recording_status: str | None = "recording", direction: str = "inbound") -> CallDetail:
    call = Call(CALL, direction, "555", "1234", "general", None, CALLER, T, None, None, None, None)
    leg = AgentLeg(UUID(int=1), CALL, "alice", AGENT, T, T, T, T if leg_left else None,
                   "agent_hangup" if leg_left else None, None)
    recordings = () if recording_status is None else (Recording(
        UUID(int=2), CALL, leg.id, 1, "callrec-x", "m", "c", "a", None, T, None, None, None, None,
        None, None, recording_status),)
    announcement = Announcement(UUID(int=3), CALL, "inbound_announcement", "p", None, T, T,
                                "finished" if announced else None)
    return CallDetail(call, (), (leg,), recordings, (), (announcement,), ())


def live(*channels: str, mix: tuple[str, ...] = ()) -> r.LiveView:
    return r.LiveView(frozenset(channels), {MIX: frozenset(mix)})


@pytest.mark.parametrize(
    ("evidence", "asterisk", "expected", "interrupted"),
    [
        (detail(), live(), r.EndCall, 1),
        (detail(), live(CALLER, AGENT, mix=(CALLER, AGENT)), r.ResumeConnected, 0),
        (detail(), live(CALLER, mix=(CALLER,)), r.Requeue, 1),
        (detail(leg_left=True), live(CALLER, AGENT, mix=(CALLER, AGENT)), r.Requeue, 1),
        (detail(recording_status="complete"), live(CALLER), r.Requeue, 0),
        (detail(announced=False, recording_status=None), live(CALLER), r.Restart, 0),
        (detail(direction="outbound"), live(CALLER, AGENT, mix=(CALLER, AGENT)),
         r.ResumeConnected, 0),
        (detail(direction="outbound", recording_status=None, announced=False), live(CALLER),
         r.EndCall, 0),
        (detail(direction="outbound"), live(CALLER, mix=(CALLER,)), r.EndCall, 1),
    ],
    ids=["caller-gone", "both-in-bridge", "agent-gone", "leg-already-left", "nothing-open",
         "announcement-unfinished", "outbound-talking", "outbound-being-screened",
         "outbound-agent-gone"],
)
def test_plan(evidence: CallDetail, asterisk: r.LiveView, expected: type,
              interrupted: int) -> None:
    plan = r.plan(evidence, asterisk)
    assert isinstance(plan, expected)
    assert len(getattr(plan, "interrupted", ())) == interrupted


def test_resuming_adopts_the_running_segment_of_the_agent_in_the_bridge() -> None:
    plan = r.plan(detail(), live(CALLER, AGENT, mix=(CALLER, AGENT)))
    assert isinstance(plan, r.ResumeConnected)
    assert plan.leg.channel_id == AGENT and plan.recording is not None
    assert plan.recording.id == UUID(int=2)


def test_an_agent_alive_but_outside_our_bridge_is_not_resumed() -> None:
    assert isinstance(r.plan(detail(), live(CALLER, AGENT, mix=(CALLER,))), r.Requeue)
