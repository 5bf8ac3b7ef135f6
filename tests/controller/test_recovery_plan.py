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
           recording_status: str | None = "recording", direction: str = "inbound",
           told: bool = True) -> CallDetail:
    """One call's evidence; outbound, its announcement is the disclosure (``told``: its row was
    written; ``announced``: it finished)."""
    call = Call(CALL, direction, "555", "1234", "general", None, CALLER, T, None, None, None, None)
    leg = AgentLeg(UUID(int=1), CALL, "alice", AGENT, T, T, T, T if leg_left else None,
                   "agent_hangup" if leg_left else None, None)
    recordings = () if recording_status is None else (Recording(
        UUID(int=2), CALL, leg.id, 1, "callrec-x", "m", "c", "a", None, T, None, None, None, None,
        None, None, recording_status),)
    kind = "inbound_announcement" if direction == "inbound" else r.DISCLOSURE
    announcement = Announcement(UUID(int=3), CALL, kind, "p", None, T, T,
                                "finished" if announced else None)
    return CallDetail(call, (), (leg,), recordings, (), (announcement,) if told else (), ())


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
        (detail(direction="outbound", announced=False), live(CALLER, AGENT, mix=(CALLER, AGENT)),
         r.ResumeConnected, 0),
        (detail(direction="outbound", told=False), live(CALLER, AGENT, mix=(CALLER, AGENT)),
         r.EndCall, 1),
    ],
    ids=["caller-gone", "both-in-bridge", "agent-gone", "leg-already-left", "nothing-open",
         "announcement-unfinished", "outbound-talking", "outbound-being-screened",
         "outbound-agent-gone", "outbound-mid-disclosure", "outbound-disclosure-unproven"],
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


def test_an_adopted_outbound_conversation_carries_its_disclosure_proof() -> None:
    """The agent may speak only after a disclosure that finished: resuming needs its proof."""
    for announced in (True, False):
        plan = r.plan(detail(direction="outbound", announced=announced),
                      live(CALLER, AGENT, mix=(CALLER, AGENT)))
        assert isinstance(plan, r.ResumeConnected) and plan.disclosure is not None
        assert plan.disclosure.outcome == ("finished" if announced else None)
    inbound = r.plan(detail(), live(CALLER, AGENT, mix=(CALLER, AGENT)))
    assert isinstance(inbound, r.ResumeConnected) and inbound.disclosure is None


def test_an_outbound_conversation_without_a_disclosure_row_is_ended_not_resumed() -> None:
    plan = r.plan(detail(direction="outbound", told=False),
                  live(CALLER, AGENT, mix=(CALLER, AGENT)))
    assert isinstance(plan, r.EndCall) and plan.reason == r.DISCLOSURE_UNPROVEN
