"""Fixtures shared by the suites that drive the real sandbox Asterisk (pbx + phones) and PostgreSQL.

`make test` brings the sandbox up first (scripts/sandbox.sh up). Without it these tests skip locally and
FAIL in CI (CI=true): a compliance product must not pass by skipping its real-server tests.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace

import aiohttp
import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from psycopg.conninfo import make_conninfo

from callrec.ami import AmiGateway
from callrec.ari import basic_authorization
from callrec.config import Config, load
from tests.e2e.harness import Phones

SERVER_DSN = os.environ.get("CALLREC_TEST_PG_DSN", "postgresql://callrec@127.0.0.1:55432/callrec")


def require_listening(host: str, *ports: int) -> None:
    """The sandbox's servers answer on these ports, or the test skips (fails in CI)."""
    for port in ports:
        try:
            socket.create_connection((host, port), timeout=1.0).close()
        except OSError as exc:
            _unavailable(f"sandbox port {host}:{port} ({exc})")


def _unavailable(what: str) -> None:
    message = f"{what} unavailable; run `scripts/sandbox.sh up` (or `make test`)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def pg_server() -> psycopg.Connection:
    """An autocommit connection to the sandbox PostgreSQL server, to create and drop databases."""
    try:
        return psycopg.connect(SERVER_DSN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL ({str(exc).strip().splitlines()[0]})")
        raise  # not reached: _unavailable() skipped or failed the test


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A brand-new, empty database on the sandbox server while the block runs; its DSN. The one
    way every suite gets its own database (dropped afterwards, even with sessions still open)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with pg_server() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(SERVER_DSN, dbname=name)
    finally:
        drop_database(name)


def drop_database(name: str, attempts: int = 10) -> None:
    """DROP ... WITH (FORCE) ends our own sessions, but refuses while a process of another role
    is on the database (an autovacuum worker, seen once in CI): that one ends by itself shortly."""
    for attempt in range(attempts):
        try:
            with pg_server() as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def e2e_dsn() -> Iterator[str]:
    """The database `callrec serve` uses in the end-to-end suites: apart from the store tests'
    (which empty theirs before each test), so a running controller never sees their rows."""
    with throwaway_database("callrec_e2e") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def e2e_config(e2e_dsn: str) -> Config:
    """The sandbox defaults, with tone prompts (so FFT can tell them apart) and short timers."""
    config = load(None, environ={})
    inbound = replace(config.inbound, announcement="sound:callrec/tone-announcement",
                      client_number_prompt="sound:callrec/tone-prompt",
                      invalid_prompt="sound:callrec/tone-prompt",
                      fallback_prompt="sound:callrec/tone-prompt", digit_timeout=1.5,
                      ring_timeout=8)
    return replace(config, database=replace(config.database, dsn=e2e_dsn), inbound=inbound,
                   shutdown_timeout=5.0)


async def asterisk_up(config: Config) -> None:
    a = config.asterisk
    try:
        auth = {"Authorization": basic_authorization(a.ari_user, a.ari_password)}
        async with (aiohttp.ClientSession(headers=auth) as http,
                    http.get(f"{a.ari_url}/ari/asterisk/info",
                             timeout=aiohttp.ClientTimeout(total=3)) as response):
            response.raise_for_status()
    except (aiohttp.ClientError, TimeoutError) as exc:
        _unavailable(f"sandbox Asterisk ({exc!r})")


@pytest_asyncio.fixture(scope="session")
async def phones() -> AsyncIterator[Phones]:
    ami = AmiGateway("127.0.0.1", 5039, "phones", "phones", action_timeout=5.0)
    try:
        await ami.connect()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no sandbox"
        _unavailable(f"phones Asterisk AMI ({exc!r})")
    yield Phones(ami)
    await ami.close()


