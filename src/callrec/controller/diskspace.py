"""The disk under the recordings: enough room to start one, and did one get cut short?

Why: MixMonitor ignores write errors. On a full disk it keeps "recording" into a file that stopped
growing, closes it with a header that matches the truncated bytes, and reports nothing: the file
looks complete and sound. So callrec checks free space before starting a recording, and compares each
file's duration with the agent's time in the bridge (Asterisk's own timestamps) after it stopped.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Literal

Policy = Literal["refuse", "carry_on"]
POLICIES: tuple[Policy, ...] = ("refuse", "carry_on")


class DiskError(Exception):
    """The free space of the recordings' file system could not be read."""


@dataclass(frozen=True)
class DiskVerdict:
    record: bool          # start the recording?
    alarm: str | None     # raise this alarm (None: all is well)


def decide_disk(free_bytes: int, total_bytes: int, threshold: int, policy: Policy) -> DiskVerdict:
    """Below ``threshold`` free bytes: alarm, and with ``refuse`` do not start the recording (an
    honest 'failed' row beats a file that silently ends mid-sentence); ``carry_on`` records anyway
    (something may still fit) and alarms."""
    if policy not in POLICIES:
        raise ValueError(f"disk policy must be one of {POLICIES}, not {policy!r}")
    if min(free_bytes, total_bytes, threshold) < 0 or free_bytes > total_bytes:
        raise ValueError(f"impossible disk figures: free={free_bytes} total={total_bytes} "
                         f"threshold={threshold}")
    if free_bytes >= threshold:
        return DiskVerdict(True, None)
    refuse = policy == "refuse"
    alarm = (f"recordings disk low: {free_bytes} of {total_bytes} bytes free, below {threshold}: "
             + ("recording refused" if refuse else "recording anyway, it may be cut short"))
    return DiskVerdict(not refuse, alarm)


def disk_news(was_low: bool, verdict: DiskVerdict) -> tuple[bool, str | None]:
    """What a periodic look at the disk tells the operator, as (low now, message): the alarm once
    when the disk goes low (or its free space cannot be read), a word once it is fine again, and
    nothing in between - a log line every 30 s would bury the first one."""
    low = verdict.alarm is not None
    if low and not was_low:
        return True, verdict.alarm
    if was_low and not low:
        return False, "recordings disk: free space back above the threshold"
    return low, None


def probe(path: str) -> tuple[int, int]:
    """(free, total) bytes of the file system holding ``path``. "Free" is what an unprivileged
    writer (Asterisk) may still use: blocks reserved for root are not counted."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        raise DiskError(f"cannot read free space of {path}: {exc}") from exc
    return usage.free, usage.total


def cut_short(recorded_ms: int, agent_in_bridge_ms: int, tolerance_ms: int = 100) -> bool:
    """True when a recording is shorter than the agent's time in the bridge by more than
    ``tolerance_ms``: audio that reached the bridge never reached the file (full disk, crash)."""
    if min(recorded_ms, agent_in_bridge_ms, tolerance_ms) < 0:
        raise ValueError(f"negative durations: recorded={recorded_ms} "
                         f"in_bridge={agent_in_bridge_ms} tolerance={tolerance_ms}")
    return agent_in_bridge_ms - recorded_ms > tolerance_ms
