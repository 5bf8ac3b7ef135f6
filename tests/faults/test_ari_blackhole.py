"""The ARI connection is black-holed mid-call (no FIN, no RST: packets just stop), then heals.

Two calls are connected when the partition starts: in one the agent hangs up while the controller
hears nothing (Asterisk keeps no events for it); the other goes on. The heartbeat must notice the
dead socket within a few seconds, the client reconnect once the network is back, and the reconcile
find what happened meanwhile: the departed agent's recording stopped and sealed, that call closed.
The other call must still be under control: when its agent hangs up after the outage, its recording
stops then, complete and timed to the bridge.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from callrec.config import Config
from callrec.store import CallDetail, Store
from tests.e2e.harness import Phones
from tests.faults.calls import (
    SETTLE_S,
    STAY,
    STAY2,
    connected_call,
    hang_up_agent,
    normal_rows,
    use_agents,
)
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome, kept, settled
from tests.faults.proxy import BlackHoleProxy
from tests.faults.sandbox import pbx_channels

pytestmark = [pytest.mark.e2e]

DETECT_WITHIN_S = 10.0  # heartbeat 5 s, pong awaited 2.5 s: a dead socket shows within 7.5 s


@pytest_asyncio.fixture
async def proxy(e2e_config: Config) -> AsyncIterator[BlackHoleProxy]:
    ari = urlsplit(e2e_config.asterisk.ari_url)
    hole = BlackHoleProxy(ari.hostname or "127.0.0.1", ari.port or 8088)
    await hole.start()
    yield hole
    await hole.close()


async def two_calls_through_a_black_hole(proxy: BlackHoleProxy, controller: ControllerProcess,
                                        store: Store, phones: Phones,
                                        outcome: Outcome) -> tuple[CallDetail, CallDetail, datetime]:
    """Two connected calls; the hole opens; bob (agent2-stay) hangs up in it; it heals; alice
    (agent-stay) hangs up after. (bob's call, alice's call, when bob hung up), once both settled;
    detection, recovery and the audio kept are noted on ``outcome``."""
    loop = asyncio.get_running_loop()
    await use_agents(store, alice=STAY, bob=STAY2)
    calls = await asyncio.gather(connected_call(store, phones), connected_call(store, phones))
    [left_number] = [n for n, d in calls if d.legs[-1].agent_name == "bob"]
    [stay_number] = [n for n, d in calls if d.legs[-1].agent_name == "alice"]
    drops, connects = controller.log_count("ARI disconnected"), controller.log_count("ARI connected")
    await asyncio.sleep(1.0)  # both conversations are recorded for a while

    proxy.blackhole()
    start = loop.time()
    await asyncio.sleep(0.5)
    gone = datetime.now(UTC)
    await hang_up_agent(phones, STAY2)  # bob leaves; nobody tells the controller
    noticed = await controller.logged("ARI disconnected", more_than=drops, timeout=DETECT_WITHIN_S)
    outcome.detect_s = noticed - start
    proxy.heal()
    healed = loop.time()
    reconnected = await controller.logged("ARI connected", more_than=connects, timeout=20)
    outcome.notes.append(f"reconnected {reconnected - healed:.2f} s after the network healed")
    left = await settled(store, left_number, timeout=SETTLE_S)
    outcome.recover_s = loop.time() - healed
    outcome.kept = kept(left, gone)

    await hang_up_agent(phones, STAY)  # alice leaves after the outage: seen, and acted on
    return left, await settled(store, stay_number, timeout=SETTLE_S), gone


@pytest.mark.fault("ari_blackholed")
async def test_ari_blackholed_mid_call(proxy: BlackHoleProxy, controller: ControllerProcess,
                                       store: Store, idle_phones: Phones, outcome: Outcome,
                                       trial: int) -> None:
    controller.configure(CALLREC_ASTERISK_ARI_URL=proxy.url)
    await controller.start()
    expected = await normal_rows(store, idle_phones)
    left, stayed, _ = await two_calls_through_a_black_hole(proxy, controller, store, idle_phones,
                                                           outcome)
    await outcome.check_calls([left, stayed], expected, await pbx_channels(controller.config))
    outcome.expect_agent_ended_it(stayed, "the call still live after the outage")
    outcome.assert_held()


async def test_an_agent_gone_during_the_outage_is_not_a_cut_short_recording(
        proxy: BlackHoleProxy, controller: ControllerProcess, store: Store,
        idle_phones: Phones) -> None:
    """The reconcile after a reconnect finds the departure it missed but not when it happened: the
    recording is sealed `interrupted` (its file ended itself, MixMonitor's b), with no "cut short"
    verdict, which would count the outage as time in the bridge and raise a false alarm."""
    controller.configure(CALLREC_ASTERISK_ARI_URL=proxy.url)
    await controller.start()
    seen = Outcome("ari_blackholed")
    left, _, _ = await two_calls_through_a_black_hole(proxy, controller, store, idle_phones, seen)
    [rec] = left.recordings
    alarms = [str(e.detail.get("message")) for e in left.events if e.kind == "alarm"]
    assert seen.kept == 1.0, "the whole conversation is on file"
    assert not [a for a in alarms if "cut short" in a], alarms
    assert rec.status in ("complete", "interrupted"), rec.status
