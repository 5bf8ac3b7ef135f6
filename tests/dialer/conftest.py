"""Dialer tests: the pure parts need nothing; the store and CLI tests run on the real PostgreSQL
through the store test fixtures (skipped without it, FAILED without it when CI=true)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
import pytest_asyncio

from callrec.dialer.store import DialStore
from callrec.store import Store
from tests.store.conftest import *

NZ = ZoneInfo("Pacific/Auckland")
# Tuesday 4 November 2025, 10:00 in Auckland (NZDT, UTC+13): inside the default weekday hours.
T0 = datetime(2025, 11, 4, 10, 0, tzinfo=NZ).astimezone(UTC)


def nz(*args: int) -> datetime:
    """An Auckland wall-clock time as a UTC instant: nz(2025, 11, 4, 9, 30)."""
    return datetime(*args, tzinfo=NZ).astimezone(UTC)  # type: ignore[misc]


@pytest_asyncio.fixture(loop_scope="session")
async def dials(store: Store, raw: psycopg.AsyncConnection) -> AsyncIterator[DialStore]:
    """A DialStore over the emptied test database (dialer tables emptied too)."""
    await raw.execute("TRUNCATE dial_attempts, dial_tasks CASCADE")
    yield DialStore(store.database)


def need_tts() -> None:
    """The prompt tests render speech: espeak-ng and sox, skipped without them (failed in CI)."""
    if shutil.which("espeak-ng") and shutil.which("sox"):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("espeak-ng and sox are required (apt-get install espeak-ng sox)")
    pytest.skip("espeak-ng or sox missing")
