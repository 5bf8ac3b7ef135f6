"""Store values built directly (no database) for the pure timeline and verify tests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from callrec.store import AgentLeg, Call, Recording

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CALL_ID = UUID("00000000-0000-0000-0000-0000000000ca")
LEG_ID = UUID("00000000-0000-0000-0000-00000000001e")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


def call(**changes: Any) -> Call:
    base = Call(id=CALL_ID, direction="inbound", caller_number="5550100", client_number="12345",
                queue="general", business_unit=None, channel_id="c1", started_at=T0,
                answered_at=at(15), ended_at=at(60), outcome="completed",
                end_reason="agent_hangup")
    return replace(base, **changes)


def leg(**changes: Any) -> AgentLeg:
    base = AgentLeg(id=LEG_ID, call_id=CALL_ID, agent_name="alice", channel_id="a1",
                    offered_at=at(11), answered_at=at(14.9), joined_at=at(15), left_at=at(60),
                    left_reason="agent_hangup", outcome="answered")
    return replace(base, **changes)


def recording(**changes: Any) -> Recording:
    base = Recording(id=uuid.UUID(int=0xEC), call_id=CALL_ID, agent_leg_id=LEG_ID, segment=1,
                     mixmonitor_id="mm1", file_mix="/spool/r.wav", file_caller="/spool/c.wav",
                     file_agent="/spool/a.wav", file_stereo=None, started_at=at(15) + ms(6),
                     stop_requested_at=at(60), stopped_at=at(60), stop_reason="agent_hangup",
                     duration_ms=44_990, bytes=719_884, sha256="a" * 64, status="complete")
    return replace(base, **changes)
