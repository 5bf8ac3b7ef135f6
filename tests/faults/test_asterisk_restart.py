"""The pbx Asterisk goes away mid-call and comes back: restarted by an operator, or crashed (-9).

Either way the call is gone with it. The controller loses its ARI and AMI connections, reconnects
when Asterisk is back, and reconciles: the call it was recording is closed with a reason, its
recording sealed - `interrupted` or `incomplete` unless the controller saw it end - with a header
that matches the bytes (a crash leaves MixMonitor's WAV saying zero length) and a SHA-256 of the
repaired file. Then it takes the next call as if nothing happened.

What a crash costs in audio is Asterisk's, not callrec's: MixMonitor writes through a 32 KiB stdio
buffer (2.05 s of 8 kHz 16-bit audio per file, measured), and whatever sat in it dies with the
process. The trial reports the share of the conversation that reached the file (`kept`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from callrec.audio import wav_is_closed
from callrec.store import Store
from tests.e2e.harness import Phones
from tests.faults.calls import (
    SETTLE_S,
    STAY,
    connected_call,
    hang_up_agent,
    normal_rows,
    quiesce,
    scripted_call,
)
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome, kept, settled
from tests.faults.sandbox import pbx_channels, restart_pbx

pytestmark = [pytest.mark.e2e]

RECONNECT_WITHIN_S = 20.0  # backoff tops out at 5 s; Asterisk's HTTP server needs a moment too


@pytest.mark.parametrize("crash", [
    pytest.param(False, id="restarted", marks=pytest.mark.fault("asterisk_restarted")),
    pytest.param(True, id="crashed", marks=pytest.mark.fault("asterisk_crashed"))])
async def test_pbx_goes_away_mid_call(controller: ControllerProcess, store: Store,
                                      idle_phones: Phones, outcome: Outcome, trial: int,
                                      crash: bool) -> None:
    phones, loop = idle_phones, asyncio.get_running_loop()
    await controller.start()
    expected = await normal_rows(store, phones)
    number = await scripted_call(store, phones)
    # Over 2.05 s, so that MixMonitor has flushed its first 32 KiB to disk before the fault.
    await asyncio.sleep(3.0)
    connects, gone, down = controller.log_count("ARI connected"), datetime.now(UTC), loop.time()
    await restart_pbx(crash=crash)
    back = loop.time()
    outcome.notes.append(f"pbx down and up again in {back - down:.2f} s")
    await quiesce(phones)  # after a crash the phones still hold the dead call's dialogs
    reconnected = await controller.logged("ARI connected", more_than=connects,
                                          timeout=RECONNECT_WITHIN_S)
    outcome.detect_s = reconnected - back  # here: back -> the controller is connected again
    detail = await settled(store, number, timeout=SETTLE_S)
    outcome.recover_s = loop.time() - back
    outcome.kept = kept(detail, gone)

    [rec] = detail.recordings
    # A crash leaves the file open: never `complete`. A restart hangs the channels up first, and
    # when those events still reach the controller the recording may end normally.
    sealed = ("interrupted", "incomplete") if crash else ("interrupted", "incomplete", "complete")
    outcome.expect(rec.status in sealed, f"recording sealed as one of {sealed} (got {rec.status})")
    outcome.expect(wav_is_closed(rec.file_mix), "the WAV header repaired")
    outcome.expect(detail.call.end_reason is not None, "the call closed with a reason")

    next_number, _ = await connected_call(store, phones)  # and the next call is taken
    await asyncio.sleep(0.5)
    await hang_up_agent(phones, STAY)
    after = await settled(store, next_number, timeout=SETTLE_S)
    await outcome.check_calls([detail, after], expected, await pbx_channels(controller.config))
    outcome.expect_agent_ended_it(after, "the next call")
    outcome.assert_held()

