"""Evidence store, write side: the Store calls one answered inbound call makes, for many calls.

Two ways in, both through the real ``callrec.store.Store``:

* ``evidence_writer``: what the controller actually does. Every call's facts go to ONE
  ``EvidenceWriter`` that applies them in submission order (order is evidence), so the store sees one
  statement at a time whatever the number of calls. Its rate is the controller's ceiling.
* ``concurrent``: N calls writing at once straight through the Store's pool (10 connections, the
  default ``database.pool_max``): what the database and the pool could take if order were per call.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.stats import summarise
from callrec.controller.evidence import EvidenceWriter, store_applier
from callrec.controller.journal import Fact
from callrec.store import Store

SHA = "ab" * 32
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    writer_calls: int
    concurrent_calls: int
    concurrency: tuple[int, ...]
    repeats: int


FULL = Sizes(writer_calls=400, concurrent_calls=600, concurrency=(1, 10, 50), repeats=3)
QUICK = Sizes(writer_calls=20, concurrent_calls=40, concurrency=(1, 10), repeats=1)


def call_facts(n: int) -> list[Fact]:
    """The 16 writes of one answered call, in the order the controller records them."""
    call, ann, leg, rec = (uuid.uuid4() for _ in range(4))
    t = T0 + timedelta(seconds=n)

    def at(seconds: float) -> datetime:
        return t + timedelta(seconds=seconds)

    def event(seconds: float, phase: str) -> Fact:
        return Fact("add_call_event", (call, at(seconds), "phase", {"phase": phase}), {})

    day = t.strftime("%Y/%m/%d")
    files = {f"file_{k}": f"/var/spool/asterisk/callrec/{day}/{rec}-{k}.wav"
             for k in ("mix", "caller", "agent")}
    return [
        Fact("create_call", (call,), {"direction": "inbound", "caller_number": f"06{n:08d}",
                                      "channel_id": f"1763805600.{n}", "started_at": t,
                                      "queue": "general", "business_unit": "benefits"}),
        event(0, "announcing"),
        Fact("announcement_started", (ann, call, "inbound_announcement",
                                      "sound:callrec/announcement", "This call is recorded", at(0)), {}),
        Fact("announcement_ended", (ann, at(6), "finished"), {}),
        event(6, "identifying"),
        event(14, "waiting"),
        Fact("agent_offered", (leg, call, "alice", f"callrec-agent-{leg}", at(15)), {}),
        Fact("agent_answered", (leg, at(25)), {}),
        Fact("recording_started", (rec,), {"call_id": call, "agent_leg_id": leg, "segment": 1,
                                           "mixmonitor_id": f"callrec-{rec}", **files,
                                           "at": at(25.01)}),
        Fact("agent_joined", (leg, at(25)), {}),
        event(25, "connected"),
        Fact("recording_stop_requested", (rec, at(300), "agent_hangup"), {}),
        Fact("agent_left", (leg, at(300), "agent_hangup"), {}),
        event(300, "ended"),
        Fact("end_call", (call, at(300), "answered", "agent_hangup"), {}),
        Fact("recording_finalised", (rec,), {
            "stopped_at": at(300.2), "duration_ms": 274_990, "bytes": 4_399_884, "sha256": SHA,
            "file_stereo": files["file_mix"].replace("-mix", "-stereo"), "status": "complete",
            "stereo_sha256": SHA}),
    ]


def _interleaved(calls: list[list[Fact]]) -> list[Fact]:
    """Facts of concurrent calls as they reach the writer: each call's own order kept, the calls'
    facts shuffled together round-robin."""
    longest = max(len(c) for c in calls)
    return [c[i] for i in range(longest) for c in calls if i < len(c)]


async def _through_writer(store: Store, facts: list[Fact], journal: Path) -> float:
    writer = EvidenceWriter(store_applier(store), journal)
    task = asyncio.create_task(writer.run())
    started = time.perf_counter()
    for fact in facts:
        writer.submit(fact)
    await writer.drained()
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    if writer.journalled:
        raise RuntimeError("the evidence writer journalled facts: the database refused writes")
    return elapsed


async def _one_call(store: Store, facts: list[Fact], gate: asyncio.Semaphore) -> None:
    async with gate:
        for fact in facts:
            await getattr(store, fact.op)(*fact.args, **fact.kwargs)


async def _concurrent(store: Store, calls: list[list[Fact]], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    await asyncio.gather(*(_one_call(store, facts, gate) for facts in calls))
    return time.perf_counter() - started


def _rates(seconds: list[float], writes: int, calls: int) -> dict[str, Any]:
    return {"writes_per_s": summarise([writes / s for s in seconds]).as_json(),
            "calls_per_s": summarise([calls / s for s in seconds]).as_json()}


async def bench_writes(dsn: str, quick: bool) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    per_call = len(call_facts(0))
    results: dict[str, Any] = {"writes_per_call": per_call, "pool_max": 10}
    async with await Store.open(dsn, min_size=10, max_size=10) as store:
        with tempfile.TemporaryDirectory(prefix="callrec-bench-") as tmp:
            writer_runs = []
            for r in range(sizes.repeats):
                calls = [call_facts(r * 100_000 + i) for i in range(sizes.writer_calls)]
                writer_runs.append(await _through_writer(store, _interleaved(calls),
                                                         Path(tmp) / "evidence.journal"))
        results["evidence_writer"] = {"calls": sizes.writer_calls,
                                      **_rates(writer_runs, sizes.writer_calls * per_call,
                                               sizes.writer_calls)}
        for level in sizes.concurrency:
            runs = []
            for r in range(sizes.repeats):
                calls = [call_facts(level * 10_000_000 + r * 100_000 + i)
                         for i in range(sizes.concurrent_calls)]
                runs.append(await _concurrent(store, calls, level))
            results[f"concurrent_{level}"] = {
                "calls": sizes.concurrent_calls, "concurrency": level,
                **_rates(runs, sizes.concurrent_calls * per_call, sizes.concurrent_calls)}
    return results
