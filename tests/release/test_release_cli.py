"""`callrec release create|list` through click's CliRunner, and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner

from callrec.cli.main import main
from callrec.governance.access import Role
from callrec.governance.service import Governance as GovernanceService
from callrec.governance.service import Refusal
from callrec.store import Store, StoreError
from callrec.store.pool import Database
from tests.release.evidence import RecordedCall, recorded_call

# The console script `callrec` as pyproject.toml installs it, beside this interpreter.
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("callrec"))


async def _user(db: Database, name: str, role: Role) -> None:
    try:
        await GovernanceService(db, "root").add_user(name, role)
    except (Refusal, StoreError):
        pass  # already there from an earlier test: users outlive the emptied evidence tables


async def grant(store: Store, recording_id: UUID, requester: str = "rita") -> None:
    """`requester` asks for the recording and an approver grants it: what release requires."""
    db = store.database
    for name, role in (("root", Role.ADMIN), (requester, Role.VIEWER), ("amos", Role.APPROVER)):
        await _user(db, name, role)
    request = await GovernanceService(db, requester).request_access(recording_id, "client asked")
    await GovernanceService(db, "amos").approve(request.id)


@pytest.fixture
async def call(store: Store, tmp_path: Path) -> RecordedCall:
    recorded = await recorded_call(store, tmp_path / "spool",
                                   [(400, 2.0), (1800, 1.5), (550, 2.0)], holds_ms=[(2000, 3500)])
    await grant(store, recorded.recording_id)
    return recorded


@pytest.fixture
def env(migrated_dsn: str) -> dict[str, str]:
    return {"CALLREC_DATABASE_DSN": migrated_dsn, "CALLREC_CONFIG": "",
            "CALLREC_ACTING_USER": "rita"}


def test_a_user_without_a_grant_is_refused_and_nothing_is_written(
        call: RecordedCall, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "client.wav"
    code, text = invoke({**env, "CALLREC_ACTING_USER": "amos"}, "release", "create",
                        str(call.recording_id), "--request-ref", "R", "--reviewed", "-o", str(out))
    assert code != 0 and "refused" in text and not out.exists()


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_a_release_whose_pipeline_breaks_is_audited_as_failed(
        call: RecordedCall, env: dict[str, str], migrated_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "client.mp3"
    no_ffmpeg = {**env, "PATH": str(tmp_path / "empty-bin")}  # allowed, but MP3 cannot be made
    code, text = invoke(no_ffmpeg, "release", "create", str(call.recording_id), "--request-ref",
                        "R", "--reviewed", "-o", str(out))
    assert code != 0 and "ffmpeg not found" in text and not out.exists()
    with psycopg.connect(migrated_dsn) as conn:
        last = conn.execute("SELECT actor, action, target, outcome FROM audit_log"
                            " ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("rita", "recordings.export", str(call.recording_id), "failed")
    code, text = invoke({**env, "CALLREC_ACTING_USER": "root"}, "audit", "verify")
    assert code == 0 and "intact" in text, text


def test_create_then_list(call: RecordedCall, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "client.wav"
    code, text = invoke(env, "release", "create", str(call.recording_id), "--request-ref",
                        "FOI-7", "--redact", "00:04.5-00:05", "--redact-mode", "silence",
                        "--reviewer", "rita", "--reviewed", "-o", str(out), "--json")
    assert code == 0, text
    created = json.loads(text)
    assert created["output_duration_ms"] == 4000 and created["reviewer"] == "rita"
    assert Path(created["output_path"]) == out.resolve()

    code, text = invoke(env, "release", "list", "--recording", str(call.recording_id), "--json")
    assert code == 0, text
    assert [r["id"] for r in json.loads(text)] == [created["id"]]


def test_format_follows_the_output_suffix(call: RecordedCall, env: dict[str, str],
                                          tmp_path: Path) -> None:
    code, text = invoke(env, "release", "create", str(call.recording_id), "--request-ref", "R",
                        "--reviewed", "-o", str(tmp_path / "client.mp3"))
    assert code == 0, text
    assert "(mp3, 4000 ms, 1500 ms of hold cut, 0 span(s) redacted)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redact", "1:23"], "Invalid value for '--redact': not a span '1:23'"),
        (["--redact", "00:03-00:02"], "ends before it starts"),
        (["--redact", "00:05-00:09"], "beyond the end of the recording (00:05.500)"),
        (["--redact-mode", "bleep"], "Invalid value for '--redact-mode'"),
    ],
)
def test_bad_input_is_a_clear_error(call: RecordedCall, env: dict[str, str], tmp_path: Path,
                                    args: list[str], message: str) -> None:
    code, text = invoke(env, "release", "create", str(call.recording_id), "--request-ref", "R",
                        "--reviewed", "-o", str(tmp_path / "c.wav"), *args)
    assert code != 0 and message in text, text
    assert "Traceback" not in text and not (tmp_path / "c.wav").exists()


def test_without_review_confirmation_nothing_is_released(call: RecordedCall,
                                                         env: dict[str, str],
                                                         tmp_path: Path) -> None:
    code, text = invoke(env, "release", "create", str(call.recording_id), "--request-ref", "R",
                        "-o", str(tmp_path / "c.wav"))
    assert code == 1 and "reviewed in its entirety" in text
    assert not (tmp_path / "c.wav").exists()


def test_not_a_recording_id(env: dict[str, str], tmp_path: Path) -> None:
    code, text = invoke(env, "release", "create", "../etc/passwd", "--request-ref", "R",
                        "--reviewed", "-o", str(tmp_path / "c.wav"))
    assert code == 2 and "not a recording ID" in text


def test_as_a_subprocess(call: RecordedCall, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "client.wav"
    done = subprocess.run(
        [CONSOLE_SCRIPT, "release", "create", str(call.recording_id),
         "--request-ref", "FOI-9", "--reviewed", "--redact", "00:00-00:01", "-o", str(out)],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env}, check=False)
    assert done.returncode == 0, done.stderr
    assert out.exists() and "sha256" in done.stdout
    refused = subprocess.run(
        [CONSOLE_SCRIPT, "release", "create", str(call.recording_id),
         "--request-ref", "FOI-9", "--reviewed", "-o", str(out)],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env}, check=False)
    assert refused.returncode == 1 and "already exists" in refused.stderr
