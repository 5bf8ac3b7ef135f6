"""Fixtures for the governance tests: the real PostgreSQL of tests/store (a fresh database per
session, migrated once), emptied before each test -- audit log included -- plus recordings with
real WAV files on disk and a clock the test moves.

Without a reachable server the tests skip, unless CI=true, where they fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
import pytest_asyncio

from callrec.audio import write_tone
from callrec.governance import Governance, Role
from callrec.governance.settings import AccessConfig
from callrec.store import Store
from callrec.store.pool import Database
from tests.store.conftest import (  # noqa: F401  (fixtures)
    EVIDENCE_TABLES,
    migrated_dsn,
    pg_server_dsn,
    session_db_dsn,
)

GOVERNANCE_TABLES = ("disposals", "legal_holds", "access_grants", "access_requests", "users")
T0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


class FakeClock:
    """The governance clock, moved by the test (grants expire, recordings age)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def reset_audit_log(conn: psycopg.AsyncConnection) -> None:
    """Empty the append-only log between tests: the owner's only way, disabling the trigger,
    inside one transaction so no other session ever sees it disabled."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate")
        await conn.execute("TRUNCATE audit_log")
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate")


@pytest_asyncio.fixture(loop_scope="session")
async def raw(migrated_dsn: str) -> AsyncIterator[psycopg.AsyncConnection]:  # noqa: F811
    """A plain connection (as the tables' owner) to look and tamper behind the code's back."""
    async with await psycopg.AsyncConnection.connect(migrated_dsn, autocommit=True) as conn:
        yield conn


@pytest_asyncio.fixture(loop_scope="session")
async def db(migrated_dsn: str, raw: psycopg.AsyncConnection) -> AsyncIterator[Database]:  # noqa: F811
    tables = ", ".join(EVIDENCE_TABLES + GOVERNANCE_TABLES)
    await raw.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    await reset_audit_log(raw)
    database = await Database.connect(migrated_dsn, min_size=1, max_size=4, timeout=10)
    yield database
    await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def as_user(db: Database, clock: FakeClock) -> Callable[[str], Governance]:
    """Governance acting as the named user, on the test clock."""
    def make(name: str) -> Governance:
        return Governance(db, name, access=AccessConfig(grant_hours=24), clock=clock)
    return make


@pytest_asyncio.fixture(loop_scope="session")
async def users(as_user: Callable[[str], Governance]) -> dict[str, Governance]:
    """root (admin, the bootstrap user), vera (viewer), amos and april (approvers), aud
    (auditor)."""
    await as_user("root").add_user("root", Role.ADMIN)
    for name, role in [("vera", Role.VIEWER), ("amos", Role.APPROVER), ("april", Role.APPROVER),
                       ("aud", Role.AUDITOR)]:
        await as_user("root").add_user(name, role)
    return {n: as_user(n) for n in ("root", "vera", "amos", "april", "aud")}


@dataclass(frozen=True)
class Seeded:
    id: UUID
    call_id: UUID
    mix: Path
    stereo: Path | None
    legs: tuple[Path, Path]

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.mix, *self.legs, *((self.stereo,) if self.stereo else ()))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SeedRecording = Callable[..., Awaitable[Seeded]]


@pytest_asyncio.fixture(loop_scope="session")
async def seed(db: Database, raw: psycopg.AsyncConnection, tmp_path: Path) -> SeedRecording:
    """Make a finalised recording with real files: a 400 Hz mix, two legs and (by default) a
    stereo copy whose fingerprint is stored, in a call of the given queue / business unit."""
    store = Store(db)

    async def make(*, started: datetime = T0, queue: str | None = None,
                   business_unit: str | None = None, stereo: bool = True, seconds: float = 1.0,
                   caller: str = "+3225550100", status: str = "complete") -> Seeded:
        rec_id, call_id = uuid4(), uuid4()
        folder = tmp_path / str(rec_id)
        folder.mkdir()
        mix = write_tone(folder / "mix.wav", 400, seconds)
        legs = (write_tone(folder / "rx.wav", 400, seconds),
                write_tone(folder / "tx.wav", 550, seconds))
        stereo_file = write_tone(folder / "stereo.wav", 700, seconds) if stereo else None
        await store.create_call(call_id, direction="inbound", caller_number=caller,
                                channel_id=f"ch-{call_id}", started_at=started, queue=queue,
                                business_unit=business_unit)
        await store.recording_started(
            rec_id, call_id=call_id, agent_leg_id=None, segment=1, mixmonitor_id=f"mm-{rec_id}",
            file_mix=str(mix), file_caller=str(legs[0]), file_agent=str(legs[1]), at=started)
        await store.recording_finalised(
            rec_id, stopped_at=started + timedelta(seconds=seconds),
            duration_ms=int(seconds * 1000), bytes=mix.stat().st_size, sha256=sha256(mix),
            file_stereo=None if stereo_file is None else str(stereo_file), status=status)
        if stereo_file is not None:
            await raw.execute("UPDATE recordings SET stereo_sha256 = %s WHERE id = %s",
                              (sha256(stereo_file), rec_id))
        return Seeded(rec_id, call_id, mix, stereo_file, legs)

    return make


async def audit_rows(raw: psycopg.AsyncConnection) -> list[tuple[str, str, str | None, str]]:
    """(actor, action, target, outcome) of every audit row, oldest first."""
    cur = await raw.execute("SELECT actor, action, target, outcome FROM audit_log ORDER BY seq")
    return list(await cur.fetchall())
