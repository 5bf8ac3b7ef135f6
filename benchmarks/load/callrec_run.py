"""One size of the callrec run: N concurrent inbound calls through the real flow (tone announcement,
DTMF, waiting, agent answers, talks 3 s, hangs up), `callrec serve` as a child process."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import db
from benchmarks.load.ami import RawAmi
from benchmarks.load.machine import asterisk_pids
from benchmarks.load.measure import ami_time, file_closed, first_by, ms, summary
from benchmarks.load.proc import ProcSample, sample, total_cpu_s
from benchmarks.load.serve import ServeProcess

AGENT_DIAL = "PJSIP/agent1/sip:agent-hangup@127.0.0.1:5070"  # answers, 550 Hz for 3 s, hangs up
PBX_EVENTS = frozenset({"MixMonitorStart", "MixMonitorStop", "BridgeEnter", "BridgeLeave"})


@dataclass(frozen=True)
class Setup:
    stagger_s: float = 0.03
    deadline_s: float = 150.0
    profile_dir: Path | None = None  # py-spy samples of the serve process, when set
    # -v, as operated: ARI events are counted (and their lag measured) by the controller itself,
    # in the line it logs when it stops; -vv also logs each event (the older way to count them,
    # still read when that line is missing), which costs CPU of its own.
    verbosity: str = "-v"
    log_dir: Path = Path("/tmp/callrec-bench-load")  # serve logs kept here (the state dir is not)


def pbx_ami(keep: frozenset[str] = PBX_EVENTS) -> RawAmi:
    return RawAmi("127.0.0.1", 5038, "callrec", "callrec", keep=keep)


def phones_ami() -> RawAmi:
    return RawAmi("127.0.0.1", 5039, "phones", "phones")


async def originate_callers(phones: RawAmi, n: int, stagger_s: float) -> tuple[list[str], int]:
    """N callers dialling the pbx; (their numbers, originates Asterisk refused)."""
    base = int(time.time()) % 100000 * 1000
    numbers, refused = [], 0
    for i in range(n):
        number = f"77{base + i}"
        reply = await phones.send({
            "Action": "Originate", "Channel": "PJSIP/0800100@pbx", "Context": "caller",
            "Exten": "s", "Priority": "1", "Async": "true", "Timeout": "15000",
            "CallerID": f'"Bench" <{number}>',
            "Variable": ["PRE=2.5", "DIGITS=12345#", "STAY=40"]}, check=False)
        numbers.append(number)
        refused += reply.get("Response") != "Success"
        await asyncio.sleep(stagger_s)
    return numbers, refused


async def settle(dsn: str, numbers: list[str], deadline: float) -> int:
    """Bounded polling until every call ended with its recording sealed; the unsettled count."""
    left = len(numbers)
    while time.monotonic() < deadline:
        left = await db.unsettled(dsn, numbers)
        if left == 0:
            return 0
        await asyncio.sleep(0.5)
    return left


_HANDLED = re.compile(r"ARI events handled: (\{.*\})$", re.MULTILINE)


def handled_stats(log: Path) -> dict[str, Any] | None:
    """The controller's own account, logged when it stops (controller/stats.py), if there is one."""
    found = _HANDLED.findall(log.read_text(errors="replace"))
    return json.loads(found[-1]) if found else None


def count_events(log: Path) -> dict[str, int]:
    """ARI events the controller logged at -vv (debug), by type."""
    counts: dict[str, int] = {}
    for match in re.finditer(r"\bARI ([A-Z]\w+) ", log.read_text(errors="replace")):
        name = match.group(1)
        counts[name] = counts.get(name, 0) + 1
    return counts


_LOGGED = re.compile(r"^\S+ (\d\d):(\d\d):(\d\d),(\d{3}) DEBUG \S+ ARI (\w+) .*@(\d\d):(\d\d):(\d\d)\.(\d+)$")


def delivery_lags_ms(log: Path) -> list[float]:
    """For every ARI event: when callrec's event loop got to it (the -vv log line's clock) minus
    Asterisk's timestamp on it. A loop that cannot keep up shows here first.
    WHY the log's local clock is comparable: the sandbox host runs in UTC (checked by the runner)."""
    lags = []
    for line in log.read_text(errors="replace").splitlines():
        m = _LOGGED.match(line)
        if m is None:
            continue
        h, mi, s, milli, _, eh, emi, es, frac = m.groups()
        logged = int(h) * 3600 + int(mi) * 60 + int(s) + int(milli) / 1000
        event = int(eh) * 3600 + int(emi) * 60 + int(es) + float(f"0.{frac}")
        lags.append(round(((logged - event) % 86400) * 1000, 1))
    return lags


async def until_idle(pid: int, timeout: float = 20.0) -> None:
    """Bounded wait until the fresh controller stops working on its own: its start-up sweep of the
    recordings directory (one store lookup per file found) must not be measured as call handling."""
    deadline = time.monotonic() + timeout
    last = sample(pid).cpu_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = sample(pid).cpu_s
        if now - last < 0.02:
            return
        last = now


async def remove_recordings(dsn: str) -> None:
    """This run's files (every recording in the scratch database is ours): later runs' sweeps must
    not grow with them."""
    for path in await db.recording_files(dsn):
        Path(path).unlink(missing_ok=True)


