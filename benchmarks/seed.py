"""A large evidence store in seconds: generate_series, all in SQL, deterministic (setseed).

Shape (for 1,000,000 recordings): 2 years of calls in time order, 95 % with one recording and 5 %
requeued to a second agent; ~300 agents with a skewed workload and 30 % extra unanswered offers;
~100,000 callers (2 % "anonymous", the withheld number); ~200,000 client numbers on identified
inbound calls; 85 % inbound; 8 business units and 24 queues, skewed; statuses mostly complete;
holds on ~10 % of recordings (a few with two); a few hundred legal holds. Timelines, announcements
and transfers are not seeded: the listing never reads them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

UNITS = ("benefits", "tax", "housing", "pensions", "health", "licensing", "fraud", "legal")
SEED = 0.42


@dataclass(frozen=True)
class SeedFacts:
    recordings: int
    calls: int
    agent_legs: int
    holds: int
    legal_holds: int
    seconds: float
    table_mb: dict[str, float]


# Recordings come out in call (= time) order from the merge join, as they were written; no sort
# of the wide rows is needed. Every statement runs with the same parameters: n = recordings, c = calls. The first c recordings
# are segment 1 of calls 1..c; the rest are segment 2 of every 19th call. The random draws are
# made once per row into temporary tables (g: calls, rg: recordings), and the evidence tables are
# filled from them by hash joins on integers: no per-row index probe to find a call again.
_DRAW_CALLS = """
CREATE TEMP TABLE g ON COMMIT DROP AS
SELECT i, md5('call' || i)::uuid AS id,
       CASE WHEN r1 < 0.85 THEN 'inbound' ELSE 'outbound' END AS direction,
       CASE WHEN r2 < 0.02 THEN 'anonymous'
            ELSE '06' || lpad(floor(100000 * power(r3, 1.3))::int::text, 8, '0') END AS caller,
       CASE WHEN r1 < 0.85 AND r4 < 0.9 THEN lpad(floor(200000 * r5)::int::text, 7, '0') END
           AS client,
       floor(8 * power(r6, 1.8))::int AS unit, floor(3 * r7)::int AS sub,
       timestamptz '2024-01-01 00:00+00' + (i::float8 / %(c)s) * interval '730 days'
           + r8 * interval '30 minutes' AS started
FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
             random() r7, random() r8 FROM generate_series(1, %(c)s) AS i) d
"""

_CALLS = """
INSERT INTO calls (id, direction, caller_number, client_number, queue, business_unit, channel_id,
                   started_at, answered_at, ended_at, outcome, end_reason)
SELECT id, direction, caller, client, 'q' || (unit * 3 + sub), (%(units)s::text[])[unit + 1],
       '1700000000.' || i, started, started + interval '20 seconds', started + interval '5 minutes',
       'answered', 'agent_hangup'
FROM g ORDER BY i
"""

# Agent numbers are skewed: some agents take far more calls than others.
_DRAW_RECORDINGS = """
CREATE TEMP TABLE rg ON COMMIT DROP AS
SELECT j, CASE WHEN j <= %(c)s THEN j ELSE (j - %(c)s) * 19 END AS call,
       md5('leg' || j)::uuid AS leg_id, md5('rec' || j) AS rec_hex,
       'agent' || lpad(floor(300 * power(r1, 1.4))::int::text, 3, '0') AS agent,
       (5000 - ln(1 - r2) * 240000)::int AS ms,
       CASE WHEN r3 < 0.965 THEN 'complete' WHEN r3 < 0.985 THEN 'incomplete'
            WHEN r3 < 0.993 THEN 'interrupted' WHEN r3 < 0.998 THEN 'failed'
            ELSE 'purged' END AS status,
       CASE WHEN r4 < 0.1 THEN CASE WHEN r5 < 0.1 THEN 2 ELSE 1 END ELSE 0 END AS holds
FROM (SELECT j, random() r1, random() r2, random() r3, random() r4, random() r5
      FROM generate_series(1, %(n)s) AS j) d
"""

_LEGS = """
INSERT INTO agent_legs (id, call_id, agent_name, channel_id, offered_at, answered_at, joined_at,
                        left_at, left_reason, outcome)
SELECT rg.leg_id, g.id, rg.agent, 'callrec-agent-' || rg.j, g.started,
       g.started + interval '15 seconds', g.started + interval '15 seconds',
       g.started + interval '15 seconds' + rg.ms * interval '1 millisecond', 'agent_hangup',
       'answered'
FROM rg JOIN g ON g.i = rg.call ORDER BY rg.j
"""

# Offers nobody answered: an agent's name matches more legs than recordings.
_UNANSWERED = """
INSERT INTO agent_legs (id, call_id, agent_name, channel_id, offered_at, outcome)
SELECT md5('offer' || i)::uuid, id,
       'agent' || lpad(floor(300 * power(random(), 1.4))::int::text, 3, '0'),
       'callrec-offer-' || i, started + interval '5 seconds', 'no_answer'
FROM g WHERE i %% 10 < 3 ORDER BY i
"""

_RECORDINGS = """
INSERT INTO recordings (id, call_id, agent_leg_id, segment, mixmonitor_id, file_mix, file_caller,
                        file_agent, file_stereo, started_at, stop_requested_at, stopped_at,
                        stop_reason, duration_ms, bytes, sha256, stereo_sha256, status,
                        agent_name)
