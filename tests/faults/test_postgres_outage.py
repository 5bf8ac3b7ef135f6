"""PostgreSQL stops mid-call (immediate shutdown, like a crash) and comes back after the call ended.

Telephony never waits for the database: the agent's hang-up still stops the recording at once, the
file is sealed, the call is closed - all while every evidence write fails. Those writes go to the
fsync'd journal in the state directory and are replayed, in order, once PostgreSQL answers again;
afterwards the call's rows are exactly those of the same call with no outage: none lost, none twice.

The database is a cluster of the test's own (`private_pg`), so the outage hits nobody else.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callrec.store import Store
from tests.e2e.harness import Phones, eventually
from tests.faults.calls import (
    SETTLE_S,
    STAY,
    hang_up_agent,
    normal_rows,
    scripted_call,
)
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome, compare, kept, rows, settled
from tests.faults.sandbox import PrivatePostgres, pbx_channels

pytestmark = [pytest.mark.e2e]


def journalled(state_dir: Path) -> list[str]:
    """The operations waiting in the controller's evidence journal (none: it is replayed)."""
    path = state_dir / "evidence-callrec.journal"
    if not path.exists():
        return []
    ops, done = [], 0
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if "fact" in entry:
            ops.append(entry["fact"]["op"])
        else:
            done += 1
    return ops[done:]


async def sealed_and_closed_offline(state_dir: Path) -> bool:
    return {"recording_finalised", "end_call"} <= set(journalled(state_dir))


async def call_on(cluster: PrivatePostgres, controller: ControllerProcess,
                  phones: Phones) -> tuple[Counter[str], str]:
    """The controller on the private cluster; the normal call's rows, then a call connected:
    (expected rows, caller number)."""
    controller.configure(CALLREC_DATABASE_DSN=cluster.dsn)
    await controller.start()
    async with await Store.open(cluster.dsn) as store:
        return await normal_rows(store, phones), await scripted_call(store, phones)


@pytest.mark.fault("postgres_stopped")
async def test_postgres_stopped_mid_call(controller: ControllerProcess, private_pg: PrivatePostgres,
                                         idle_phones: Phones, outcome: Outcome, trial: int) -> None:
    phones, loop = idle_phones, asyncio.get_running_loop()
    state_dir = Path(controller.env["CALLREC_STATE_DIR"])
    expected, number = await call_on(private_pg, controller, phones)
    async with private_pg.stopped():
        await asyncio.sleep(0.5)  # the agent talks on; nothing the caller or agent hears changes
        gone = datetime.now(UTC)
        await hang_up_agent(phones, STAY)

        # Bounded under the pool's 10 s: a writer that journals only once its write gives up fails.
        await eventually(lambda: sealed_and_closed_offline(state_dir), timeout=JOURNALLED_WITHIN_S,
                         what="the recording sealed and the call closed, into the journal")
        alive = await pbx_channels(controller.config)
    back = loop.time()

    async def replayed() -> bool:
        return not journalled(state_dir)

    await eventually(replayed, timeout=SETTLE_S, what="the journal replayed")
    async with await Store.open(private_pg.dsn) as store:
        detail = await settled(store, number, timeout=SETTLE_S)
    outcome.recover_s = loop.time() - back
    outcome.kept = kept(detail, gone)
    await outcome.check_calls([detail], expected, alive)
    outcome.expect_agent_ended_it(detail, "the call during the outage")
    outcome.assert_held()


# The hang-up -> the seal and the call's end journalled: the stop, the file's close and hash (well
# under a second), then the writer's 0.5 s of patience; 8 s allows a loaded box and stays below the
# 10 s after which a write to an unreachable PostgreSQL gives up.
JOURNALLED_WITHIN_S = 8.0


async def test_a_crash_during_the_outage_loses_no_evidence(
        controller: ControllerProcess, private_pg: PrivatePostgres, idle_phones: Phones) -> None:
    """While PostgreSQL is down, a write waits for the pool's 10 s connection timeout before it
    fails; the evidence writer journals what it holds (and all that arrives) after 0.5 s of silence,
    so a controller killed in that window loses nothing: the agent's hang-up, the recording's stop
    and the call's end are all replayed after the restart."""
    phones = idle_phones
    state_dir = Path(controller.env["CALLREC_STATE_DIR"])
    expected, number = await call_on(private_pg, controller, phones)
    async with private_pg.stopped():
        await asyncio.sleep(0.5)
        await hang_up_agent(phones, STAY)
        # Killed once the recording is sealed and the call closed, and those facts sit in the
        # journal only: a kill before the seal would rightly leave the recording `interrupted`.
        # Bounded under the pool's 10 s: a writer that journals only once its write gives up fails.
        await eventually(lambda: sealed_and_closed_offline(state_dir), timeout=JOURNALLED_WITHIN_S,
                         what="the recording sealed and the call closed, into the journal")
        await controller.kill()
    await controller.start()
    async with await Store.open(private_pg.dsn) as store:
        detail = await settled(store, number, timeout=SETTLE_S)
    lost, _, differences = compare(expected, rows(detail))
    assert lost == 0, differences
    [rec] = detail.recordings
    assert (rec.status, rec.stop_reason) == ("complete", "agent_hangup")
