"""The dialer on the real sandbox: agent first, AMD on the pbx, the disclosure in the recording, the
voicemail scripts on a machine's tape, three attempts and no more.

The clients are the phones instance's +6421 0x numbers (asterisk-conf/phones/extensions.conf): a
person answers with a short "hello?" and talks at 1300 Hz; a machine plays a 3 s greeting and a beep,
then records what it receives. Every client that answers also records what it HEARS, so the tests
check the audio on both sides: callrec's recording, and what reached the client.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
import pytest_asyncio

from callrec.app import Service
from callrec.audio import tone_spans, wait_closed
from callrec.audio.correlate import locate
from callrec.dialer import schedule as s
from callrec.dialer.loop import DialerLoop
from callrec.dialer.settings import DialerConfig, dialer_config
from callrec.dialer.store import DialStore, TaskDetail
from tests.e2e.harness import AGENT, agent, eventually, set_agents

pytestmark = pytest.mark.e2e

ROOTFS = Path("/var/tmp/callrec/rootfs")
SOUNDS = ROOTFS / "usr/share/asterisk/sounds"
CAPTURES = ROOTFS / "var/spool/asterisk-phones"
DISCLOSURE = SOUNDS / "callrec/disclosure.wav"
CLIENT = 1300.0  # the simulated clients' voice
PERSON, MACHINE, HANGS_UP, NO_ANSWER, BUSY = "01", "02", "03", "04", "05"

_suffixes = itertools.count(int(time.time()) % 90000 + 10000)


def number(kind: str) -> str:
    return f"+6421{kind}{next(_suffixes) % 100000:05d}"


def config() -> DialerConfig:
    return dialer_config({
        "max_concurrent": 2, "retry_minutes": 0.03, "ring_seconds": 6, "verdict_timeout": 30,
        "poll_seconds": 0.3,
        "business_units": {"default": {"timezone": "UTC", "caller_id": "0800559009",
                                       "hours": {"daily": "00:00-24:00"}}}}, environ={})


@pytest_asyncio.fixture
async def dialer(service: Service) -> AsyncIterator[DialerLoop]:
    await set_agents(service.store, {"alice": agent("agent-stay")})
    deps = service.controller.deps
    loop = DialerLoop(config(), DialStore(service.store.database), service.controller,
                      deps.pool.busy_names, deps.evidence.drained, deps.now, uuid.uuid4)
    running = asyncio.get_running_loop().create_task(loop.run())
    yield loop
    running.cancel()
    await asyncio.gather(running, *loop.calls.values(), return_exceptions=True)


async def add_task(dialer: DialerLoop, to: str, voicemail: s.VoicemailMode) -> UUID:
    task = s.new_task(dialer.config, id=uuid.uuid4(), number=to, client_ref=f"C{to[-7:]}",
                      created_at=datetime.now(UTC), voicemail=voicemail)
    await dialer.store.add([task])
    return task.id


async def settled(dialer: DialerLoop, task_id: UUID, *, attempts: int = 1,
                  timeout: float = 60) -> TaskDetail:
    """The task once `attempts` attempts have ended (or it closed)."""
    async def probe() -> TaskDetail | None:
        detail = await dialer.store.get(task_id)
        assert detail is not None
        ended = [a for a in detail.attempts if a.outcome is not None]
        return detail if len(ended) >= attempts or detail.task.status is s.Status.CLOSED else None
    return await eventually(probe, timeout=timeout, what=f"task {task_id} to settle")


async def heard_by(to: str, nth: int = 0) -> Path:
    """The `nth` recording the client `to` made of what it heard (one per answered attempt)."""
    async def probe() -> list[Path] | None:
        files = sorted(p for p in CAPTURES.glob(f"client-{to}-*.wav") if "-both" not in p.name)
        return files if len(files) > nth else None
    path = (await eventually(probe, timeout=10, what=f"capture {nth} of {to}"))[nth]
    assert await wait_closed(path, 10), f"{path} never closed"
    return path


def first(spans: list[tuple[float, float]], at_least: float = 0.5) -> float:
    """Start of the first span lasting `at_least` s: a simulated party's voice is a steady tone,
    while a formant of the spoken disclosure can land on its frequency for a window or two."""
    return next((start for start, end in spans if end - start >= at_least), float("inf"))


async def test_a_person_hears_the_disclosure_first_and_it_opens_the_recording(
        service: Service, dialer: DialerLoop) -> None:
    to = number(PERSON)
    task_id = await add_task(dialer, to, s.VoicemailMode.MINIMAL)
    detail = await settled(dialer, task_id)
    [attempt] = detail.attempts
    assert (attempt.outcome, attempt.amd_verdict) == ("answered_human", "HUMAN")
    assert detail.task.status is s.Status.CLOSED
    [proof] = detail.disclosures
    assert proof.outcome == "finished" and proof.ended_at is not None

    assert attempt.call_id is not None and attempt.recording_id is not None
    call = await service.store.get_call(attempt.call_id)
    assert call is not None and call.call.direction == "outbound"
    [recording] = call.recordings
    assert recording.id == attempt.recording_id and recording.status == "complete"
    mix = Path(recording.file_mix)
    said = locate(mix, DISCLOSURE, exclude_hz=[CLIENT, AGENT])
    assert said.score > 0.6, f"disclosure not found in the recording ({said})"
    assert said.offset_s < 0.5, f"the recording must begin with the disclosure ({said})"
    told = said.offset_s + said.prompt_s
    # Muted until the disclosure ended, then talking: in the file and in what the client heard.
    assert told - 0.1 <= first(tone_spans(mix, AGENT)) <= told + 1.0
    heard = await heard_by(to)
    heard_said = locate(heard, DISCLOSURE, exclude_hz=[AGENT])
    assert heard_said.score > 0.6, f"the client did not hear the disclosure ({heard_said})"
    agent_heard = first(tone_spans(heard, AGENT))
    assert agent_heard >= heard_said.offset_s + heard_said.prompt_s - 0.1, (
        f"agent heard at {agent_heard:.2f}s, disclosure ended at "
        f"{heard_said.offset_s + heard_said.prompt_s:.2f}s")
    assert first(tone_spans(mix, CLIENT)) < told  # the client is recorded from the start


async def test_a_machine_gets_the_right_script_on_each_of_three_attempts_and_no_more(
        service: Service, dialer: DialerLoop) -> None:
    to = number(MACHINE)
    task_id = await add_task(dialer, to, s.VoicemailMode.IDENTIFIES_CLIENT)
    detail = await settled(dialer, task_id, attempts=3, timeout=150)
    assert [a.outcome for a in detail.attempts] == ["machine_voicemail_left"] * 3
    assert [a.script_kind for a in detail.attempts] == ["try_again", "try_again", "final"]
    assert detail.task.status is s.Status.CLOSED
    assert detail.task.close_reason == s.EXHAUSTED
    assert not detail.disclosures
    prompts = {a.script_kind: SOUNDS / f"{a.prompt.removeprefix('sound:')}.wav"
               for a in detail.attempts if a.prompt}
    for n, attempt in enumerate(detail.attempts):
        assert attempt.recording_id is None  # a voicemail drop is not a conversation
        assert attempt.call_id is not None
        call = await service.store.get_call(attempt.call_id)
        assert call is not None and not call.recordings
        tape = await heard_by(to, n)
        scores = {kind: locate(tape, path).score for kind, path in prompts.items()}
        own = scores[attempt.script_kind]
        assert own > 0.9, f"attempt {n + 1}: script not on the tape ({scores})"
        assert own == max(scores.values()), f"attempt {n + 1}: another script fits better"
    await asyncio.sleep(dialer.config.poll_seconds * 3)  # a few more ticks: nothing happens
    again = await dialer.store.get(task_id)
    assert again is not None and len(again.attempts) == 3


async def test_a_client_hanging_up_during_the_disclosure_cuts_it_off_but_is_recorded(
        service: Service, dialer: DialerLoop) -> None:
    to = number(HANGS_UP)
    task_id = await add_task(dialer, to, s.VoicemailMode.MINIMAL)
    detail = await settled(dialer, task_id)
    [attempt] = detail.attempts
    [proof] = detail.disclosures
    assert proof.outcome == "cut_off"
    assert attempt.call_id is not None
    call = await service.store.get_call(attempt.call_id)
    assert call is not None
    [recording] = call.recordings
    assert recording.duration_ms is not None and 1500 < recording.duration_ms < 5000
    mix = Path(recording.file_mix)
    assert first(tone_spans(mix, CLIENT)) < 3.0  # the client's words before hanging up are kept
    assert not tone_spans(mix, AGENT)  # the agent was never heard: still muted


@pytest.mark.parametrize(("kind", "outcome"), [(NO_ANSWER, "no_answer"), (BUSY, "busy")])
async def test_an_unanswered_call_is_an_attempt_and_is_retried(
        service: Service, dialer: DialerLoop, kind: str, outcome: str) -> None:
    to = number(kind)
    task_id = await add_task(dialer, to, s.VoicemailMode.MINIMAL)
    detail = await settled(dialer, task_id, attempts=2, timeout=60)
    assert [a.outcome for a in detail.attempts[:2]] == [outcome, outcome]
    assert all(a.recording_id is None and a.amd_verdict is None for a in detail.attempts[:2])
    await dialer.store.cancel(task_id, datetime.now(UTC))
