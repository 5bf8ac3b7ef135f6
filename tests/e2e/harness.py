"""Driving the sandbox's simulated parties and reading back what callrec did.

The phones instance (a second Asterisk) plays every party with its own tone: caller 400 Hz, first agent
550 Hz, second agent 2000 Hz, transfer target 2400 Hz; the pbx's music on hold is 1800 Hz and the test
prompts 2800 Hz. Agents' behaviour is chosen by the extension in their dial string
(`PJSIP/agent1/sip:agent-blind@127.0.0.1:5070` reaches extension `agent-blind` on the phones).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from callrec.ami import AmiGateway
from callrec.audio import dtmf_present, tones_present, wait_closed
from callrec.store import CallDetail, Recording, Store

T = TypeVar("T")

CALLER, AGENT, AGENT2, TARGET, MOH, PROMPT = 400.0, 550.0, 2000.0, 2400.0, 1800.0, 2800.0
PALETTE = (CALLER, AGENT, AGENT2, TARGET, MOH, PROMPT)

# The sandbox's sound files, and what each simulated client of the dialer heard (the phones
# instance records it: asterisk-conf/phones/extensions.conf).
ROOTFS = Path("/var/tmp/callrec/rootfs")
SOUNDS = ROOTFS / "usr/share/asterisk/sounds"
CAPTURES = ROOTFS / "var/spool/asterisk-phones"

_numbers = itertools.count(int(time.time()) % 100000 * 100)


def agent(scenario: str, endpoint: str = "agent1") -> str:
    """Dial string of a simulated agent running `scenario` (an extension of the phones' from-pbx)."""
    return f"PJSIP/{endpoint}/sip:{scenario}@127.0.0.1:5070"


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float,
                     interval: float = 0.1, what: str = "condition") -> T:
    """Bounded polling: the probe's first truthy result, or AssertionError after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the real `callrec` console script; its stdout, or AssertionError with its stderr."""
    exe = Path(sys.executable).with_name("callrec")
    proc = await asyncio.create_subprocess_exec(
        str(exe), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"callrec {' '.join(args)} failed: {err.decode()}"
    return out.decode()


@dataclass
class Phones:
    ami: AmiGateway

    async def call(self, *, pre: float = 2.5, digits: str = "12345#", stay: float = 60) -> str:
        """A caller dials the pbx; returns the unique caller number to find the call by."""
        number = f"55{next(_numbers)}"
        await self.ami.originate("PJSIP/0800100@pbx", context="caller", exten="s",
                                 variables={"PRE": str(pre), "DIGITS": digits, "STAY": str(stay)},
                                 caller_id=f'"Test" <{number}>', timeout_ms=10000)
        return number


async def heard_by(to: str, nth: int = 0) -> Path:
    """The `nth` recording the client `to` made of what it heard (one per answered attempt)."""
    async def probe() -> list[Path] | None:
        files = sorted(p for p in CAPTURES.glob(f"client-{to}-*.wav") if "-both" not in p.name)
        return files if len(files) > nth else None
    path = (await eventually(probe, timeout=10, what=f"capture {nth} of {to}"))[nth]
    assert await wait_closed(path, 10), f"{path} never closed"
    return path


async def set_agents(store: Store, agents: dict[str, str]) -> None:
    for existing in await store.list_agents():
        await store.remove_agent(existing.name)
    for name, dial in agents.items():
        await store.add_agent(name, dial)


def _store(source: Store | Any) -> Store:
    """A Store, or anything holding one (the in-process Service)."""
    return getattr(source, "store", source)


async def finished_call(source: Store | Any, caller_number: str, *,
                        timeout: float = 40) -> CallDetail:
    """The call from this caller once it ended and every recording of it is finalised."""
    store = _store(source)

    async def probe() -> CallDetail | None:
        calls = [c for c in await store.list_calls(limit=200) if c.caller_number == caller_number]
        if not calls or calls[0].ended_at is None:
            return None
        detail = await store.get_call(calls[0].id)
        if detail and all(r.status not in ("recording", "stopping", "finalising")
                          for r in detail.recordings):
            return detail
        return None

    return await eventually(probe, timeout=timeout, what=f"call from {caller_number} to finish")


async def live_call(source: Store | Any, caller_number: str, phase: str, *,
                    timeout: float = 20) -> CallDetail:
    """The call once its timeline shows `phase` (e.g. "connected")."""
    store = _store(source)

    async def probe() -> CallDetail | None:
        calls = [c for c in await store.list_calls(limit=200) if c.caller_number == caller_number]
        if not calls:
            return None
        detail = await store.get_call(calls[0].id)
        return detail if detail and any(e.kind == f"phase:{phase}" for e in detail.events) else None

    return await eventually(probe, timeout=timeout, what=f"call from {caller_number} to be {phase}")


def assert_only_conversation(recording: Recording, *, expected: set[float]) -> None:
    """The file holds the parties we expect and none of the things that must never be recorded."""
    path = Path(recording.file_mix)
    found = tones_present(path, PALETTE)
    assert expected <= found, f"expected {sorted(expected)} in {path.name}, found {sorted(found)}"
    leaked = found - expected
    assert not leaked, f"{path.name} must not contain {sorted(leaked)} (found {sorted(found)})"
    assert not dtmf_present(path), f"{path.name} contains DTMF"


# The simulated phones only start sending RTP when Asterisk's Answer() returns, which waits for a first
# voice frame from the pbx (measured: ~130 ms after the pbx bridged them); until then MixMonitor's
# audiohook has audio in one direction only and drops it (AST_AUDIOHOOK_SYNC_TOLERANCE). A real phone
# streams RTP from its 200 OK. So a file may be shorter than the bridge time by that much, never longer.
SIMULATOR_SILENT_START_MS = 200
ONE_FRAME_MS = 20


def assert_duration_matches_bridge_time(detail: CallDetail, recording: Recording) -> None:
    """Never longer than the agent's time in the bridge (from Asterisk's timestamps) by more than one
    20 ms frame; shorter only by the simulated phone's silent start."""
    [leg] = [g for g in detail.legs if g.id == recording.agent_leg_id]
    assert leg.joined_at is not None and leg.left_at is not None
    in_bridge_ms = (leg.left_at - leg.joined_at).total_seconds() * 1000
    assert recording.duration_ms is not None
    excess = recording.duration_ms - in_bridge_ms
    assert -SIMULATOR_SILENT_START_MS <= excess <= ONE_FRAME_MS, (
        f"recorded {recording.duration_ms} ms, agent was in the bridge {in_bridge_ms:.0f} ms "
        f"({leg.joined_at.time()} -> {leg.left_at.time()}, recording {recording.started_at.time()})")
