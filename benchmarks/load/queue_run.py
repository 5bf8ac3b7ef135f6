"""One size of the anchor run: the same pattern with Asterisk alone. app_queue rings a member (the same
simulated agent, agent-hangup), starts MixMonitor itself when the member answers (queues.conf
monitor-format; option b implied), and the recording ends when the member leaves the bridge."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

from benchmarks.load.ami import AmiFailure, Message, RawAmi
from benchmarks.load.callrec_run import AGENT_DIAL, Setup
from benchmarks.load.machine import asterisk_pids
from benchmarks.load.measure import ami_time, file_closed, first_by, ms, wav_ms
from benchmarks.load.proc import sample, total_cpu_s

QUEUE = "callrec-bench"
CALLER_DIAL = "PJSIP/agent2/sip:agent-stay@127.0.0.1:5070"  # a phone that answers and stays (the caller)
SPOOL = Path("/var/tmp/callrec/rootfs/var/spool/asterisk/callrec/bench-queue")
EVENTS = frozenset({"AgentConnect", "AgentComplete", "QueueCallerAbandon", "MixMonitorStart",
                    "BridgeEnter", "BridgeLeave", "OriginateResponse"})


async def run(n: int, setup: Setup) -> dict[str, Any]:
    pbx = RawAmi("127.0.0.1", 5038, "callrec", "callrec", keep=EVENTS)
    await pbx.connect()
    try:
        await _load_queue(pbx, n)
        return await _measure(pbx, n, setup)
    finally:
        await _unload_queue(pbx, n)
        await pbx.close()


async def _load_queue(pbx: RawAmi, n: int) -> None:
    # WHY load at run time: modules.conf noloads app_queue (callrec does not use it).
    # WHY ModuleLoad and not the CLI over Command: AMI refuses "module load" as a Command.
    check = await pbx.send({"Action": "ModuleCheck", "Module": "app_queue"}, check=False)
    if check.get("Response") != "Success":
        await pbx.send({"Action": "ModuleLoad", "Module": "app_queue.so", "LoadType": "load"})
    for i in range(1, n + 1):
        # WHY distinct URIs: a queue holds each interface once; the ";m=" URI parameter makes N
        # members of the one simulated agent. WHY StateInterface: app_queue asks the device state
        # of the interface, and "PJSIP/agent1/sip:…" is not a device; with ringinuse=yes an
        # in-use agent1 still counts as available.
        await pbx.send({"Action": "QueueAdd", "Queue": QUEUE, "Interface": f"{AGENT_DIAL};m={i}",
                        "MemberName": f"q{i:03d}", "StateInterface": "PJSIP/agent1"})


async def _unload_queue(pbx: RawAmi, n: int) -> None:
    for i in range(1, n + 1):
        await pbx.send({"Action": "QueueRemove", "Queue": QUEUE,
                        "Interface": f"{AGENT_DIAL};m={i}"}, check=False)
    await pbx.send({"Action": "ModuleLoad", "Module": "app_queue.so", "LoadType": "unload"},
                   check=False)


async def _measure(pbx: RawAmi, n: int, setup: Setup) -> dict[str, Any]:
    pids = asterisk_pids()
    before = {name: sample(pid).cpu_s for name, pid in pids.items()}
    machine_before, t0 = total_cpu_s(), time.monotonic()
    tag = secrets.token_hex(3)
    callers = [f"benchq-{tag}-{i:03d}" for i in range(n)]
    refused = 0
    for caller in callers:
        reply = await pbx.send({
            "Action": "Originate", "Channel": CALLER_DIAL, "Context": "callrec-bench-queue",
            "Exten": "s", "Priority": "1", "Async": "true", "Timeout": "15000",
            "ChannelId": caller, "CallerID": f'"BenchQ" <{caller[-3:]}>'}, check=False)
        refused += reply.get("Response") != "Success"
        await asyncio.sleep(setup.stagger_s)
    left = await _settle(pbx, set(callers), t0 + setup.deadline_s)
    wall = time.monotonic() - t0
    await asyncio.sleep(1.0)  # files closed, last BridgeLeave events in
    usage = {name: round(sample(pid).cpu_s - before[name], 2) for name, pid in pids.items()}
    if left:
        await pbx.command("channel request hangup all")  # bounded: clean up our calls
    calls = [_one(pbx, caller) for caller in callers]
    for caller in callers:
        (SPOOL / f"{caller}.wav").unlink(missing_ok=True)
    return {"n": n, "wall_s": round(wall, 1), "originates_refused": refused, "unsettled": left,
            "calls": calls, "asterisk_cpu_s": usage,
            "machine_busy_cpu_s": round(total_cpu_s() - machine_before, 2)}


async def _settle(pbx: RawAmi, callers: set[str], deadline: float) -> int:
    """Bounded polling until every caller was served and completed (or abandoned)."""
    done: set[str] = set()
    quiet_after = time.monotonic() + 5  # the last originated calls are up by then
    while time.monotonic() < deadline:
        done = {e.get("Uniqueid", "") for e in pbx.of("AgentComplete") + pbx.of("QueueCallerAbandon")}
        failed = {e.get("Uniqueid", "") for e in pbx.of("OriginateResponse")
                  if e.get("Response") == "Failure"}
        if callers <= done | failed:
            return 0
        # WHY also the channel count: under CPU starvation this AMI reader can fall behind and
        # Asterisk drops a slow consumer's events (manager.conf writetimeout); the calls still end.
        if time.monotonic() > quiet_after and await _no_channels(pbx):
            return 0  # every call ended; missing events show as per-call gaps, not as unsettled
        await asyncio.sleep(0.5)
    return len(callers - done)


async def _no_channels(pbx: RawAmi) -> bool:
    try:
        return "\n0 active channels" in "\n" + await pbx.command("core show channels count")
    except (AmiFailure, TimeoutError, ConnectionError):
        return False  # the AMI link itself is gone: wait for the deadline


def _one(pbx: RawAmi, caller: str) -> dict[str, Any]:
    connect = first_by(pbx.of("AgentConnect"), "Uniqueid").get(caller)
    start = first_by(pbx.of("MixMonitorStart"), "Uniqueid").get(caller)
    member = connect.get("DestUniqueid") if connect else None
    enter = _when(first_by(pbx.of("BridgeEnter"), "Uniqueid").get(member or ""))
    leave = _when(first_by(pbx.of("BridgeLeave"), "Uniqueid").get(member or ""))
    path = SPOOL / f"{caller}.wav"
    duration = wav_ms(path)
    in_bridge = ms(leave, enter)
    started = _when(start)
    return {"caller": caller, "member_channel": member, "agent_connect": _iso(_when(connect)),
            "member_bridge_enter": _iso(enter), "member_bridge_leave": _iso(leave),
            "mixmonitor_start": _iso(started),
            "start_ms": ms(started, _when(connect)), "start_ms_vs_bridge_enter": ms(started, enter),
            "stop_ms_file_mtime": ms(file_closed(path), leave),
            "in_bridge_ms": in_bridge, "duration_ms": duration,
            "extra_audio_ms": round(duration - in_bridge, 3) if duration and in_bridge else None,
            "failed": None if connect and start and duration else "not connected/recorded"}


def _when(event: Message | None) -> Any:
    return ami_time(event) if event is not None else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
