"""DTMF from the caller: floods, junk and 10 000 keys stay bounded, and only DTMF keys get through."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from callrec.config import InboundConfig
from callrec.controller.ivr import (
    DTMF_KEYS,
    MAX_DIGITS,
    DigitBuffer,
    collect_client_number,
    read_number,
)
from tests.controller.fakes import T0
from tests.hostile.strategies import hostile

CAPACITY = MAX_DIGITS * 4
QUICK = 0.01  # seconds of silence that end a number in these tests

keys = st.one_of(st.sampled_from(sorted(DTMF_KEYS)), hostile, st.sampled_from(["a", "d", "10", "##"]))


def queued(buffer: DigitBuffer) -> list[str]:
    items = []
    while not buffer.queue.empty():
        items.append(buffer.queue.get_nowait())
    return items


@given(st.lists(keys, max_size=300))
def test_only_dtmf_keys_are_kept_in_order_and_bounded(pushed: list[str]) -> None:
    buffer = DigitBuffer.new()
    for key in pushed:
        buffer.push(key)
    assert queued(buffer) == [k for k in pushed if k in DTMF_KEYS][:CAPACITY]


def test_a_flood_of_ten_thousand_digits_is_bounded() -> None:
    buffer = DigitBuffer.new()
    for _ in range(1000):
        buffer.push("0123456789")  # a whole string in one event is not a key
    for i in range(10_000):
        buffer.push(str(i % 10))
    assert buffer.queue.qsize() == CAPACITY


async def test_reading_a_flood_stops_at_max_digits() -> None:
    buffer = DigitBuffer.new()
    for _ in range(10_000):
        buffer.push("7")
    async with asyncio.timeout(2):
        assert await read_number(buffer, QUICK) == "7" * MAX_DIGITS


@given(st.lists(keys, max_size=200))
async def test_a_number_read_is_dtmf_only_and_never_longer_than_max_digits(
        pushed: list[str]) -> None:
    buffer = DigitBuffer.new()
    for key in pushed:
        buffer.push(key)
    async with asyncio.timeout(2):
        number = await read_number(buffer, QUICK)
    kept = [k for k in pushed if k in DTMF_KEYS]
    before_hash = kept[:kept.index("#")] if "#" in kept else kept
    assert number == "".join(before_hash[:MAX_DIGITS])
    assert set(number) <= DTMF_KEYS - {"#"} and len(number) <= MAX_DIGITS


async def test_a_caller_flooding_every_prompt_gets_the_fallback_in_bounded_time() -> None:
    cfg = replace(InboundConfig(), digit_timeout=QUICK, max_attempts=3)
    buffer = DigitBuffer.new()
    played: list[str] = []

    async def play(media: str) -> datetime:
        played.append(media)
        for _ in range(10_000):  # keys held down while every prompt plays
            buffer.push("5")
        return T0

    async with asyncio.timeout(5):
        number = await collect_client_number(play, buffer, cfg)
    assert number is None  # 32 fives are no client number (pattern: 4 to 12 digits)
    assert played == [cfg.client_number_prompt, cfg.invalid_prompt] * 2 + [
        cfg.client_number_prompt, cfg.fallback_prompt]