async def run(n: int, setup: Setup) -> dict[str, Any]:
    async with db.scratch_database() as dsn:
        await db.prepare(dsn, n, AGENT_DIAL)
        with tempfile.TemporaryDirectory(prefix="callrec-bench-") as state:
            serve = ServeProcess(dsn, Path(state), pool_max=10, verbosity=setup.verbosity)
            await serve.start()
            try:
                await until_idle(serve.pid)
                result = await _measure(n, setup, dsn, serve)
            finally:
                await remove_recordings(dsn)
                serve.stop()  # graceful: the controller logs what it handled as it stops
                setup.log_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(serve.log_path, setup.log_dir / f"serve-n{n}{setup.verbosity}.log")
            return _with_events(result, serve.log_path)


def _with_events(result: dict[str, Any], log: Path) -> dict[str, Any]:
    """The ARI events and their lag: from the controller's closing account, else from a -vv log."""
    handled = handled_stats(log)
    if handled is not None:
        events: dict[str, int] = handled["by_type"]
        lag = {"n": handled["events"], **handled["lag_ms"]}
    else:
        events, lag = count_events(log), summary(delivery_lags_ms(log))
    usage = _usage(result.pop("cpu"), result["n"], events)
    return {**result, "serve": usage, "ari_events": events, "ari_delivery_lag_ms": lag}


async def _measure(n: int, setup: Setup, dsn: str, serve: ServeProcess) -> dict[str, Any]:
    pbx, phones = pbx_ami(), phones_ami()
    await pbx.connect()
    await phones.connect()
    profiler = await _start_profiler(serve.pid, setup.profile_dir, n)
    try:
        pids = asterisk_pids()
        ast_before = {name: sample(pid).cpu_s for name, pid in pids.items()}
        before, machine_before, t0 = sample(serve.pid), total_cpu_s(), time.monotonic()
        numbers, refused = await originate_callers(phones, n, setup.stagger_s)
        left = await settle(dsn, numbers, t0 + setup.deadline_s)
        after, machine_after, wall = sample(serve.pid), total_cpu_s(), time.monotonic() - t0
        ast_cpu = {name: round(sample(pid).cpu_s - ast_before[name], 2) for name, pid in pids.items()}
        await asyncio.sleep(1.0)  # late AMI events (MixMonitorStop) still in flight
        if left:
            await phones.command("channel request hangup all")  # bounded: clean up our calls
    finally:
        await _stop_profiler(profiler)
        await pbx.close()
        await phones.close()
    rows = await db.measured_rows(dsn, numbers)
    calls = _per_call(rows, pbx)
    return {"n": n, "wall_s": round(wall, 1), "originates_refused": refused, "unsettled": left,
            "calls": calls, "cpu": (before, after),
            "machine_busy_cpu_s": round(machine_after - machine_before, 2),
            "asterisk_cpu_s": ast_cpu, "stagger_ms": round(setup.stagger_s * 1000, 1)}


def _usage(cpu: tuple[ProcSample, ProcSample], n: int, events: dict[str, int]) -> dict[str, Any]:
    before, after = cpu
    cpu = after.cpu_s - before.cpu_s
    total_events = sum(events.values())
    return {"cpu_s": round(cpu, 2), "cpu_ms_per_call": round(cpu * 1000 / n, 2),
            "events_per_call": round(total_events / n, 1) if total_events else None,
            "cpu_ms_per_event": round(cpu * 1000 / total_events, 3) if total_events else None,
            "rss_mb_end": round(after.rss_kb / 1024, 1), "peak_rss_mb": round(after.hwm_kb / 1024, 1)}


def _per_call(rows: list[dict[str, Any]], pbx: RawAmi) -> list[dict[str, Any]]:
    starts = first_by(pbx.of("MixMonitorStart"), "Uniqueid")
    stops = first_by(pbx.of("MixMonitorStop"), "Uniqueid")
    enters = first_by(pbx.of("BridgeEnter"), "Uniqueid")
    out = []
    for row in rows:
        channel = row["channel_id"] or ""
        start = ami_time(starts[channel]) if channel in starts else None
        stop = ami_time(stops[channel]) if channel in stops else None
        enter = ami_time(enters[channel]) if channel in enters else None
        in_bridge = ms(row["left_at"], row["joined_at"])
        extra = (None if row["duration_ms"] is None or in_bridge is None
                 else round(row["duration_ms"] - in_bridge, 3))
        out.append({
            "caller_number": row["caller_number"], "channel_id": channel,
            "joined_at": _iso(row["joined_at"]), "left_at": _iso(row["left_at"]),
            "mixmonitor_start": _iso(start), "mixmonitor_stop": _iso(stop),
            "stop_requested_at": _iso(row["stop_requested_at"]),
            "start_ms": ms(start, row["joined_at"]), "start_ms_ami_bridgeenter": ms(start, enter),
            "stop_ms": ms(stop, row["left_at"]),
            "stop_ms_file_mtime": ms(file_closed(row["file_mix"]), row["left_at"]),
            "stop_requested_ms": ms(row["stop_requested_at"], row["left_at"]),
            "in_bridge_ms": in_bridge, "duration_ms": row["duration_ms"], "extra_audio_ms": extra,
            "status": row["status"], "failed": _failure(row, start)})
    return out


def _failure(row: dict[str, Any], start: Any) -> str | None:
    if row["joined_at"] is None:
        return "agent never joined"
    if start is None:
        return "no MixMonitorStart"
    if row["status"] != "complete":
        return f"recording {row['status']}"
    return None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _start_profiler(pid: int, where: Path | None, n: int) -> asyncio.subprocess.Process | None:
    if where is None:
        return None
    where.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("py-spy")
    return await asyncio.create_subprocess_exec(
        str(exe), "record", "-p", str(pid), "-o", str(where / f"serve-n{n}.txt"), "--format", "raw",
        "-r", "50", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def _stop_profiler(proc: asyncio.subprocess.Process | None) -> None:
    if proc is None:
        return
    proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
