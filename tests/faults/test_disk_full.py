"""The recordings disk fills up: a tmpfs of a few hundred kilobytes mounted inside the recordings
directory, so Asterisk really gets ENOSPC while it writes.

MixMonitor ignores write errors: it keeps "recording" into a file that stopped growing and closes it
with a header that matches the truncated bytes, so the file looks sound. callrec must (1) raise an
alarm when free space is below `recordings.min_free_bytes` at the start of a recording, (2) under
`disk_policy = "refuse"` record nothing rather than a file that ends mid-sentence, and (3) notice a
file shorter than the agent's time in the bridge and seal it `incomplete`, with an alarm.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from callrec.store import CallDetail, Store
from tests.e2e.harness import Phones, eventually
from tests.faults.calls import agent_leaves_and_check, normal_rows, scripted_call
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome
from tests.faults.sandbox import SmallDisk, small_disk

pytestmark = [pytest.mark.e2e]

DISK = 1 << 20        # the tmpfs: room for the normal call's files and then some
THRESHOLD = 256 << 10  # recordings.min_free_bytes
LEFT = 128 << 10       # free space when the faulted call starts: below the threshold; at 48 kB/s
                       # (mix, agent and caller legs, 8 kHz 16-bit) full after under 3 s


@pytest_asyncio.fixture
async def disk() -> AsyncIterator[SmallDisk]:
    async with small_disk(DISK) as mounted:
        yield mounted


@pytest.fixture
def on_disk(disk: SmallDisk, controller: ControllerProcess) -> Iterator[ControllerProcess]:
    """The controller recording onto the small disk (stopped before the disk is unmounted)."""
    controller.configure(CALLREC_RECORDINGS_ASTERISK_DIR=disk.asterisk_dir,
                         CALLREC_RECORDINGS_LOCAL_DIR=str(disk.local_dir),
                         CALLREC_RECORDINGS_MIN_FREE_BYTES=str(THRESHOLD))
    yield controller


async def call_on_low_disk(controller: ControllerProcess, disk: SmallDisk, store: Store,
                           phones: Phones, policy: str) -> tuple[Counter[str], str]:
    """The normal call's rows (while the disk has room), then a call connected with less than
    the threshold free: (expected rows, caller number)."""
    controller.configure(CALLREC_RECORDINGS_DISK_POLICY=policy)
    await controller.start()
    expected = await normal_rows(store, phones)
    disk.fill(leave=LEFT)
    return expected, await scripted_call(store, phones)


def alarms(detail: CallDetail) -> list[str]:
    return [str(e.detail.get("message", "")) for e in detail.events if e.kind == "alarm"]


@pytest.mark.fault("disk_full_mid_recording")
async def test_disk_fills_mid_recording(on_disk: ControllerProcess, disk: SmallDisk, store: Store,
                                        idle_phones: Phones, outcome: Outcome, trial: int) -> None:
    phones = idle_phones
    expected, number = await call_on_low_disk(on_disk, disk, store, phones, "carry_on")

    async def full() -> bool:
        return disk.free() < 8192

    await eventually(full, timeout=10, what="MixMonitor to fill the disk")
    await asyncio.sleep(1.0)  # the agent talks on; none of it reaches the file
    detail = await agent_leaves_and_check(store, phones, number, on_disk.config, outcome,
                                          expected)
    [rec] = detail.recordings
    found = alarms(detail)
    outcome.expect(any("disk low" in a for a in found), f"a low-disk alarm at the start: {found}")
    outcome.expect(rec.status == "incomplete" and any("cut short" in a for a in found),
                   f"the truncated file detected: {rec.status}, {found}")
    outcome.assert_held()


@pytest.mark.fault("disk_low_refused")
async def test_refuse_policy_records_nothing_on_a_low_disk(
        on_disk: ControllerProcess, disk: SmallDisk, store: Store, idle_phones: Phones,
        outcome: Outcome, trial: int) -> None:
    phones = idle_phones
    expected, number = await call_on_low_disk(on_disk, disk, store, phones, "refuse")
    await asyncio.sleep(1.0)
    # No audio: the row says so, and nothing about stopping or sealing a file follows.
    detail = await agent_leaves_and_check(store, phones, number, on_disk.config, outcome,
                                          expected, may_differ=NO_FILE, refusal_expected=True)
    [rec] = detail.recordings
    found = alarms(detail)
    outcome.expect(rec.status == "failed", f"the recording refused (got {rec.status})")
    outcome.expect(any("recording refused" in a for a in found), f"the refusal alarmed: {found}")
    outcome.expect(not any(disk.local_dir.rglob(f"{rec.id}-*")), "no file written")
    outcome.assert_held()


NO_FILE = frozenset({"recording:stop_requested", "recording:sealed"})
