"""Read-side values returned by the store. Field names match the columns of 001_initial.sql."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

# Allowed values of the enum-like columns, mirrored from the CHECK constraints in the schema.
DIRECTIONS: Final = frozenset({"inbound", "outbound"})
LEG_OUTCOMES: Final = frozenset({"answered", "no_answer", "busy", "failed", "cancelled"})
RECORDING_STATUSES: Final = frozenset(
    {"recording", "stopping", "finalising", "complete", "incomplete", "interrupted", "failed",
     "purged"}
)
# Statuses of a recording whose MixMonitor may still be running or whose file is not yet sealed;
# after a crash these are the ones to reconcile.
OPEN_RECORDING_STATUSES: Final = ("recording", "stopping", "finalising")
ANNOUNCEMENT_KINDS: Final = frozenset({"inbound_announcement", "outbound_disclosure"})
ANNOUNCEMENT_OUTCOMES: Final = frozenset({"finished", "caller_hung_up", "cut_off"})
TRANSFER_KINDS: Final = frozenset({"blind", "attended", "controller"})


@dataclass(frozen=True)
class Agent:
    name: str
    dial_string: str
    enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class Call:
    id: UUID
    direction: str
    caller_number: str
    client_number: str | None
    queue: str | None
    business_unit: str | None
    channel_id: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    end_reason: str | None


@dataclass(frozen=True)
class CallEvent:
    id: int
    call_id: UUID
    at: datetime
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class AgentLeg:
    id: UUID
    call_id: UUID
    agent_name: str
    channel_id: str
    offered_at: datetime
    answered_at: datetime | None
    joined_at: datetime | None
    left_at: datetime | None
    left_reason: str | None
    outcome: str | None


@dataclass(frozen=True)
class Recording:
    id: UUID
    call_id: UUID
    agent_leg_id: UUID | None
    segment: int
    mixmonitor_id: str
    file_mix: str
    file_caller: str
    file_agent: str
    file_stereo: str | None
    started_at: datetime
    stop_requested_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    duration_ms: int | None
    bytes: int | None
    sha256: str | None
    status: str
    stereo_sha256: str | None = None  # the stereo copy's own hash (migration 002)


@dataclass(frozen=True)
class Hold:
    id: UUID
    call_id: UUID
    recording_id: UUID | None
    started_at: datetime
    ended_at: datetime | None
    start_offset_ms: int | None
    end_offset_ms: int | None


@dataclass(frozen=True)
class Announcement:
    id: UUID
    call_id: UUID
    kind: str
    prompt: str
    text: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class Transfer:
    id: UUID
    call_id: UUID
    kind: str
    agent_leg_id: UUID | None
    target: str | None
    at: datetime


@dataclass(frozen=True)
class CallDetail:
    """A call with everything recorded about it, each collection in chronological order."""

    call: Call
    events: tuple[CallEvent, ...]
    legs: tuple[AgentLeg, ...]
    recordings: tuple[Recording, ...]
    holds: tuple[Hold, ...]
    announcements: tuple[Announcement, ...]
    transfers: tuple[Transfer, ...]


@dataclass(frozen=True)
class RecordingInfo:
    """A recording with the call and agent context a listing needs (who, which number, which
    direction)."""

    recording: Recording
    direction: str
    caller_number: str
    client_number: str | None
    agent_name: str | None
