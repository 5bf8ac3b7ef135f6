"""Voicemail scripts: which one is left, its exact words (the seed's), and nothing personal
beyond the configured name placeholders; then the rendered prompt audio."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from callrec.dialer.errors import DialerError, PromptError, SchedulingError
from callrec.dialer.prompts import prompt_name, render_prompt, speech_text
from callrec.dialer.schedule import (
    Outcome,
    Task,
    VoicemailMode,
    after_attempt,
    begin_attempt,
    new_task,
)
from callrec.dialer.scripts import ScriptKind, choose, clean_name, spoken_time, voicemail_for
from callrec.dialer.settings import DialerConfig
from tests.dialer.conftest import NZ, need_tts, nz

FIRST_TRY = nz(2025, 11, 4, 14, 15)  # a Tuesday
CONFIG = DialerConfig(retry_minutes=30, agent_names=(("alice", "Aroha"),))
INTRO = ("It's Aroha from Ministry of Social Development. We're trying to contact you "
         "regarding your request for assistance.")


def nth_attempt(n: int, mode: VoicemailMode = VoicemailMode.IDENTIFIES_CLIENT,
                client_name: str | None = None, config: DialerConfig = CONFIG,
                first: datetime = FIRST_TRY) -> Task:
    """A task whose attempt n is in progress, earlier ones unanswered at 14:15, +1 day, ..."""
    t = new_task(config, id=uuid4(), number="+6421555123", client_ref="CL-48213",
                 created_at=first, voicemail=mode, client_name=client_name)
    for k in range(n):
        at = first + timedelta(days=k)
        t = begin_attempt(replace(t, next_due=at), at, config)
        if k < n - 1:
            t = after_attempt(t, Outcome.NO_ANSWER, at + timedelta(seconds=40), config)
    return t


@pytest.mark.parametrize(("mode", "attempt", "kind"), [
    (VoicemailMode.IDENTIFIES_CLIENT, 1, ScriptKind.TRY_AGAIN),
    (VoicemailMode.IDENTIFIES_CLIENT, 2, ScriptKind.TRY_AGAIN),
    (VoicemailMode.IDENTIFIES_CLIENT, 3, ScriptKind.FINAL),
    (VoicemailMode.MINIMAL, 1, ScriptKind.MINIMAL),
    (VoicemailMode.MINIMAL, 3, ScriptKind.MINIMAL),
    (VoicemailMode.NONE, 1, ScriptKind.NONE),
    (VoicemailMode.NONE, 3, ScriptKind.NONE),
])
def test_which_script(mode: VoicemailMode, attempt: int, kind: ScriptKind) -> None:
    assert choose(mode, attempt) is kind


@pytest.mark.parametrize("attempt", [0, 4])
def test_there_is_no_script_for_an_attempt_that_cannot_exist(attempt: int) -> None:
    with pytest.raises(SchedulingError):
        choose(VoicemailMode.MINIMAL, attempt)


@pytest.mark.parametrize(("task", "agent", "words"), [
    (nth_attempt(1), "alice", f"Kia ora. {INTRO} We will try you again shortly."),
    (nth_attempt(2), "alice", f"Kia ora. {INTRO} We will try you again shortly."),
    (nth_attempt(3), "alice",
     (f"Kia ora. {INTRO} We've tried twice at 2:15 pm on Tuesday and 2:15 pm on Wednesday. "
      "If you still need help, please call us on 0800 559 009.")),
    (nth_attempt(1, VoicemailMode.MINIMAL), "alice",
     ("Kia ora, this is Aroha from Ministry of Social Development, could you give us a call on "
      "0800 559 009.")),
    (nth_attempt(2, VoicemailMode.MINIMAL), None,
     ("Kia ora, this is a case manager from Ministry of Social Development, could you give us "
      "a call on 0800 559 009.")),
])
def test_the_words_left(task: Task, agent: str | None, words: str) -> None:
    assert voicemail_for(task, agent, task.attempts[-1].started_at, CONFIG).text == words


def test_the_client_is_named_only_when_the_settings_say_so() -> None:
    t = nth_attempt(1, VoicemailMode.MINIMAL, client_name="Hemi")
    at = t.attempts[-1].started_at
    assert "Hemi" not in voicemail_for(t, "alice", at, CONFIG).text
    named = voicemail_for(t, "alice", at, replace(CONFIG, client_name="task")).text
    assert named.startswith("Kia ora Hemi, this is Aroha from")


def test_no_message_when_the_number_may_not_be_the_clients() -> None:
    t = nth_attempt(1, VoicemailMode.NONE)
    assert voicemail_for(t, "alice", t.attempts[-1].started_at, CONFIG).text == ""


def test_a_business_unit_says_its_own_organisation_and_number() -> None:
    unit = replace(CONFIG.business_units[0], organisation="Work and Income",
                   callback_number="0800 111 222")
    config = replace(CONFIG, business_units=(unit,))
    t = nth_attempt(1, VoicemailMode.MINIMAL, config=config)
    assert voicemail_for(t, "alice", t.attempts[-1].started_at, config).text == (
        "Kia ora, this is Aroha from Work and Income, could you give us a call on 0800 111 222.")


@given(ref=st.from_regex(r"[A-Z]{2}-[0-9]{4,8}", fullmatch=True),
       digits=st.integers(10_000_000, 99_999_999), n=st.integers(1, 3),
       mode=st.sampled_from(list(VoicemailMode)))
def test_nothing_about_the_client_is_said_beyond_the_placeholders(
        ref: str, digits: int, n: int, mode: VoicemailMode) -> None:
    t = replace(nth_attempt(n, mode), client_ref=ref, number=f"+642{digits}",
                client_name="Hemi")
    text = voicemail_for(t, "alice", t.attempts[-1].started_at, CONFIG).text
    assert str(digits) not in text and "Hemi" not in text and ref not in text


@pytest.mark.parametrize(("local", "now_days", "spoken"), [
    ((2025, 11, 4, 14, 15), 0, "2:15 pm on Tuesday"),
    ((2025, 11, 4, 0, 5), 1, "12:05 am on Tuesday"),
    ((2025, 11, 4, 12, 0), 6, "12:00 pm on Tuesday"),
    ((2025, 11, 4, 9, 30), 8, "9:30 am on Tuesday 4 November"),
])
def test_earlier_attempts_are_said_in_the_units_local_time(
        local: tuple[int, ...], now_days: int, spoken: str) -> None:
    when = nz(*local)
    assert spoken_time(when, when + timedelta(days=now_days), NZ) == spoken


@pytest.mark.parametrize(("raw", "clean"), [
    ("Hemi", "Hemi"), ("  Mary-Jane  O'Neil ", "Mary-Jane O'Neil"), ("Zoë", "Zoë")])
def test_client_names_fit_to_be_spoken(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "R2D2", "Hemi; DROP", "x" * 41, "Ana\nBell", "--"])
def test_client_names_that_are_refused(raw: str) -> None:
    with pytest.raises(DialerError):
        clean_name(raw)


# ------------------------------------------------------------------------------- prompt audio
def test_phone_numbers_are_spoken_digit_by_digit_and_times_are_left_alone() -> None:
    assert speech_text("call us on 0800 559 009.") == "call us on 0 8 0 0, 5 5 9, 0 0 9."
    assert speech_text("at 2:15 pm on Tuesday 4 November") == "at 2:15 pm on Tuesday 4 November"


def test_prompt_names_are_a_hash_of_the_words_only() -> None:
    text = "Kia ora Hemi, this is Aroha from Ministry of Social Development"
    name = prompt_name(text)
    assert name == prompt_name(text) != prompt_name(text + ".")
    assert name.startswith("vm-") and len(name) == 35 and "Hemi" not in name


def test_a_message_renders_once_as_8khz_mono_16bit(tmp_path: Path) -> None:
    need_tts()
    text = "Kia ora, this is Aroha from Ministry of Social Development."
    wav = render_prompt(text, tmp_path / "vm")
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert info.duration > 1.0
    assert wav.name == f"{prompt_name(text)}.wav" and oct(wav.stat().st_mode & 0o777) == "0o644"
    before = wav.stat().st_mtime_ns
    assert render_prompt(text, tmp_path / "vm") == wav and wav.stat().st_mtime_ns == before
    assert list((tmp_path / "vm").iterdir()) == [wav]  # no scratch files left behind


def test_an_empty_message_is_not_rendered(tmp_path: Path) -> None:
    with pytest.raises(PromptError):
        render_prompt("  ", tmp_path)


def test_a_missing_tool_is_a_prompt_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither espeak-ng nor sox on it
    with pytest.raises(PromptError, match="espeak-ng is not installed"):
        render_prompt("hello", tmp_path / "vm")
