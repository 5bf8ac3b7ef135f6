"""The listing before and after issue 6's fix, on the same seeded data in the same run.

"Before" is the listing query as it was (the page query LEFT JOINed calls and agent_legs and read
both sort keys) over the indexes of migrations 001-004; it runs inside ONE transaction that swaps
migration 005's indexes back to the old ones and is rolled back (DDL is transactional in
PostgreSQL), so the bench database is left as migrated. "After" is the current code and schema.
Only the query is timed (no audit row), on one connection, never prepared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from benchmarks.listing_bench import Case
from benchmarks.stats import summarise
from callrec.governance import listing
from callrec.governance.listing import RecordingFilter

# The indexes migration 005 replaced, as 001 created them, and their replacements.
_OLD_INDEXES = (
    "CREATE INDEX recordings_started_at_idx ON recordings (started_at)",
    "CREATE INDEX agent_legs_agent_name_idx ON agent_legs (agent_name)",
    "CREATE INDEX recordings_agent_leg_id_idx ON recordings (agent_leg_id)",
)
_NEW_INDEXES = ("recordings_started_id_idx", "agent_legs_agent_name_id_idx",
                "recordings_agent_leg_page_idx")

# The page query before the fix (listing._PAGE at the commit that introduced the listing).
_OLD_PAGE = sql.SQL(
    "SELECT r.id, r.started_at, r.duration_ms FROM recordings r"
    " LEFT JOIN calls c ON c.id = r.call_id LEFT JOIN agent_legs l ON l.id = r.agent_leg_id"
)


def _old_query(f: RecordingFilter) -> tuple[sql.Composed, list[Any]]:
    where = listing._conditions(f)  # the filter terms themselves did not change
    clause = (sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where.terms)
              if where.terms else sql.SQL(""))
    page = (_OLD_PAGE + clause + listing._ORDER[f.sort].format(alias=sql.Identifier("r"))
            + sql.SQL(" LIMIT %s OFFSET %s"))
    outer = listing._EXTRAS.format(columns=listing._COLUMNS, page=page)
    query = outer + listing._ORDER[f.sort].format(alias=sql.Identifier("p"))
    return query, [*where.params, f.limit, f.offset]


def _new_query(f: RecordingFilter) -> tuple[sql.Composed, list[Any]]:
    where = listing._conditions(f)
    return listing._query(f, where), [*where.params, f.limit, f.offset]


def _time_cases(conn: psycopg.Connection, cases: Sequence[Case], repeats: int, old: bool
                ) -> dict[str, list[float]]:
    build = _old_query if old else _new_query
    conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    timings: dict[str, list[float]] = {}
    for case in cases:
        for f in case.filters:  # warm-up
            query, params = build(f)
            conn.cursor(row_factory=dict_row).execute(query, params).fetchall()
        timings[case.name] = []
        for i in range(repeats):
            query, params = build(case.filters[i % len(case.filters)])
            started = time.perf_counter()
            conn.cursor(row_factory=dict_row).execute(query, params).fetchall()
            timings[case.name].append((time.perf_counter() - started) * 1000)
    return timings


def _explain(conn: psycopg.Connection, f: RecordingFilter, old: bool) -> str:
    query, params = (_old_query if old else _new_query)(f)
    rows = conn.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query, params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


def run(dsn: str, cases: Sequence[Case], repeats: int, agent: str) -> dict[str, Any]:
    explain = RecordingFilter(agent=agent)
    with psycopg.connect(dsn, prepare_threshold=None) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        with conn.transaction(force_rollback=True):
            for name in _NEW_INDEXES:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            for statement in _OLD_INDEXES:
                conn.execute(sql.SQL(statement))  # type: ignore[arg-type]  (our constants)
            before = _time_cases(conn, cases, repeats, old=True)
            plan_before = _explain(conn, explain, old=True)
        with conn.transaction(force_rollback=True):
            after = _time_cases(conn, cases, repeats, old=False)
            plan_after = _explain(conn, explain, old=False)
    return {"cases": [{"case": c.name, "before_ms": summarise(before[c.name]).as_json(),
                       "after_ms": summarise(after[c.name]).as_json()} for c in cases],
            "explain_agent": agent, "explain_before": plan_before,
            "explain_after": plan_after}
