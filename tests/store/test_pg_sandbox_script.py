"""scripts/pg-sandbox.sh: the throwaway PostgreSQL the store tests and the sandbox run against."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-sandbox.sh"
DEFAULT_DIR = Path("/var/tmp/callrec/pg")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Only the variables a test sets explicitly may differ from the defaults.
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLREC_PG_")}
    return subprocess.run([str(SCRIPT), *args], env={**base, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


def test_dsn_names_the_callrec_role_and_database_on_loopback() -> None:
    assert run("dsn").stdout.strip() == "postgresql://callrec@127.0.0.1:55432/callrec"
    assert run("dsn", CALLREC_PG_PORT="6543").stdout.strip() == (
        "postgresql://callrec@127.0.0.1:6543/callrec")


def test_status_of_a_cluster_that_was_never_created(tmp_path: Path) -> None:
    result = run("status", CALLREC_PG_DIR=str(tmp_path / "nothing"), CALLREC_PG_PORT="1")
    assert result.returncode == 3
    assert "absent" in result.stdout


def test_unknown_command_prints_usage() -> None:
    result = run("explode")
    assert result.returncode == 2
    assert "usage" in result.stderr


@pytest.mark.pg
def test_up_on_a_running_sandbox_changes_nothing(pg_server_dsn: str) -> None:
    if pg_server_dsn != run("dsn").stdout.strip():
        pytest.skip("tests point CALLREC_TEST_PG_DSN at a server this script does not manage")
    if os.geteuid() != 0:
        pytest.skip("pg-sandbox.sh manages the cluster as root (runuser -u postgres)")
    pid_file = DEFAULT_DIR / "data" / "postmaster.pid"
    before = pid_file.read_text().splitlines()[0]

    result = run("up")

    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    assert pid_file.read_text().splitlines()[0] == before
    status = run("status")
    assert status.returncode == 0 and "running" in status.stdout