SELECT rg.rec_hex::uuid, g.id, rg.leg_id, CASE WHEN rg.j <= %(c)s THEN 1 ELSE 2 END,
       'callrec-' || rg.rec_hex, p.path || '-mix.wav', p.path || '-caller.wav',
       p.path || '-agent.wav', p.path || '-stereo.wav', t.at, t.at + rg.ms * interval '1 ms',
       t.at + rg.ms * interval '1 ms', 'agent_hangup', rg.ms, rg.ms::bigint * 16,
       md5('a' || rg.j) || md5('b' || rg.j), md5('c' || rg.j) || md5('d' || rg.j), rg.status,
       rg.agent  -- what migration 007's trigger would look up: given, so a bulk seed stays fast
FROM rg JOIN g ON g.i = rg.call
CROSS JOIN LATERAL (SELECT g.started + interval '15 seconds' AS at) t
CROSS JOIN LATERAL (SELECT '/var/spool/callrec/' || to_char(t.at, 'YYYY/MM/DD/') || rg.rec_hex
                    AS path) p
"""

# A hold a third of the way in lasting a quarter of the recording (a second one two thirds in).
_HOLDS = """
INSERT INTO holds (id, call_id, recording_id, started_at, ended_at, start_offset_ms, end_offset_ms)
SELECT md5('hold' || rg.j || '.' || k)::uuid, g.id, rg.rec_hex::uuid,
       t.at + o.start_ms * interval '1 ms', t.at + o.end_ms * interval '1 ms', o.start_ms, o.end_ms
FROM rg JOIN g ON g.i = rg.call
CROSS JOIN LATERAL generate_series(1, rg.holds) AS k
CROSS JOIN LATERAL (SELECT g.started + interval '15 seconds' AS at) t
CROSS JOIN LATERAL (SELECT k * rg.ms / 3 AS start_ms, k * rg.ms / 3 + rg.ms / 4 AS end_ms) o
WHERE rg.holds > 0
"""

# One recording in 4,000 under a legal hold; one in five of those holds since released.
_LEGAL_HOLDS = """
INSERT INTO legal_holds (id, recording_id, reason, placed_by, placed_at, released_by, released_at,
                         release_reason)
SELECT md5('legal' || j)::uuid, rec_hex::uuid, 'litigation', 'amos',
       timestamptz '2026-01-01 00:00+00', CASE WHEN j %% 5 = 0 THEN 'amos' END,
       CASE WHEN j %% 5 = 0 THEN timestamptz '2026-02-01 00:00+00' END,
       CASE WHEN j %% 5 = 0 THEN 'case closed' END
FROM rg WHERE j %% 4000 = 7
"""

_STATEMENTS = (_DRAW_CALLS, _CALLS, _DRAW_RECORDINGS, _LEGS, _UNANSWERED, _RECORDINGS, _HOLDS,
               _LEGAL_HOLDS)
_TABLES = ("calls", "agent_legs", "recordings", "holds", "legal_holds")

# Bulk loading the way pg_restore does it: without the seeded tables' keys, indexes and foreign
# keys, which are rebuilt once at the end (a sorted build per index, one join per foreign key)
# instead of a B-tree insertion and two trigger probes per row: ~5x faster. All in one transaction,
# and the rebuilt schema is checked to be exactly the migrated one.
_FOREIGN_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND (conrelid = ANY (%(tables)s::regclass[])
                         OR confrelid = ANY (%(tables)s::regclass[]))
ORDER BY conrelid::regclass::text, conname
"""
_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype IN ('p', 'u') AND conrelid = ANY (%(tables)s::regclass[])
ORDER BY conrelid::regclass::text, contype, conname
"""
_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
WHERE i.indrelid = ANY (%(tables)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""

Definition = tuple[str, ...]


def _schema(conn: psycopg.Connection) -> tuple[list[Definition], ...]:
    params = {"tables": list(_TABLES)}
    return tuple([tuple(row) for row in conn.execute(query, params).fetchall()]
                 for query in (_FOREIGN_KEYS, _KEYS, _INDEXES))


def _drop(conn: psycopg.Connection, schema: tuple[list[Definition], ...]) -> None:
    foreign, keys, indexes = schema
    for table, name, _ in (*foreign, *keys):
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)))
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))


def _rebuild(conn: psycopg.Connection, schema: tuple[list[Definition], ...]) -> None:
    foreign, keys, indexes = schema
    for table, name, definition in (*keys, *foreign):
        # The definition is PostgreSQL's own rendering of a constraint it held a moment ago.
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))
    for _, definition in indexes:
        conn.execute(sql.SQL(definition))


def seed(dsn: str, recordings: int) -> SeedFacts:
    calls = recordings * 95 // 100
    params: dict[str, Any] = {"n": recordings, "c": calls, "units": list(UNITS)}
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        with conn.transaction():
            for setting in ("synchronous_commit = off", "work_mem = '256MB'",
                            "maintenance_work_mem = '512MB'", "jit = off"):
                conn.execute(sql.SQL("SET LOCAL " + setting))  # a bench fixture, not evidence
            schema = _schema(conn)
            _drop(conn, schema)
            conn.execute("SELECT setseed(%s)", (SEED,))
            for statement in _STATEMENTS:
                conn.execute(statement, params)
            _rebuild(conn, schema)
            if _schema(conn) != schema:
                raise RuntimeError("the rebuilt schema differs from the migrated one")
        # Autovacuum would have done this on a store that grew over two years: statistics for the
        # planner and a visibility map for index-only scans.
        conn.execute("VACUUM ANALYZE")
        seconds = time.perf_counter() - started
        counts = {t: _count(conn, t) for t in _TABLES}
        sizes = {t: _megabytes(conn, t) for t in _TABLES}
    return SeedFacts(counts["recordings"], counts["calls"], counts["agent_legs"], counts["holds"],
                     counts["legal_holds"], seconds, sizes)


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _megabytes(conn: psycopg.Connection, table: str) -> float:
    row = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (table,)).fetchone()
    return round(int(row[0]) / 1e6, 1) if row else 0.0
