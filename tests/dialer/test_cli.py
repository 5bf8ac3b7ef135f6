"""`callrec dial ...` as an operator uses it (click's CliRunner, once as a real process), on the
real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from callrec.cli.dial import IMPORT_REJECTED_EXIT, register
from callrec.cli.main import main
from callrec.dialer.hours import next_allowed
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore
from callrec.store import Store

register(main)  # what cli/main.py does once wired; a second registration is a no-op
ENTRY = ("import sys; from callrec.cli.main import main; from callrec.cli.dial import register; "
         "register(main); sys.exit(main())")
pytestmark = pytest.mark.pg


@pytest.fixture
async def env(dials: DialStore, store: Store, migrated_dsn: str) -> dict[str, str]:
    await store.add_agent("alice", "PJSIP/alice")
    return {"CALLREC_DATABASE_DSN": migrated_dsn, "CALLREC_CONFIG": ""}


def cli(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_add_list_show_cancel(env: dict[str, str]) -> None:
    added = json.loads(cli(env, "dial", "add", "--number", "021 123 4567", "--client-ref", "C1",
                           "--agent", "alice", "--voicemail", "identifies_client", "--json"))
    assert (added["number"], added["client_ref"], added["business_unit"], added["status"]) == (
        "+64211234567", "C1", "default", "open")
    created = datetime.fromisoformat(added["created_at"])
    unit = DialerConfig().unit("default")
    assert unit is not None
    assert datetime.fromisoformat(added["next_due"]) == next_allowed(unit, created)
    listed = json.loads(cli(env, "dial", "list", "--json"))
    assert [t["id"] for t in listed] == [added["id"]]
    shown = cli(env, "dial", "show", added["id"])
    assert "+64211234567" in shown and "identifies_client" in shown and "Attempts" in shown
    assert "cancelled task" in cli(env, "dial", "cancel", added["id"], "--reason", "resolved")
    [cancelled] = json.loads(cli(env, "dial", "list", "--status", "cancelled", "--json"))
    assert (cancelled["status"], cancelled["close_reason"]) == ("cancelled", "resolved")
    again = cli(env, "dial", "cancel", added["id"], code=1)
    assert "already cancelled" in again


@pytest.mark.parametrize(("args", "message"), [
    (("--number", "021 CALL ME", "--client-ref", "C1"), "number: contains letters"),
    (("--number", "0900 123 456", "--client-ref", "C1"), "premium-rate"),
    (("--number", "021 123 4567", "--client-ref", " "), "client_ref: empty"),
    (("--number", "021 123 4567", "--client-ref", "C1", "--agent", "zed"),
     "no enabled agent named 'zed'"),
    (("--number", "021 123 4567", "--client-ref", "C1", "--business-unit", "x"),
     "unknown business unit 'x'"),
])
def test_add_refuses_with_a_clear_message_and_creates_nothing(
        env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    assert message in cli(env, "dial", "add", *args, code=1)
    assert json.loads(cli(env, "dial", "list", "--json")) == []


def test_a_second_open_task_for_the_same_number_is_refused(env: dict[str, str]) -> None:
    cli(env, "dial", "add", "--number", "021 123 4567", "--client-ref", "C1")
    out = cli(env, "dial", "add", "--number", "+64 21 123 4567", "--client-ref", "C2", code=1)
    assert "not added: +64211234567 already has an open task" in out


def test_import_reports_every_refused_row_and_imports_the_rest(
        env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "tasks.csv"
    csv.write_text("number,client_ref,agent\n021 123 4567,C1,alice\n"
                   "021 ABC,C2,\n09 123 4567,C3,\n09 123 4567,C4,\n", encoding="utf-8")
    out = cli(env, "dial", "import", str(csv), code=IMPORT_REJECTED_EXIT)
    assert "imported 2, refused 2" in out
    assert "contains letters" in out and "same number as line 4" in out
    assert {t["client_ref"] for t in json.loads(cli(env, "dial", "list", "--json"))} == {
        "C1", "C3"}


def test_import_dry_run_and_json(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "tasks.csv"
    csv.write_text("number,client_ref\n021 123 4567,C1\n", encoding="utf-8")
    report = json.loads(cli(env, "dial", "import", str(csv), "--dry-run", "--json"))
    assert (report["dry_run"], report["imported"], report["accepted"], report["rejected"]) == (
        True, 0, 1, 0)
    assert report["rows"][0]["line"] == 2 and report["rows"][0]["status"] == "accepted"
    assert json.loads(cli(env, "dial", "list", "--json")) == []


def test_import_of_a_malformed_file_creates_nothing(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "tasks.csv"
    csv.write_text("phone,client_ref\n021 123 4567,C1\n", encoding="utf-8")
    out = cli(env, "dial", "import", str(csv), code=1)
    assert "header: unknown columns ['phone']" in out
    assert json.loads(cli(env, "dial", "list", "--json")) == []


def test_show_of_an_unknown_or_malformed_id(env: dict[str, str]) -> None:
    assert "no dial task" in cli(env, "dial", "show", "00000000-0000-0000-0000-000000000000",
                                 code=1)
    assert "not a task ID" in cli(env, "dial", "show", "nope", code=2)


def test_the_console_entry_point_runs_the_dial_commands(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-c", ENTRY, "dial", "list", "--json"],
                          env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
