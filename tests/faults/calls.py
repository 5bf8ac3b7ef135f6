"""The one call every fault trial is built on, and the phones-side actions that drive it.

The script: a caller dials in, hears the announcement, keys a client number, an agent answers and
talks; then the TEST hangs the agent up from the phones' side (a SIP BYE from the agent, exactly as a
desk phone sends it) at a moment it chooses - before, during or after the fault. Its evidence with no
fault at all (:func:`normal_rows`) is what every faulted call is compared with.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from callrec.ami import AmiMessage
from callrec.config import Config
from callrec.store import CallDetail, Store
from tests.e2e.harness import Phones, agent, eventually, live_call, set_agents
from tests.faults.evidence import Outcome, kept, rows, settled
from tests.faults.sandbox import pbx_channels

STAY = "agent-stay"     # first agent's tone (550 Hz), talks until hung up
STAY2 = "agent2-stay"   # second agent's tone (2000 Hz), the same otherwise
SETTLE_S = 30.0         # the longest a call may take to close and seal once nothing stops it


async def phones_channels(phones: Phones) -> list[AmiMessage]:
    replies = await phones.ami.send({"Action": "CoreShowChannels"}, as_list=True)
    return [m for m in replies if m.text("Event") == "CoreShowChannel"]


async def hang_up_agent(phones: Phones, exten: str) -> None:
    """The simulated agent running extension ``exten`` hangs up (sends BYE to the pbx)."""
    async def probe() -> list[str] | None:
        found = [m.text("Channel") for m in await phones_channels(phones)
                 if m.text("Exten") == exten and m.text("Context") == "from-pbx"]
        return found or None

    [channel] = await eventually(probe, timeout=5, what=f"the phones' {exten} channel")
    await phones.ami.hangup(channel)


async def connected_call(store: Store, phones: Phones) -> tuple[str, CallDetail]:
    """A new call, once its agent is in the bridge and recording; (caller number, detail)."""
    number = await phones.call(stay=60)
    detail = await live_call(store, number, "connected")
    return number, detail


async def use_agents(store: Store, **agents: str) -> None:
    """Only these agents (name -> phones extension) may be rung."""
    await set_agents(store, {name: agent(exten, f"agent{i}")
                             for i, (name, exten) in enumerate(agents.items(), start=1)})


async def scripted_call(store: Store, phones: Phones) -> str:
    """The script up to the fault: a call connected to alice (agent-stay); its caller number."""
    await use_agents(store, alice=STAY)
    number, _ = await connected_call(store, phones)
    return number


async def normal_call(store: Store, phones: Phones, *, talk: float = 1.0) -> CallDetail:
    """The script with no fault: connected, ``talk`` seconds, the agent hangs up."""
    number = await scripted_call(store, phones)
    await asyncio.sleep(talk)
    await hang_up_agent(phones, STAY)
    return await settled(store, number, timeout=SETTLE_S)


async def agent_leaves_and_check(store: Store, phones: Phones, number: str, config: Config,
                                 outcome: Outcome, expected: Counter[str],
                                 **check: Any) -> CallDetail:
    """The agent hangs up now; once the call settled, the share of audio kept and the invariants
    are measured onto ``outcome`` (``check``: options of Outcome.check_calls)."""
    gone = datetime.now(UTC)
    await hang_up_agent(phones, STAY)
    detail = await settled(store, number, timeout=SETTLE_S)
    outcome.kept = kept(detail, gone)
    await outcome.check_calls([detail], expected, await pbx_channels(config), **check)
    return detail


_normal: Counter[str] | None = None


async def normal_rows(store: Store, phones: Phones) -> Counter[str]:
    """What the script writes when nothing fails: measured once per session, on the real sandbox
    (so a new kind of evidence row needs no change here)."""
    global _normal
    if _normal is None:
        _normal = rows(await normal_call(store, phones))
    return _normal


async def quiesce(phones: Phones, timeout: float = 15) -> None:
    """No simulated party left on the phones (and so none on the pbx): the next trial starts clean.
    Whatever a failed trial left is hung up."""
    await phones.ami.command("channel request hangup all")

    async def probe() -> bool:
        return not await phones_channels(phones)

    await eventually(probe, timeout=timeout, what="the phones to be idle")
