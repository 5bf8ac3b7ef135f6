"""EvidenceWriter: writes are applied in submission order, retried on StoreError, never dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callrec.controller.evidence import EvidenceWriter, Write
from callrec.store import StoreError


@pytest.fixture
async def writer() -> AsyncIterator[EvidenceWriter]:
    evidence = EvidenceWriter(max_backoff=0.01)
    task = asyncio.create_task(evidence.run())
    yield evidence
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def drained(evidence: EvidenceWriter, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        await evidence.drained()


def recorder(applied: list[str], name: str) -> Write:
    async def write() -> None:
        applied.append(name)
    return write


class Flaky:
    """Fails with StoreError ``failures`` times (the database restarting), then succeeds."""

    def __init__(self, applied: list[str], name: str, failures: int) -> None:
        self.applied, self.name, self.failures, self.attempts = applied, name, failures, 0

    async def __call__(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise StoreError("connection refused", transient=True)
        self.applied.append(self.name)


async def test_writes_are_applied_in_submission_order(writer: EvidenceWriter) -> None:
    applied: list[str] = []
    names = [f"w{i}" for i in range(20)]
    for name in names:
        writer.submit(name, recorder(applied, name))
    await drained(writer)
    assert applied == names
    assert writer.pending == 0


async def test_submit_never_waits_for_the_database() -> None:
    evidence = EvidenceWriter()  # not running at all: submit must still return at once
    evidence.submit("call", recorder([], "call"))
    assert evidence.pending == 1


async def test_a_failed_write_is_retried_and_later_writes_wait_for_it(writer: EvidenceWriter) -> None:
    applied: list[str] = []
    flaky = Flaky(applied, "call", failures=2)
    writer.submit("call", flaky)
    writer.submit("recording", recorder(applied, "recording"))  # references the call row
    await drained(writer)
    assert flaky.attempts == 3
    assert applied == ["call", "recording"]


async def test_retries_continue_until_success(writer: EvidenceWriter) -> None:
    applied: list[str] = []
    flaky = Flaky(applied, "call", failures=5)
    writer.submit("call", flaky)
    await drained(writer)
    assert (flaky.attempts, applied) == (6, ["call"])


async def test_drained_resolves_at_once_when_nothing_was_submitted(writer: EvidenceWriter) -> None:
    await drained(writer, timeout=0.5)


async def test_drained_waits_for_every_write_submitted(writer: EvidenceWriter) -> None:
    applied: list[str] = []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        applied.append("slow")

    writer.submit("slow", slow)
    writer.submit("after", recorder(applied, "after"))
    waiting = asyncio.ensure_future(writer.drained())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(waiting), 0.05)
    assert applied == []
    gate.set()
    async with asyncio.timeout(2):
        await waiting
    assert applied == ["slow", "after"]


async def test_writes_submitted_while_draining_are_waited_for_too(writer: EvidenceWriter) -> None:
    applied: list[str] = []

    async def first() -> None:
        writer.submit("second", recorder(applied, "second"))  # e.g. a call's handler, meanwhile
        applied.append("first")

    writer.submit("first", first)
    await drained(writer)
    assert applied == ["first", "second"]


async def test_an_unexpected_error_in_one_write_does_not_stop_the_others(
        writer: EvidenceWriter) -> None:
    applied: list[str] = []

    async def broken() -> None:
        raise TypeError("recording_started() got an unexpected keyword argument 'file'")

    writer.submit("broken", broken)
    writer.submit("after", recorder(applied, "after"))
    await drained(writer, timeout=0.5)
    assert applied == ["after"]


async def test_a_write_the_database_will_always_refuse_is_dropped_not_retried_forever(
        writer: EvidenceWriter) -> None:
    applied: list[str] = []
    attempts = 0

    async def constraint_violation() -> None:
        nonlocal attempts
        attempts += 1
        raise StoreError("value rejected by check constraint")

    writer.submit("bad", constraint_violation)
    writer.submit("next", recorder(applied, "next"))
    await drained(writer)
    assert attempts == 1 and applied == ["next"]
