"""`callrec recordings list` over a large store: p50/p95 per filter the CLI offers.

Two timings per query, interleaved: ``query`` is ``governance.listing.list_recordings`` in its own
transaction (the SQL and row building); ``cli_path`` is ``Governance.list_recordings``, exactly what
the CLI command calls (user look-up, the query, the audit row, the commit). Click's own start-up
and printing are not included. Each case cycles through several values (20 agents, 20 callers...)
so its p95 covers the spread of the data, not one warm value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from benchmarks.seed import UNITS
from benchmarks.stats import summarise
from callrec.governance import Governance
from callrec.governance import store as q
from callrec.governance.listing import RecordingFilter, list_recordings
from callrec.store.pool import Database

TARGET_P95_MS = 50.0
USER = "bench"
LATEST = datetime(2026, 1, 1, tzinfo=UTC)  # the seed covers 2024-01-01 .. 2025-12-31


@dataclass(frozen=True)
class Case:
    name: str
    filters: tuple[RecordingFilter, ...]
    gated: bool = True  # counted against the target; False: a combination, shown for information


@dataclass(frozen=True)
class Samples:
    """Filter values drawn from the seeded data (deterministically)."""

    agents: list[str]  # spread from the busiest to the quietest
    busiest_agent: str
    busiest_agent_recordings: int
    all_agents: int
    recordings: int
    callers: list[str]
    clients: list[str]
    call_ids: list[UUID]


def _column(conn: psycopg.Connection, query: str) -> list[Any]:
    return [row[0] for row in conn.execute(query).fetchall()]


def draw_samples(dsn: str, count: int = 20) -> Samples:
    with psycopg.connect(dsn) as conn:
        busy = conn.execute(
            "SELECT l.agent_name, count(*) FROM recordings r JOIN agent_legs l"
            " ON l.id = r.agent_leg_id GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        agents = [name for name, _ in busy]
        step = max(1, len(agents) // count)
        sample = "TABLESAMPLE SYSTEM (1) REPEATABLE (7)"
        return Samples(
            agents=agents[::step][:count], busiest_agent=agents[0],
            busiest_agent_recordings=busy[0][1], all_agents=len(agents),
            recordings=sum(n for _, n in busy),
            callers=_column(conn, f"SELECT caller_number FROM calls {sample} WHERE caller_number"
                                  f" <> 'anonymous' ORDER BY id LIMIT {count}"),
            clients=_column(conn, f"SELECT client_number FROM calls {sample} WHERE client_number"
                                  f" IS NOT NULL ORDER BY id LIMIT {count}"),
            call_ids=_column(conn, f"SELECT call_id FROM recordings {sample} ORDER BY id"
                                   f" LIMIT {count}"))


def _months(count: int) -> list[tuple[datetime, datetime]]:
    starts = [datetime(2024 + m // 12, m % 12 + 1, 1, tzinfo=UTC) for m in range(24)]
    picks = [starts[(i * 7) % 24] for i in range(count)]
    return [(s, (s + timedelta(days=32)).replace(day=1)) for s in picks]


def cases(s: Samples) -> list[Case]:
    f = RecordingFilter
    months = _months(len(s.agents))
    days = [(a, a + timedelta(days=1)) for a, _ in months]
    queues = [f"q{i}" for i in range(24)]
    return [
        Case("no filter (page 1)", (f(),)),
        Case("date range: one month", tuple(f(since=a, until=b) for a, b in months)),
        Case("date range: one day", tuple(f(since=a, until=b) for a, b in days)),
        Case("date range: last 7 days", (f(since=LATEST - timedelta(days=7)),)),
        Case("agent (20 agents, busiest to quietest)", tuple(f(agent=a) for a in s.agents)),
        Case("agent: the busiest", (f(agent=s.busiest_agent),)),
        Case("agent + one month", tuple(f(agent=a, since=m[0], until=m[1])
                                        for a, m in zip(s.agents, months, strict=True))),
        Case("caller", tuple(f(caller_number=c) for c in s.callers)),
        Case("caller: 'anonymous' (2 % of calls)", (f(caller_number="anonymous"),)),
        Case("client", tuple(f(client_number=c) for c in s.clients)),
        Case("call id", tuple(f(call_id=c) for c in s.call_ids)),
        Case("direction: outbound", (f(direction="outbound"),)),
        Case("direction: inbound", (f(direction="inbound"),)),
        Case("business unit (all 8)", tuple(f(business_unit=u) for u in UNITS)),
        Case("queue (all 24)", tuple(f(queue=q_) for q_ in queues)),
        Case("status: complete", (f(status="complete"),)),
        Case("status: failed (0.5 %)", (f(status="failed"),)),
        Case("has holds", (f(has_holds=True),)),
        Case("legal hold", (f(legal_hold=True),)),
        Case("combination: unit + outbound + failed",
             tuple(f(business_unit=u, direction="outbound", status="failed") for u in UNITS),
             gated=False),
        Case("caller + has holds", tuple(f(caller_number=c, has_holds=True) for c in s.callers)),
        Case("sort by duration", (f(sort="duration"),)),
        Case("paging: shallow (page 2)", (f(page=2),)),
        Case("paging: deep (page 1000, offset 49,950)", (f(page=1000),)),
        Case("paging: deep, sort by duration", (f(page=1000, sort="duration"),)),
        Case("paging: agent, page 20", tuple(f(agent=a, page=20) for a in s.agents)),
        Case("paging: very deep (page 10000, offset 499,950)", (f(page=10_000),), gated=False),
    ]


async def _query_only(db: Database, f: RecordingFilter) -> int:
    async with q.transaction(db, "bench list") as conn:
        return len(await list_recordings(conn, f))


async def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    await work()
    return (time.perf_counter() - started) * 1000


async def _measure_case(db: Database, gov: Governance, case: Case, repeats: int
                        ) -> dict[str, Any]:
    query_ms, cli_ms, rows = [], [], 0
    for f in case.filters:  # warm-up: one pass over the values
        rows = max(rows, await _query_only(db, f))
    for i in range(repeats):
        f = case.filters[i % len(case.filters)]
        query_ms.append(await _timed(lambda f=f: _query_only(db, f)))
        cli_ms.append(await _timed(lambda f=f: gov.list_recordings(f)))
    query, cli = summarise(query_ms), summarise(cli_ms)
    return {"case": case.name, "values": len(case.filters), "rows_per_page_max": rows,
            "query_ms": query.as_json(), "cli_path_ms": cli.as_json(), "gated": case.gated,
            "met": cli.p95 < TARGET_P95_MS}


async def _utc(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")  # as the store's pool does


async def _cli_like_database(dsn: str) -> Database:
    """The store's pool, configured as ``Database.connect`` does, but never preparing statements.

    psycopg prepares a query once a connection has run it 5 times, and PostgreSQL may then switch
    to a generic plan, blind to the value (``--caller anonymous`` matches 20,000 rows, a typical
    caller 10). Each CLI command is a new process with a new connection, so it never gets there;
    a benchmark reusing one connection would, and would measure something the CLI never does."""
    pool = AsyncConnectionPool(dsn, min_size=1, max_size=2, open=False, configure=_utc,
                               kwargs={"autocommit": True, "prepare_threshold": None})
    await pool.open(wait=True, timeout=10)
    return Database(pool)


async def bench_listing(dsn: str, repeats: int, case_list: Sequence[Case]) -> list[dict[str, Any]]:
    db = await _cli_like_database(dsn)
    try:
        gov = Governance(db, USER)
        return [await _measure_case(db, gov, case, repeats) for case in case_list]
    finally:
        await db.close()


def add_user(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (name, role, created_at, created_by)"
                     " VALUES (%s, 'viewer', now(), 'bench') ON CONFLICT DO NOTHING", (USER,))


def run(dsn: str, repeats: int) -> dict[str, Any]:
    add_user(dsn)
    samples = draw_samples(dsn)
    results = asyncio.run(bench_listing(dsn, repeats, cases(samples)))
    return {"target_p95_ms": TARGET_P95_MS, "repeats_per_case": repeats,
            "busiest_agent": samples.busiest_agent,
            "busiest_agent_recordings": samples.busiest_agent_recordings,
            "agents": samples.all_agents,
            "mean_agent_recordings": samples.recordings / max(1, samples.all_agents),
            "cases": results}
