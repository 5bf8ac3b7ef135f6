"""The AMI connection is black-holed mid-call (no FIN, no RST: packets just stop), then heals.

The controller sends its AMI actions (MixMonitor, StopMixMonitor) through a local proxy that can
black-hole them; ARI is untouched, so the controller still sees everything happen on the call.
What must hold (the issue: "actions time out cleanly, reconnect, and a start/stop that was in flight
is re-checked, not assumed"):

* **a stop that got no answer.** The agent hangs up while AMI is dark. The controller hears it over
  ARI and sends StopMixMonitor into the hole: the action must time out (``ami_timeout``) instead of
  hanging the call, the Ping probe that follows must drop the half-open socket, the gateway must log
  in again once the network heals, and the stop must be sent again then rather than assumed done or
  failed. The recording must still be whole and end with the agent's departure: MixMonitor's ``b``
  option ends the file when the agent leaves the bridge, with or without a StopMixMonitor (and
  Asterisk emits ``MixMonitorStop`` only on an explicit stop, so the controller cannot learn from an
  event that the file ended: it must not need to). A call placed after the heal is recorded like
  any other: AMI works again.
* **a start that got no answer** (:func:`test_a_start_that_got_no_answer_is_rechecked_not_assumed`).
  The MixMonitor action armed on an answering agent goes into the hole. The proxy, like a peer that
  had the bytes in its kernel, delivers it once it heals, so Asterisk carries it out late: the
  controller must find that out (Getvar of the MixMonitor ID that ``i()`` stores on the channel and
  of MIXMONITOR_FILENAME) and adopt that monitor - not record the call a second time into a file
  no row points at, and not mark the recording failed.

The gateway's heartbeat (a checked Ping every 10 s) finds a socket that died while idle; here the
agent hangs up 0.5 s into the outage, so the socket is usually found dead by the unanswered stop
and the Ping that follows it: detection is timed from the agent's hang-up, the first moment the
controller needs AMI (bounded by the action timeout plus a Ping's, or the heartbeat's next tick).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from callrec.config import Config
from callrec.store import CallDetail, Store
from tests.e2e.harness import Phones, live_call
from tests.faults.calls import (
    SETTLE_S,
    STAY,
    hang_up_agent,
    normal_rows,
    scripted_call,
    use_agents,
)
from tests.faults.conftest import ControllerProcess
from tests.faults.evidence import Outcome, kept, settled
from tests.faults.proxy import BlackHoleProxy
from tests.faults.sandbox import pbx_channels

pytestmark = [pytest.mark.e2e]

# StopMixMonitor times out after ami_timeout (3 s), the Ping probe after 3 s more: the socket is
# dropped about 6 s after the first action into the hole.
DETECT_WITHIN_S = 12.0
RECONNECT_WITHIN_S = 10.0  # panoramisk retries 1 s after a loss; the login itself is instant

# What the controller logs (callrec.ami.gateway, callrec.controller.recorder).
RESENDING = "sending it again once AMI answers"        # a stop got no answer
# ... and was sent again, and answered ("No such channel": the agent's channel is gone by then; a
# resend that stops a monitor logs nothing, but that needs the agent still on the line)
RESENT = " again: AMI StopMixMonitor"
GAVE_UP = "AMI still down after"                        # ... or AMI did not come back in time
RECHECKING = "re-checking once AMI answers"             # a start got no answer
STARTED_AFTER_ALL = "was started after all"             # ... and Getvar found it running


@pytest_asyncio.fixture
async def proxy(e2e_config: Config) -> AsyncIterator[BlackHoleProxy]:
    a = e2e_config.asterisk
    hole = BlackHoleProxy(a.ami_host, a.ami_port)
    await hole.start()
    yield hole
    await hole.close()


class AmiLog:
    """The controller's AMI connection as its log tells it (only the proxy's port is ours)."""

    def __init__(self, controller: ControllerProcess, proxy: BlackHoleProxy) -> None:
        self.controller = controller
        self.lost = f"AMI connection to 127.0.0.1:{proxy.port} lost"
        self.logged_in = f"AMI logged in to 127.0.0.1:{proxy.port}"

    def counts(self, *markers: str) -> dict[str, int]:
        return {m: self.controller.log_count(m) for m in markers}

    def since(self, before: dict[str, int]) -> dict[str, int]:
        return {m: self.controller.log_count(m) - n for m, n in before.items()}


async def start_through(proxy: BlackHoleProxy, controller: ControllerProcess) -> AmiLog:
    """The controller started with its AMI through the proxy (ARI direct)."""
    controller.configure(CALLREC_ASTERISK_AMI_HOST="127.0.0.1",
                         CALLREC_ASTERISK_AMI_PORT=str(proxy.port))
    await controller.start()
    ami = AmiLog(controller, proxy)
    assert controller.log_count(ami.logged_in) >= 1, "the controller's AMI is not the proxy"
    return ami


# Healed at once: the stop's re-send waits for AMI (Recorder's reconnect_wait, 5 s) from the moment
# it timed out, the Ping that drops the socket takes 3 of them, panoramisk's reconnect 1 more.
async def heal_once_dropped(proxy: BlackHoleProxy, ami: AmiLog, drops: int, logins: int,
                            outcome: Outcome, since: float) -> float:
    """Wait for the controller to drop the dead socket, heal the network at once, wait for the
    new login: the monotonic time of the heal (detection and reconnect noted on ``outcome``)."""
    loop = asyncio.get_running_loop()
    noticed = await ami.controller.logged(ami.lost, more_than=drops, timeout=DETECT_WITHIN_S)
    outcome.detect_s = round(noticed - since, 2)
    proxy.heal()
    healed = loop.time()
    back = await ami.controller.logged(ami.logged_in, more_than=logins, timeout=RECONNECT_WITHIN_S)
    outcome.notes.append(f"AMI logged in again {back - healed:.2f} s after the network healed")
    return healed


def expect_closed_by_agent(outcome: Outcome, detail: CallDetail, which: str) -> None:
    """The call ended as with no fault: completed, because the agent hung up."""
    call = detail.call
    outcome.expect((call.outcome, call.end_reason) == ("completed", "agent_hangup"),
                   f"{which}: call closed by the agent's hang-up (got {call.outcome}, "
                   f"{call.end_reason})")


@pytest.mark.fault("ami_lost")
async def test_ami_lost_mid_call(proxy: BlackHoleProxy, controller: ControllerProcess,
                                 store: Store, idle_phones: Phones, outcome: Outcome,
                                 trial: int) -> None:
    phones, loop = idle_phones, asyncio.get_running_loop()
    ami = await start_through(proxy, controller)
    expected = await normal_rows(store, phones)
    number = await scripted_call(store, phones)
    before = ami.counts(ami.lost, ami.logged_in, RESENDING, RESENT, GAVE_UP)
    await asyncio.sleep(1.0)  # the conversation is recorded for a while

    proxy.blackhole()
    await asyncio.sleep(0.5)  # nothing goes over AMI while a call just talks
    gone, hung_up = datetime.now(UTC), loop.time()
    await hang_up_agent(phones, STAY)  # seen over ARI; the StopMixMonitor goes into the hole
    healed = await heal_once_dropped(proxy, ami, before[ami.lost], before[ami.logged_in], outcome,
                                     since=hung_up)
    left = await settled(store, number, timeout=SETTLE_S)
    outcome.recover_s = round(loop.time() - healed, 2)
    outcome.kept = kept(left, gone)
    done = ami.since(before)
    outcome.expect(done[RESENDING] == 1, f"the stop that got no answer was noticed once (logged "
                                         f"{done[RESENDING]} times)")
    outcome.expect(done[RESENT] == 1 and not done[GAVE_UP],
                   "the stop was sent again once AMI answered, neither assumed nor given up "
                   f"(resent {done[RESENT]}, gave up {done[GAVE_UP]})")

    # AMI works again: a new call's recording starts (MixMonitor armed) and stops as usual.
    after = await scripted_call(store, phones)
    await asyncio.sleep(1.0)
    await hang_up_agent(phones, STAY)
    later = await settled(store, after, timeout=SETTLE_S)

    await outcome.check_calls([left, later], expected, await pbx_channels(controller.config))
    outcome.expect_agent_ended_it(left, "the call whose agent left during the outage")
    expect_closed_by_agent(outcome, left, "the call whose agent left during the outage")
    outcome.expect_agent_ended_it(later, "the call after the outage")
    expect_closed_by_agent(outcome, later, "the call after the outage")
    outcome.expect(not ami.since(before)[GAVE_UP], "no AMI action given up after the heal")
    outcome.assert_held()


async def test_a_start_that_got_no_answer_is_rechecked_not_assumed(
        proxy: BlackHoleProxy, controller: ControllerProcess, store: Store,
        idle_phones: Phones) -> None:
    """The agent answers while AMI is dark: the MixMonitor armed on it gets no answer, and reaches
    Asterisk only when the network heals. Once AMI answers again the controller asks the channel
    and adopts that monitor: one recording, complete, in the file its row names."""
    phones = idle_phones
    ami = await start_through(proxy, controller)
    expected = await normal_rows(store, phones)
    seen = Outcome("ami_lost")
    began = time.time()
    await use_agents(store, alice=STAY)
    before = ami.counts(ami.lost, ami.logged_in, RECHECKING, STARTED_AFTER_ALL)

    proxy.blackhole()
    number = await phones.call(stay=60)  # the announcement, the digits, the ringing: all ARI
    await ami.controller.logged(RECHECKING, more_than=before[RECHECKING], timeout=30)
    await heal_once_dropped(proxy, ami, before[ami.lost], before[ami.logged_in], seen,
                            since=asyncio.get_running_loop().time())
    # The agent is bridged once the re-check is over (it is armed before it enters).
    await live_call(store, number, "connected", timeout=SETTLE_S)
    assert ami.since(before)[STARTED_AFTER_ALL] == 1, \
        "the MixMonitor that reached Asterisk late was not adopted"
    await asyncio.sleep(1.0)
    gone = datetime.now(UTC)
    await hang_up_agent(phones, STAY)
    detail = await settled(store, number, timeout=SETTLE_S)
    seen.kept = kept(detail, gone)
    await seen.check_calls([detail], expected, await pbx_channels(controller.config))
    seen.expect_agent_ended_it(detail, "the call whose recording started during the outage")
    seen.assert_held()
    [rec] = detail.recordings
    assert seen.kept == 1.0, f"{seen.kept:.0%} of the conversation kept"
    assert mix_files_since(Path(rec.file_mix).parent, began) == [Path(rec.file_mix)], \
        "recorded twice: a MixMonitor file no recording row names"


def mix_files_since(directory: Path, since: float) -> list[Path]:
    """The mixed recordings written in ``directory`` since ``since`` (wall clock): a second
    MixMonitor started on a monitor already running would add one no row names."""
    return sorted(p for p in directory.glob("*-mix.wav") if p.stat().st_mtime >= since)
