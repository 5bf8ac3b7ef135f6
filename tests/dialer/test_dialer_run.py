"""`callrec dialer run`: `callrec serve` with the dialer on whatever [dialer] enabled says. The serve
runner is replaced by one that keeps the configuration it was given: no Asterisk, no PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from callrec import app
from callrec.cli.main import main
from callrec.config import Config

CONFIG = """
state_dir = "/var/tmp/callrec/test-dialer-run"

[dialer]
enabled = false
max_concurrent = 3
retry_minutes = 45
"""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """The configurations `app.run_serve` was called with, instead of running the controller."""
    calls: list[Config] = []
    monkeypatch.setattr(app, "run_serve", calls.append)
    return calls


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "callrec.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def invoke(config_file: Path, *args: str) -> None:
    unset: dict[str, str | None] = {"CALLREC_DIALER_ENABLED": None, "CALLREC_STATE_DIR": None}
    result = CliRunner().invoke(main, ["--config", str(config_file), *args], env=unset)
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_dialer_run_is_serve_with_the_dialer_forced_on(served: list[Config],
                                                       config_file: Path) -> None:
    invoke(config_file, "serve")
    invoke(config_file, "dialer", "run")
    plain, dialing = served
    assert not plain.dialer.enabled  # serve honours the file ...
    assert dialing.dialer.enabled  # ... dialer run does not
    # Nothing else changed: the same configuration, the same [dialer] otherwise.
    assert (dialing.dialer.max_concurrent, dialing.dialer.retry_minutes) == (3, 45.0)
    assert dialing.state_dir == "/var/tmp/callrec/test-dialer-run"
    assert dialing.dialer.business_units == plain.dialer.business_units
    assert dialing == Config(**{**vars(plain), "dialer": dialing.dialer})


def test_dialer_run_is_listed_in_help() -> None:
    result = CliRunner().invoke(main, ["dialer", "--help"])
    assert result.exit_code == 0 and "run" in result.output
