"""Fixtures for the hostile-input tests that reach PostgreSQL: the sandbox server (one database per
session, migrated once; skipped locally without it, a failure when CI=true), with the evidence and
governance tables and the audit log emptied before each test, and recordings with real files."""

from __future__ import annotations

from tests.governance.conftest import db, raw, seed  # noqa: F401  (emptied tables; seeded recordings)
from tests.store.conftest import *  # the sandbox PostgreSQL's fixtures
from tests.store.conftest import migrated_dsn  # noqa: F401  (named: used by the cli fixture)
