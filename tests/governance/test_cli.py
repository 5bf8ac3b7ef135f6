"""The governance commands as an operator uses them: through click (CliRunner) and once as the
real `callrec` console script in a subprocess. The acting user comes from CALLREC_ACTING_USER."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from callrec.cli import access, recordings_ops, retention
from callrec.cli.main import main
from tests.cli_fixtures import Run, cli_fixture, people_fixture  # noqa: F401  (fixtures)
from tests.governance.conftest import Seeded, SeedRecording

pytestmark = [pytest.mark.pg]

for module in (access, recordings_ops, retention):
    module.register(main)  # idempotent: re-adding a command replaces it


@pytest.fixture
async def rec(seed: SeedRecording) -> Seeded:
    return await seed(business_unit="benefits")


def test_request_approve_fetch_and_verify_through_the_cli(
        cli: Run, people: None, rec: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "copy.wav"
    refused = cli("vera", "recordings", "fetch", str(rec.id), "-o", str(out), code=3)
    assert "refused: no access grant" in refused.output and not out.exists()
    requested = cli("vera", "access", "request", str(rec.id), "--reason", "complaint 17")
    request_id = requested.output.split()[1]
    assert "viewer may not access.approve" in cli("vera", "access", "approve", request_id,
                                                  code=3).output
    assert "granted vera access" in cli("amos", "access", "approve", request_id).output
    cli("vera", "recordings", "fetch", str(rec.id), "-o", str(out))
    assert rec.stereo is not None and out.read_bytes() == rec.stereo.read_bytes()
    assert "intact" in cli("aud", "audit", "verify").output
    entries = json.loads(cli("aud", "audit", "list", "--actor", "vera", "--json").stdout)
    assert [(e["action"], e["outcome"]) for e in reversed(entries)] == [
        ("recordings.fetch", "refused"), ("access.request", "granted"),
        ("access.approve", "refused"), ("recordings.fetch", "granted")]


def test_listing_as_table_json_and_csv(cli: Run, people: None, rec: Seeded) -> None:
    table = cli("vera", "recordings", "list", "--business-unit", "benefits").output
    assert str(rec.id) in table
    [row] = json.loads(cli("vera", "recordings", "list", "--json").stdout)
    assert row["recording"]["id"] == str(rec.id) and row["business_unit"] == "benefits"
    rows = list(csv.DictReader(io.StringIO(cli("vera", "recordings", "list", "--csv").stdout)))
    assert [(r["id"], r["business_unit"], r["legal_hold"]) for r in rows] == [
        (str(rec.id), "benefits", "False")]
    empty = json.loads(cli("vera", "recordings", "list", "--business-unit", "x", "--json").stdout)
    assert empty == []
    assert "unknown user" in cli("nobody", "recordings", "list", code=3).output


def test_show_gives_the_evidence(cli: Run, people: None, rec: Seeded) -> None:
    shown = cli("vera", "recordings", "show", str(rec.id)).output
    assert f"Recording {rec.id}" in shown and "Timeline" in shown
    evidence = json.loads(cli("vera", "recordings", "show", str(rec.id), "--json").stdout)
    assert evidence["row"]["recording"]["sha256"] and evidence["call"]["call"]["id"] == str(
        rec.call_id)
    assert "not a recording ID" in cli("vera", "recordings", "show", "x", code=2).output


def test_a_tampered_audit_log_fails_verify_with_exit_4(
        cli: Run, people: None, migrated_dsn: str) -> None:
    # (a sync test: the CLI runs its own event loop)
    with psycopg.connect(migrated_dsn) as conn, conn.transaction():
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")
    result = cli("aud", "audit", "verify", code=4)
    assert "BROKEN at row 2" in result.output


def test_holds_and_retention(cli: Run, people: None, rec: Seeded) -> None:
    cli("amos", "hold", "add", str(rec.id), "--reason", "litigation")
    plan = cli("root", "retention", "run", "--dry-run", "--json").stdout
    assert json.loads(plan)["due"] == []  # the seeded recording is new: nothing due anyway
    cli("amos", "hold", "remove", str(rec.id), "--reason", "settled")
    assert "refused" in cli("vera", "retention", "run", code=3).output
    assert "seven_years" in cli("root", "retention", "classes").output


def test_encryption_keygen_and_encrypt(cli: Run, people: None, rec: Seeded,
                                       tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    cli("root", "encryption", "keygen", "-o", str(key_file))
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with_key = {"CALLREC_ENCRYPTION_KEY_FILE": str(key_file)}
    done = cli("root", "recordings", "encrypt", "--all", env=with_key).output
    assert "encrypted 4 files of 1" in done
    assert all(f.read_bytes().startswith(b"CRENC01") for f in rec.files)
    assert "no key" in cli("root", "recordings", "encrypt", "--all", code=1).output


def test_the_console_script_runs_the_governed_commands(
        migrated_dsn: str, db: object, rec: Seeded) -> None:
    exe = Path(sys.executable).with_name("callrec")
    env = {**os.environ, "CALLREC_DATABASE_DSN": migrated_dsn, "CALLREC_ACTING_USER": "root"}
    env.pop("CALLREC_CONFIG", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
    added = run("users", "add", "root", "--role", "admin")
    assert added.returncode == 0, f"is register() wired into callrec.cli.main? {added.stderr}"
    listed = run("recordings", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["recording"]["id"] for r in json.loads(listed.stdout)] == [str(rec.id)]
    assert run("audit", "verify").returncode == 0
    assert run("recordings", "fetch", str(rec.id), "-o", "/dev/null/x").returncode != 0
