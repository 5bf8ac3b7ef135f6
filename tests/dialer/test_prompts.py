"""The outbound disclosure follows its configured text (issue 3): `disclosure_prompt` empty means
"render disclosure_text" at the dialer's start-up, a set one is the operator's own recording; and a
dialer whose disclosure cannot be rendered calls nobody."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import soundfile as sf

from callrec import app
from callrec.config import Config
from callrec.dialer.errors import DialerConfigError, PromptError
from callrec.dialer.prompts import prompt_media_of, prompt_name, resolve_disclosure
from callrec.dialer.settings import DISCLOSURE_TEXT, DialerConfig, dialer_config
from tests.dialer.conftest import need_tts

OWN = "sound:custom/our-disclosure"


def _config(tmp_path: Path, **values: Any) -> DialerConfig:
    return DialerConfig(prompt_dir=str(tmp_path / "vm"), prompt_media="sound:callrec/vm", **values)


# ---------------------------------------------------------------------------------- settings
def test_by_default_the_disclosure_is_rendered_from_its_text() -> None:
    assert DialerConfig().disclosure_prompt == ""
    assert DialerConfig().disclosure_text == DISCLOSURE_TEXT
    assert dialer_config({}, environ={}).disclosure_prompt == ""


def test_an_operators_own_recording_is_read_from_the_table_or_the_environment() -> None:
    assert dialer_config({"disclosure_prompt": OWN}, environ={}).disclosure_prompt == OWN
    env = {"CALLREC_DIALER_DISCLOSURE_PROMPT": ""}  # back to the rendered text
    assert dialer_config({"disclosure_prompt": OWN}, environ=env).disclosure_prompt == ""


def test_an_empty_disclosure_text_is_refused() -> None:
    with pytest.raises(DialerConfigError, match="disclosure_text"):
        dialer_config({"disclosure_text": "  "}, environ={})


# ----------------------------------------------------------------------------------- resolve
def test_an_operators_own_recording_is_used_as_is(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to render with: nothing is rendered
    config = _config(tmp_path, disclosure_prompt=OWN, disclosure_text="Our own words.")
    assert resolve_disclosure(config) is config
    assert not (tmp_path / "vm").exists()


def test_the_configured_text_is_rendered_and_played(tmp_path: Path) -> None:
    need_tts()
    text = "This call is recorded so that we can check we helped you properly."
    resolved = resolve_disclosure(_config(tmp_path, disclosure_text=text))
    wav = tmp_path / "vm" / f"{prompt_name(text)}.wav"
    assert resolved.disclosure_prompt == f"sound:callrec/vm/{wav.stem}"
    assert resolved.disclosure_prompt == prompt_media_of("sound:callrec/vm/", wav)
    assert resolved.disclosure_text == text  # what the proof cites is what was rendered
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert info.duration > 2.0
    # Another text is another file: the played audio follows the configuration.
    other = resolve_disclosure(_config(tmp_path, disclosure_text=DISCLOSURE_TEXT))
    assert other.disclosure_prompt != resolved.disclosure_prompt
    assert other.disclosure_prompt == f"sound:callrec/vm/{prompt_name(DISCLOSURE_TEXT)}"


def test_resolving_is_idempotent_and_reuses_the_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    need_tts()
    config = _config(tmp_path)
    once = resolve_disclosure(config)
    wav = tmp_path / "vm" / f"{prompt_name(config.disclosure_text)}.wav"
    before = wav.stat().st_mtime_ns
    assert resolve_disclosure(once) is once  # resolved: nothing left to do
    monkeypatch.setenv("PATH", str(tmp_path))  # a second start-up needs no espeak at all
    assert resolve_disclosure(config) == once and wav.stat().st_mtime_ns == before
    assert sorted(p.name for p in (tmp_path / "vm").iterdir()) == [wav.name]


def test_a_disclosure_that_cannot_be_rendered_is_a_prompt_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither espeak-ng nor sox on it
    with pytest.raises(PromptError, match="espeak-ng is not installed"):
        resolve_disclosure(_config(tmp_path))


# ----------------------------------------------------------------- the dialer's start-up
def _started() -> tuple[Any, Any, Any]:
    """dial_forever's store, controller and deps: only what it touches before the loop runs."""
    controller = SimpleNamespace(reconciled=asyncio.Event())
    controller.reconciled.set()
    deps = SimpleNamespace(pool=SimpleNamespace(busy_names=frozenset),
                           evidence=SimpleNamespace(drained=None), now=None, new_id=None)
    return SimpleNamespace(database=None), controller, deps


def _serve_config(dialer: DialerConfig) -> Config:
    return replace(Config(), dialer=replace(dialer, enabled=True))


async def test_without_a_playable_disclosure_the_dialer_calls_nobody(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    built: list[DialerConfig] = []
    monkeypatch.setattr(app, "DialerLoop", lambda config, *_: built.append(config))
    with caplog.at_level(logging.ERROR, logger=app.log.name):
        await asyncio.wait_for(app.dial_forever(_serve_config(_config(tmp_path)), *_started()), 10)
    assert built == []  # returned without building the loop: nothing is dialled
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "no client will be called" in error.getMessage()
    assert "espeak-ng is not installed" in error.getMessage()


async def test_the_dialer_starts_with_the_resolved_disclosure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    need_tts()
    text = "Kia ora, this call is recorded."
    built: list[DialerConfig] = []

    class Loop:
        def __init__(self, config: DialerConfig, *_: object) -> None:
            built.append(config)

        async def run(self) -> None:
            return None

    monkeypatch.setattr(app, "DialerLoop", Loop)
    with caplog.at_level(logging.INFO, logger=app.log.name):
        await asyncio.wait_for(app.dial_forever(
            _serve_config(_config(tmp_path, disclosure_text=text)), *_started()), 30)
    [config] = built
    assert config.disclosure_prompt == f"sound:callrec/vm/{prompt_name(text)}"
    assert config.disclosure_text == text
    said = next(r.getMessage() for r in caplog.records if "disclosure" in r.getMessage())
    assert config.disclosure_prompt in said and text in said
