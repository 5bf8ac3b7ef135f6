"""The command line as an operator uses it, for the suites that drive `callrec` through click against
the test PostgreSQL. Importing `cli_fixture` and `people_fixture` into a test module gives it the
fixtures `cli` and `people` (named apart, so a test's `cli` argument does not shadow an import); they
need the governance fixtures `migrated_dsn` and `db` (tests/governance/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from callrec.cli.main import main

Run = Callable[..., Result]


@pytest.fixture(name="cli")
def cli_fixture(migrated_dsn: str, db: object) -> Run:
    """`cli("vera", "recordings", "list")`: run as that user against the test database (emptied
    by `db`); checks the exit code, and that any failure is a clean message, never a traceback."""
    def run(user: str, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Result:
        environ: dict[str, str | None] = {"CALLREC_DATABASE_DSN": migrated_dsn,
                                          "CALLREC_ACTING_USER": user, "CALLREC_CONFIG": None,
                                          **(env or {})}
        result = CliRunner().invoke(main, list(args), env=environ)
        assert result.exit_code == code, f"{args}: {result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{args} crashed: {result.exception!r}")
        assert "Traceback" not in result.output
        return result
    return run


@pytest.fixture(name="people")
def people_fixture(cli: Run) -> None:
    """root (admin), vera (viewer), amos (approver) and aud (auditor), added through the CLI."""
    cli("root", "users", "add", "root", "--role", "admin")
    for name, role in [("vera", "viewer"), ("amos", "approver"), ("aud", "auditor")]:
        cli("root", "users", "add", name, "--role", role)
