"""What a fault trial measures, and the invariants every trial must keep.

* **no recording lost**: every agent who joined the bridge has a recording row, and every row that
  claims audio (not ``failed``) points at a file that exists;
* **nothing left running after the agent left**: once the call is over no recording row is still open,
  no agent channel of the call is alive on the pbx (MixMonitor rides on it), no file still grows,
  and no file is longer than its agent's time in the bridge;
* **no evidence row lost or duplicated**: the call's rows, counted by kind, equal what the same call
  writes with no fault (:func:`rows`; the fault's own annotations - ``recovered``, ``alarm`` - aside);
* **every file proven**: ``complete`` with a closed header and a matching SHA-256, or marked
  ``incomplete``/``interrupted`` - with, when it has one, a hash that matches.

The measuring is separate from the asserting so that `make faults` can count violations over many
trials (docs/reliability.md) while a single test run fails on the first one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from callrec.audio import wav_is_closed
from callrec.store import CallDetail, Store
from callrec.store.models import OPEN_RECORDING_STATUSES
from tests.e2e.harness import ONE_FRAME_MS, SIMULATOR_SILENT_START_MS, eventually

# Rows a fault adds on purpose: they are the evidence OF the fault, not of the call.
FAULT_NOTES = frozenset({"event:recovered", "event:alarm"})


def rows(detail: CallDetail) -> Counter[str]:
    """The call's evidence as counts by kind: each row, and each fact written onto a row later
    (an UPDATE lost on replay shows here as a missing ``leg:left_at`` or ``recording:sealed``)."""
    found: Counter[str] = Counter({"call": 1,
                                   "call:ended": int(detail.call.ended_at is not None),
                                   "call:client_number": int(detail.call.client_number is not None)})
    for a in detail.announcements:
        found.update(["announcement", *(["announcement:ended"] if a.ended_at else [])])
    for g in detail.legs:
        found.update(["leg", *[f"leg:{k}" for k in ("answered_at", "joined_at", "left_at")
                               if getattr(g, k) is not None]])
    for r in detail.recordings:
        found.update(["recording", *(["recording:stop_requested"] if r.stop_requested_at else []),
                      *(["recording:sealed"] if r.sha256 else [])])
    found.update("hold" for _ in detail.holds)
    found.update("transfer" for _ in detail.transfers)
    found.update(f"event:{e.kind}" for e in detail.events)
    return +found  # drop zero counts


def compare(expected: Counter[str], got: Counter[str],
            may_differ: Collection[str] = ()) -> tuple[int, int, list[str]]:
    """(rows lost, rows duplicated, what differs) of ``got`` against ``expected``."""
    lost = duplicated = 0
    notes = []
    for key in sorted(set(expected) | set(got)):
        if key in FAULT_NOTES or key in may_differ:
            continue
        delta = got[key] - expected[key]
        if delta:
            notes.append(f"{key}: {expected[key]} -> {got[key]}")
        lost += max(0, -delta)
        duplicated += max(0, delta)
    return lost, duplicated, notes


def identical_events(detail: CallDetail) -> int:
    """Timeline rows written twice (same kind, time and detail): a journal replay gone wrong."""
    keys = Counter((e.kind, e.at, repr(sorted(e.detail.items()))) for e in detail.events)
    return sum(n - 1 for n in keys.values())


def recordings_lost(detail: CallDetail, *, refusal_expected: bool = False) -> list[str]:
    lost = [f"leg {g.agent_name} joined but has no recording" for g in detail.legs
            if g.joined_at is not None and not any(r.agent_leg_id == g.id
                                                   for r in detail.recordings)]
    for r in detail.recordings:
        if r.status == "failed":
            if not refusal_expected:
                lost.append(f"recording {r.id} failed")
        elif not Path(r.file_mix).exists():
            lost.append(f"recording {r.id} ({r.status}): {r.file_mix} missing")
    return lost


def unproven_files(detail: CallDetail) -> list[str]:
    bad = []
    for r in detail.recordings:
        path = Path(r.file_mix)
        if r.status in ("failed", *OPEN_RECORDING_STATUSES) or not path.exists():
            continue  # counted as lost or left running
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if r.status == "complete" and not (wav_is_closed(path) and r.sha256 == digest):
            bad.append(f"{path.name}: complete, closed={wav_is_closed(path)}, hash matches="
                       f"{r.sha256 == digest}")
        elif r.sha256 is not None and r.sha256 != digest:
            bad.append(f"{path.name}: {r.status}, hash does not match the file")
        elif r.status not in ("complete", "incomplete", "interrupted"):
            bad.append(f"{path.name}: status {r.status}")
    return bad


# Asterisk writes a recording through a 32 KiB buffer: on disk a live file grows in steps of
# 2.05 s of audio (measured on the sandbox), so "still growing" needs a longer look than that.
GROWTH_WINDOW_S = 2.3


async def left_running(details: Sequence[CallDetail], alive: Collection[str]) -> list[str]:
    """Recordings still going once the calls are over (``alive``: the pbx's channel ids now)."""
    recordings = [r for d in details for r in d.recordings]
    found = [f"recording {r.id} still {r.status}" for r in recordings
             if r.status in OPEN_RECORDING_STATUSES]
    found += [f"agent channel {g.channel_id} ({g.agent_name}) still up" for d in details
              for g in d.legs if g.channel_id in alive]
    sizes = {r.file_mix: _size(r.file_mix) for r in recordings}
    await asyncio.sleep(GROWTH_WINDOW_S)
    found += [f"{Path(f).name} still growing" for f, n in sizes.items() if _size(f) != n]
    return found


# The file's length counts samples (the phones' RTP clock), the time in the bridge is Asterisk's wall
# clock: on a loaded box they drift apart by parts per thousand (25 ms over 12.4 s, seen once in an
# outbound trial). Audio after the agent left would be whole frames beyond that.
CLOCK_DRIFT = 0.003


def overrun(detail: CallDetail) -> list[str]:
    """Recordings longer than their agent's time in the bridge (Asterisk's own timestamps) by
    more than one 20 ms frame (and the clocks' drift): audio recorded after the agent had left. (Shorter is Asterisk's or
    the disk's doing, and callrec's cut-short check seals those `incomplete`.)"""
    found = []
    for r in detail.recordings:
        [leg] = [g for g in detail.legs if g.id == r.agent_leg_id]
        if leg.joined_at is None or leg.left_at is None or r.duration_ms is None:
            continue
        in_bridge = (leg.left_at - leg.joined_at).total_seconds() * 1000
        if r.duration_ms - in_bridge > ONE_FRAME_MS + CLOCK_DRIFT * in_bridge:
            found.append(f"{Path(r.file_mix).name}: {r.duration_ms} ms recorded, the agent was in "
                         f"the bridge {in_bridge:.0f} ms")
    return found


def kept(detail: CallDetail, agent_gone: datetime) -> float:
    """How much of the faulted recording's conversation reached its file: its duration over the
    agent's time in the bridge, up to ``agent_gone`` (when the test hung the agent up or broke
    Asterisk; the row's own left time may be later - it is when the controller found out)."""
    [rec] = detail.recordings
    [leg] = [g for g in detail.legs if g.id == rec.agent_leg_id]
    assert leg.joined_at is not None
    in_bridge = (agent_gone - leg.joined_at).total_seconds() * 1000 - SIMULATOR_SILENT_START_MS
    return round(min(1.0, (rec.duration_ms or 0) / in_bridge), 3) if in_bridge > 0 else 1.0


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return -1


async def settled(store: Store, caller_number: str, *, timeout: float) -> CallDetail:
    """The call from this caller once it ended and no recording of it is open any more."""
    async def probe() -> CallDetail | None:
        detail = await call_of(store, caller_number)
        if detail is None or detail.call.ended_at is None:
            return None
        open_ = [r for r in detail.recordings if r.status in OPEN_RECORDING_STATUSES]
        return None if open_ else detail

    return await eventually(probe, timeout=timeout, what=f"call from {caller_number} to settle")


async def call_of(store: Store, caller_number: str) -> CallDetail | None:
    calls = [c for c in await store.list_calls(limit=200) if c.caller_number == caller_number]
    if len(calls) > 1:
        raise AssertionError(f"{len(calls)} call rows for caller {caller_number}")
    return await store.get_call(calls[0].id) if calls else None


# ------------------------------------------------------------------------------------ outcome
@dataclass
class Outcome:
    """One trial of one fault, as measured. Seconds are from the fault's end (heal, restart,
    database back) unless the name says otherwise."""

    fault: str
    recordings_lost: list[str] = field(default_factory=list)
    left_running: list[str] = field(default_factory=list)
    rows_lost: int = 0
    rows_duplicated: int = 0
    unproven_files: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # what this fault's test expects on top
    detect_s: float | None = None     # fault start -> the controller noticed
    recover_s: float | None = None    # fault end -> the faulted call closed and sealed
    kept: float | None = None         # share of the faulted recording's conversation on file
    trial_s: float | None = None      # the whole trial, set-up to tear-down
    notes: list[str] = field(default_factory=list)
    error: str | None = None          # the trial could not be carried out (counts as a failure)

    async def check_calls(self, details: Sequence[CallDetail], expected: Counter[str],
                          alive: Collection[str], *, may_differ: Iterable[str] = (),
                          refusal_expected: bool = False) -> None:
        """Measure finished calls against the invariants and add what is wrong to this outcome."""
        for detail in details:
            lost, duplicated, diff = compare(expected, rows(detail), frozenset(may_differ))
            self.rows_lost += lost
            self.rows_duplicated += duplicated + identical_events(detail)
            self.notes += [f"{detail.call.caller_number}: {d}" for d in diff]
            self.recordings_lost += recordings_lost(detail, refusal_expected=refusal_expected)
            self.unproven_files += unproven_files(detail)
            self.left_running += overrun(detail)
        self.left_running += await left_running(details, alive)

    def expect(self, holds: bool, what: str) -> None:
        """A fault-specific expectation (e.g. "the recording stopped when the agent left")."""
        if not holds:
            self.missed.append(what)

    def expect_agent_ended_it(self, detail: CallDetail, which: str) -> None:
        """The call's recording ended the way a call with no fault ends: complete (not cut short),
        stopped by its agent's hang-up."""
        [rec] = detail.recordings
        self.expect((rec.status, rec.stop_reason) == ("complete", "agent_hangup"),
                    f"{which}: recording complete and stopped by the agent's hang-up (got "
                    f"{rec.status}, {rec.stop_reason})")

    def violations(self) -> list[str]:
        return [*(f"recording lost: {x}" for x in self.recordings_lost),
                *(f"left running: {x}" for x in self.left_running),
                *([f"{self.rows_lost} rows lost"] if self.rows_lost else []),
                *([f"{self.rows_duplicated} rows duplicated"] if self.rows_duplicated else []),
                *(f"file not proven: {x}" for x in self.unproven_files),
                *(f"expected: {x}" for x in self.missed)]

    def assert_held(self) -> None:
        problems = self.violations()
        assert not problems, "\n".join([*problems, "differences:", *self.notes])

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
