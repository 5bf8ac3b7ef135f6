"""Simulated parties that act over SIP the way real phones do, for the e2e tests.

* A caller that also records what it HEARS (phones' [caller] with HEARD=...): whom the caller ended up
  talking to after a transfer, and whether it got music on hold, are read from that file.
* An agent phone inside the phones instance's ARI application "phone" (extension agent-hold): the test
  presses its hold key (ARI hold on the phones side), which chan_pjsip sends to the pbx as a re-INVITE
  with a=sendonly, and resumes it (a=sendrecv). See asterisk-conf/phones/extensions.conf.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from callrec.ari import AriClient, AriEvent, Connected
from callrec.audio import wait_closed
from tests.e2e.harness import Phones

ROOTFS = Path(os.environ.get("CALLREC_ROOTFS", "/var/tmp/callrec/rootfs"))
PHONES_SPOOL = "/var/spool/asterisk-phones"  # inside the chroot; the phones instance writes here
PHONES_ARI = "http://127.0.0.1:8089"

# A prefix of their own so these numbers never collide with harness.Phones.call's ("55...").
_numbers = itertools.count(int(time.time()) % 100000 * 100)


@dataclass(frozen=True)
class ListeningCall:
    number: str  # the caller number callrec stores: finds the call
    heard: Path  # what the caller heard, as the host sees the phones' spool

    async def heard_file(self, timeout: float = 5.0) -> Path:
        """The closed file (MixMonitor closes it when the caller's channel hangs up)."""
        assert await wait_closed(self.heard, timeout), f"{self.heard} never closed"
        return self.heard

    def remove(self) -> None:
        for path in (self.heard, self.heard.with_name(self.heard.stem + "-both.wav")):
            path.unlink(missing_ok=True)


@asynccontextmanager
async def listening_call(phones: Phones, *, pre: float = 2.5, digits: str = "12345#",
                         stay: float = 60) -> AsyncIterator[ListeningCall]:
    """Like ``Phones.call``, and the caller's received audio is recorded on the phones instance
    (the files are removed on exit)."""
    number = f"56{next(_numbers)}"
    stem = f"{PHONES_SPOOL}/heard-{number}"
    call = ListeningCall(number, ROOTFS / f"{stem.lstrip('/')}.wav")
    try:
        await phones.ami.originate("PJSIP/0800100@pbx", context="caller", exten="s",
                                   variables={"PRE": str(pre), "DIGITS": digits,
                                              "STAY": str(stay), "HEARD": stem},
                                   caller_id=f'"Test" <{number}>', timeout_ms=10000)
        yield call
    finally:
        call.remove()


@dataclass
class PhoneApp:
    """The phones instance's ARI application "phone": agent phones whose keys the test presses."""

    ari: AriClient
    arrivals: asyncio.Queue[str]

    async def next_phone(self, timeout: float) -> str:
        """The channel id of the next agent phone that answered (entered the application)."""
        async with asyncio.timeout(timeout):
            return await self.arrivals.get()

    async def hold(self, channel_id: str) -> None:
        await self.ari.hold(channel_id)

    async def unhold(self, channel_id: str) -> None:
        await self.ari.unhold(channel_id)


@asynccontextmanager
async def phone_app() -> AsyncIterator[PhoneApp]:
    """Registers "phone" on the phones instance (Stasis(phone) fails while no client listens)."""
    async with AriClient(PHONES_ARI, "phones", "phones", "phone") as ari:
        app = PhoneApp(ari, asyncio.Queue())
        connected = asyncio.Event()
        task = asyncio.create_task(_listen(ari, app.arrivals, connected), name="phone-app")
        try:
            async with asyncio.timeout(5):
                await connected.wait()
            yield app
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _listen(ari: AriClient, arrivals: asyncio.Queue[str], connected: asyncio.Event) -> None:
    async for item in ari.events():
        if isinstance(item, Connected):
            connected.set()
        elif isinstance(item, AriEvent) and item.type == "StasisStart" and item.channel is not None:
            arrivals.put_nowait(item.channel.id)
