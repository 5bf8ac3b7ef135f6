"""`callrec calls timeline` and `callrec verify` through click's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from callrec.cli.main import main
from callrec.store import Store
from tests.release.evidence import T0, RecordedCall, recorded_call

# The console script `callrec` as pyproject.toml installs it, beside this interpreter.
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("callrec"))
TALK = [(400, 2.0), (550, 1.0)]


@pytest.fixture
def env(migrated_dsn: str) -> dict[str, str]:
    return {"CALLREC_DATABASE_DSN": migrated_dsn, "CALLREC_CONFIG": ""}


@pytest.fixture
async def good(store: Store, tmp_path: Path) -> RecordedCall:
    return await recorded_call(store, tmp_path / "good", TALK)


@pytest.fixture
async def tampered(store: Store, tmp_path: Path) -> RecordedCall:
    call = await recorded_call(store, tmp_path / "bad", TALK)
    data = bytearray(call.mix.read_bytes())
    data[-2:] = b"\x00\x10"
    call.mix.write_bytes(bytes(data))
    return call


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_timeline_writes_the_picture_and_its_data(good: RecordedCall, env: dict[str, str],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "call.png"
    code, text = invoke(env, "calls", "timeline", str(good.call_id), "-o", str(out))
    assert code == 0, text
    assert "announcing > identifying > waiting > connected" in text
    assert out.read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "call.png.json").read_text())
    assert data["call_id"] == str(good.call_id)


def test_timeline_of_an_unknown_call(env: dict[str, str], tmp_path: Path) -> None:
    code, text = invoke(env, "calls", "timeline", str(uuid.uuid4()), "-o",
                        str(tmp_path / "x.png"))
    assert code == 1 and "no call" in text


def test_verify_all_consistent(good: RecordedCall, env: dict[str, str]) -> None:
    code, text = invoke(env, "verify")
    assert code == 0, text
    assert "1 recording(s) checked: all consistent" in text


def test_verify_lists_what_is_off_and_exits_1(good: RecordedCall, tampered: RecordedCall,
                                              env: dict[str, str]) -> None:
    code, text = invoke(env, "verify", "--json")
    assert code == 1
    report = json.loads(text)
    assert report["checked"] == 2
    assert [(f["recording_id"], f["code"]) for f in report["findings"]] == [
        (str(tampered.recording_id), "hash_mismatch")]

    code, text = invoke(env, "verify")
    assert code == 1 and "hash_mismatch" in text and str(tampered.recording_id) in text


def test_verify_since_skips_older_recordings(tampered: RecordedCall, env: dict[str, str]) -> None:
    after = (T0.replace(hour=T0.hour + 1)).isoformat()
    code, text = invoke(env, "verify", "--since", after, "--json")
    assert code == 0 and json.loads(text) == {"checked": 0, "findings": []}
    code, text = invoke(env, "verify", "--since", "2025-03-03", "--json")  # naive = UTC
    assert code == 1 and json.loads(text)["checked"] == 1


def test_verify_bad_since(env: dict[str, str]) -> None:
    code, text = invoke(env, "verify", "--since", "last tuesday")
    assert code == 2 and "not an ISO date/time" in text


def test_verify_as_a_subprocess(good: RecordedCall, tampered: RecordedCall,
                                env: dict[str, str]) -> None:
    done = subprocess.run([CONSOLE_SCRIPT, "verify", "--json"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env}, check=False)
    assert done.returncode == 1, done.stderr
    assert [f["code"] for f in json.loads(done.stdout)["findings"]] == ["hash_mismatch"]
