"""`callrec dial ...` as an operator uses it (click's CliRunner, once as a real process through the
installed console script), on the real PostgreSQL; and `callrec calls show` of an outbound call."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner

from callrec.cli.dial import IMPORT_REJECTED_EXIT
from callrec.cli.main import main
from callrec.dialer.hours import next_allowed
from callrec.dialer.schedule import Outcome, new_task
from callrec.dialer.scripts import ScriptKind, Voicemail
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore
from callrec.store import Store
from tests.dialer.conftest import T0

# The console script `callrec` as pyproject.toml installs it, beside this interpreter.
CONSOLE_SCRIPT = Path(sys.executable).with_name("callrec")
pytestmark = pytest.mark.pg


@pytest.fixture
async def env(dials: DialStore, store: Store, migrated_dsn: str) -> dict[str, str]:
    await store.add_agent("alice", "PJSIP/alice")
    return {"CALLREC_DATABASE_DSN": migrated_dsn, "CALLREC_CONFIG": ""}


def cli(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


async def in_thread(env: dict[str, str], *args: str, code: int = 0) -> str:
    """`cli` from an async test: the CLI runs its own event loop (asyncio.run)."""
    return await asyncio.to_thread(cli, env, *args, code=code)


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
    assert CONSOLE_SCRIPT.is_file(), "callrec is not installed in this environment"
    done = subprocess.run([str(CONSOLE_SCRIPT), "dial", "list", "--json"],
                          env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    helped = subprocess.run([str(CONSOLE_SCRIPT), "dialer", "run", "--help"],
                            env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=60, check=False)
    assert helped.returncode == 0 and "whatever [dialer] enabled says" in helped.stdout, (
        helped.stderr)


async def test_calls_show_of_an_outbound_call_shows_its_task_and_attempt(
        env: dict[str, str], dials: DialStore, store: Store) -> None:
    """Attempt 1 reached a machine (voicemail left, nothing recorded), attempt 2 a person (the
    call recorded): each call shows its own attempt; an inbound call shows no dialer section."""
    config = DialerConfig()
    task = new_task(config, id=uuid4(), number="+64211234567", client_ref="C-4821",
                    created_at=T0, agent="alice")
    await dials.add([task])
    machine, person, inbound, recording = uuid4(), uuid4(), uuid4(), uuid4()
    for call_id, direction in ((machine, "outbound"), (person, "outbound"), (inbound, "inbound")):
        await store.create_call(call_id, direction=direction, caller_number="+64211234567",
                                channel_id=f"ch-{call_id}", started_at=T0)
    await dials.begin_attempt(task.id, T0, config)
    words = Voicemail(ScriptKind.MINIMAL, "Kia ora, this is a case manager from the Ministry.")
    await dials.voicemail_left(task.id, 1, words, "sound:callrec/vm/vm-0123",
                               T0 + timedelta(seconds=20))
    await dials.attach_call(task.id, 1, machine)
    after = await dials.finish_attempt(task.id, Outcome.MACHINE_VOICEMAIL_LEFT,
                                       T0 + timedelta(seconds=35), config, amd_verdict="MACHINE",
                                       amd_cause="LONGGREETING-1500-1500")
    assert after.next_due is not None
    await dials.begin_attempt(task.id, after.next_due, config)
    await store.recording_started(recording, call_id=person, agent_leg_id=None, segment=1,
                                  mixmonitor_id=f"mm-{recording}", file_mix="m.wav",
                                  file_caller="c.wav", file_agent="a.wav", at=after.next_due)
    await dials.attach_call(task.id, 2, person)
    await dials.finish_attempt(task.id, Outcome.ANSWERED_HUMAN,
                               after.next_due + timedelta(minutes=4), config,
                               amd_verdict="HUMAN", amd_cause="HUMAN-1-1", recording_id=recording)

    first = json.loads(await in_thread(env, "calls", "show", str(machine), "--json"))["dialer"]
    assert first["task"] == {"id": str(task.id), "client_ref": "C-4821",
                             "number": "+64211234567", "business_unit": "default",
                             "status": "closed", "close_reason": "completed"}
    a = first["attempt"]
    assert (a["n"], a["outcome"], a["amd_verdict"], a["amd_cause"], a["script_kind"],
            a["script_text"], a["recording_id"], a["call_id"]) == (
        1, "machine_voicemail_left", "MACHINE", "LONGGREETING-1500-1500", "minimal", words.text,
        None, str(machine))
    assert datetime.fromisoformat(a["script_at"]) == T0 + timedelta(seconds=20)
    shown_json = json.loads(await in_thread(env, "calls", "show", str(person), "--json"))
    second = shown_json["dialer"]["attempt"]
    assert (second["n"], second["outcome"], second["amd_verdict"], second["recording_id"]) == (
        2, "answered_human", "HUMAN", str(recording))

    shown = await in_thread(env, "calls", "show", str(machine))
    assert "Dial task" in shown and "Dial attempt 1 of 3" in shown
    for fact in (str(task.id), "C-4821", "+64211234567", "machine_voicemail_left",
                 "MACHINE LONGGREETING-1500-1500", "minimal", words.text):
        assert fact in shown, fact
    shown = await in_thread(env, "calls", "show", str(person))
    assert "Dial attempt 2 of 3" in shown and str(recording) in shown
    assert "HUMAN HUMAN-1-1" in shown

    assert "dialer" not in json.loads(await in_thread(env, "calls", "show", str(inbound),
                                                      "--json"))
    assert "Dial " not in await in_thread(env, "calls", "show", str(inbound))


async def test_calls_show_of_an_outbound_call_no_attempt_cites(
        env: dict[str, str], store: Store) -> None:
    call_id = uuid4()
    await store.create_call(call_id, direction="outbound", caller_number="+64211234567",
                            channel_id="ch-1", started_at=T0)
    shown = json.loads(await in_thread(env, "calls", "show", str(call_id), "--json"))
    assert shown["call"]["direction"] == "outbound" and shown["dialer"] is None
    assert "none cites this call" in await in_thread(env, "calls", "show", str(call_id))


def test_a_task_added_outside_its_units_hours_says_when_it_will_first_be_called(
        env: dict[str, str], tmp_path: Path) -> None:
    """Accepted (the client asked to be called), never dialled before its window: the operator is
    told when the first attempt may happen, in the unit's own time."""
    now = datetime.now(UTC)
    window, opens = ("01:00-02:00", 1) if now.hour >= 20 else ("22:00-23:00", 22)
    config = tmp_path / "callrec.toml"
    config.write_text('[dialer.business_units.night]\ntimezone = "UTC"\n'
                      f'caller_id = "0800559009"\nhours = {{ daily = "{window}" }}\n')
    out = cli({**env, "CALLREC_CONFIG": str(config)}, "dial", "add", "--number", "021 123 4599",
              "--client-ref", "C9", "--business-unit", "night")
    assert "outside the calling hours of night now: first attempt not before" in out
    [task] = json.loads(cli({**env, "CALLREC_CONFIG": str(config)}, "dial", "list", "--json"))
    due = datetime.fromisoformat(task["next_due"])
    assert (due.hour, due.minute) == (opens, 0) and now < due < now + timedelta(days=1)
