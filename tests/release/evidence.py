"""A finished, recorded inbound call assembled in the real store through `Store` methods, with a
synthetic recording on disk: the material release, timeline and verify tests work on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import soundfile as sf

from callrec.audio import file_facts, sine, write_samples, write_tones_sequence
from callrec.audio.tones import Segment
from callrec.store import Store

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
# Phase starts, seconds after the call began; the agent joins at CONNECT_S.
PHASES_S = (("announcing", 0.0), ("identifying", 4.0), ("waiting", 9.0))
CONNECT_S = 15.0
RECORDING_LAG_MS = 6  # MixMonitor starts a few ms after the agent entered the bridge


@dataclass(frozen=True)
class RecordedCall:
    call_id: UUID
    leg_id: UUID
    recording_id: UUID
    mix: Path
    stereo: Path | None
    joined_at: datetime
    left_at: datetime

    @property
    def recording_started_at(self) -> datetime:
        return self.joined_at + timedelta(milliseconds=RECORDING_LAG_MS)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def recorded_call(
    store: Store,
    directory: Path,
    segments: Sequence[Segment],
    *,
    holds_ms: Sequence[tuple[int, int | None]] = (),
    stereo: bool = False,
    transfer_to: str | None = None,
    **overrides: Any,
) -> RecordedCall:
    """Announcement, number entry, waiting, then the agent talks for the length of `segments`
    (the mix file's content); holds at the given offsets; ends with the agent leaving (or a
    blind transfer). `overrides` replace recording_finalised() arguments (to fake bad evidence)."""
    call_id, leg_id, rec_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    directory.mkdir(parents=True, exist_ok=True)
    mix = write_tones_sequence(directory / f"{rec_id}.wav", segments)
    facts = file_facts(mix)
    stereo_path = _stereo(directory / f"{rec_id}-stereo.wav", mix) if stereo else None
    joined, rec_start = at(CONNECT_S), at(CONNECT_S) + timedelta(milliseconds=RECORDING_LAG_MS)
    left = rec_start + timedelta(milliseconds=facts.duration_ms)
    await _before_agent(store, call_id, leg_id)
    await store.recording_started(
        rec_id, call_id=call_id, agent_leg_id=leg_id, segment=1, mixmonitor_id=f"mm-{rec_id}",
        file_mix=str(mix), file_caller=str(directory / "caller.wav"),
        file_agent=str(directory / "agent.wav"), at=rec_start)
    await store.agent_joined(leg_id, joined)
    await store.add_call_event(call_id, joined, "phase:connected", {})
    for start, end in holds_ms:
        await _hold(store, call_id, rec_id, rec_start, start, end)
    await _agent_leaves(store, call_id, leg_id, left, transfer_to)
    await store.recording_stop_requested(rec_id, left, "agent_hangup")
    finalised: dict[str, Any] = {
        "stopped_at": left, "duration_ms": facts.duration_ms, "bytes": facts.bytes,
        "sha256": facts.sha256, "status": "complete",
        "file_stereo": None if stereo_path is None else str(stereo_path)}
    await store.recording_finalised(rec_id, **{**finalised, **overrides})
    return RecordedCall(call_id, leg_id, rec_id, mix, stereo_path, joined, left)


async def _before_agent(store: Store, call_id: UUID, leg_id: UUID) -> None:
    await store.create_call(call_id, direction="inbound", caller_number="5550100",
                            channel_id=f"caller-{call_id}", started_at=T0, queue="general")
    for phase, start in PHASES_S:
        await store.add_call_event(call_id, at(start), f"phase:{phase}", {})
    ann = uuid.uuid4()
    await store.announcement_started(ann, call_id, "inbound_announcement", "sound:ann",
                                     "This call will be recorded.", at(0.2))
    await store.announcement_ended(ann, at(3.9), "finished")
    await store.set_client_number(call_id, "12345")
    await store.agent_offered(leg_id, call_id, "alice", f"agent-{leg_id}", at(CONNECT_S - 4))
    await store.agent_answered(leg_id, at(CONNECT_S - 0.1))
    await store.call_answered(call_id, at(CONNECT_S))


async def _hold(store: Store, call_id: UUID, rec_id: UUID, rec_start: datetime, start: int,
                end: int | None) -> None:
    hold_id = uuid.uuid4()
    await store.hold_started(hold_id, call_id, rec_id, rec_start + timedelta(milliseconds=start),
                             start)
    if end is not None:
        await store.hold_ended(hold_id, rec_start + timedelta(milliseconds=end), end)


async def _agent_leaves(store: Store, call_id: UUID, leg_id: UUID, left: datetime,
                        transfer_to: str | None) -> None:
    if transfer_to is None:
        await store.agent_left(leg_id, left, "agent_hangup")
        await store.add_call_event(call_id, left, "phase:ended", {})
        await store.end_call(call_id, left, "completed", "agent_hangup")
        return
    await store.agent_left(leg_id, left, "blind_transfer")
    await store.add_call_event(call_id, left, "phase:unattended", {})
    await store.transfer(uuid.uuid4(), call_id, "blind", leg_id, transfer_to,
                         left + timedelta(milliseconds=30))
    await store.add_call_event(call_id, left + timedelta(milliseconds=30), "phase:transferred", {})
    end = left + timedelta(seconds=20)
    await store.add_call_event(call_id, end, "phase:ended", {})
    await store.end_call(call_id, end, "transferred", "blind_transfer")


def _stereo(path: Path, mix: Path) -> Path:
    """Left: what the caller side carries (the mix's content, music on hold included); right: the
    agent at 2000 Hz (the second agent's tone), so the two channels are told apart."""
    left, rate = sf.read(str(mix), dtype="float64")
    right = sine(2000, len(left) / rate, rate)
    return write_samples(path, np.stack([left, right], axis=1), rate)
