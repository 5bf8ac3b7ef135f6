"""Client-number entry by DTMF: prompt, read until '#' or silence, validate, re-prompt, give up.

A scripted caller keys one entry each time the number prompt is played; its keys arrive from a task,
as ChannelDtmfReceived events would, while the prompt plays.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from callrec.config import InboundConfig
from callrec.controller.ivr import MAX_DIGITS, DigitBuffer, collect_client_number, read_number
from tests.controller.fakes import T0

CFG = replace(InboundConfig(), digit_timeout=0.05, max_attempts=3)
PROMPT, INVALID, FALLBACK = CFG.client_number_prompt, CFG.invalid_prompt, CFG.fallback_prompt


class ScriptedCaller:
    """``play`` for collect_client_number: records the media and, on each number prompt, keys the
    next scripted entry (a string of keys, junk included) into the digit buffer."""

    def __init__(self, digits: DigitBuffer, entries: list[str], prompt: str = PROMPT) -> None:
        self.digits = digits
        self.entries = list(entries)
        self.prompt = prompt
        self.played: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def play(self, media: str) -> datetime:
        await asyncio.gather(*self.tasks)  # the caller stops keying while the next prompt plays
        self.played.append(media)
        if media == self.prompt and self.entries:
            self.tasks.append(asyncio.create_task(self._key(self.entries.pop(0))))
        return T0

    async def _key(self, keys: str) -> None:
        for key in keys:
            self.digits.push(key)
            await asyncio.sleep(0)  # one key per event, like the WebSocket delivers them


async def collect(entries: list[str], cfg: InboundConfig = CFG) -> tuple[str | None, list[str]]:
    digits = DigitBuffer.new()
    caller = ScriptedCaller(digits, entries, cfg.client_number_prompt)
    async with asyncio.timeout(5):
        number = await collect_client_number(caller.play, digits, cfg)
    await asyncio.gather(*caller.tasks)
    return number, caller.played


async def test_a_valid_number_ended_by_hash() -> None:
    assert await collect(["48213#"]) == ("48213", [PROMPT])


async def test_silence_ends_the_entry() -> None:
    # No '#': digit_timeout of silence after the last key ends the entry.
    assert await collect(["48213"]) == ("48213", [PROMPT])


async def test_an_invalid_entry_is_reprompted_then_accepted() -> None:
    assert await collect(["12#", "48213#"]) == ("48213", [PROMPT, INVALID, PROMPT])


async def test_retries_exhausted_plays_the_fallback_and_gives_none() -> None:
    number, played = await collect(["1#", "", "123456789012345#"])
    assert number is None
    # No "invalid" after the last attempt: the fallback explains what happens next instead.
    assert played == [PROMPT, INVALID, PROMPT, INVALID, PROMPT, FALLBACK]


async def test_saying_nothing_at_all_gives_none_after_every_attempt() -> None:
    number, played = await collect([])
    assert number is None
    assert played.count(PROMPT) == CFG.max_attempts and played[-1] == FALLBACK


async def test_keys_before_the_prompt_do_not_count() -> None:
    digits = DigitBuffer.new()
    for key in "999#":  # keyed during the announcement
        digits.push(key)
    caller = ScriptedCaller(digits, ["48213#"])
    async with asyncio.timeout(5):
        assert await collect_client_number(caller.play, digits, CFG) == "48213"


async def test_junk_is_not_a_digit() -> None:
    assert await collect(["4x8\x002 1?3#"]) == ("48213", [PROMPT])


async def test_the_pattern_comes_from_config() -> None:
    cfg = replace(CFG, client_number_pattern=r"9[0-9]{2}", max_attempts=2)
    assert await collect(["123#", "912#"], cfg) == ("912", [PROMPT, INVALID, PROMPT])
    assert (await collect(["48213#", "48213#"], cfg))[0] is None


async def test_one_attempt_means_no_invalid_prompt() -> None:
    cfg = replace(CFG, max_attempts=1)
    assert await collect(["1#"], cfg) == (None, [PROMPT, FALLBACK])


# ------------------------------------------------------------------------------------ bounds
async def test_read_number_stops_at_max_digits() -> None:
    digits = DigitBuffer.new()
    for _ in range(MAX_DIGITS + 10):  # a key held down
        digits.push("7")
    async with asyncio.timeout(1):
        assert await read_number(digits, 0.05) == "7" * MAX_DIGITS


async def test_the_buffer_is_bounded() -> None:
    digits = DigitBuffer.new()
    for _ in range(100 * MAX_DIGITS):
        digits.push("1")
    assert digits.queue.maxsize > 0
    assert digits.queue.qsize() <= digits.queue.maxsize


async def test_leftover_keys_of_a_long_entry_do_not_leak_into_the_retry() -> None:
    assert await collect(["1" * 200, "48213#"]) == ("48213", [PROMPT, INVALID, PROMPT])


async def test_star_and_letters_are_keys_but_fail_a_digits_pattern() -> None:
    assert await collect(["12*4#", "A234#", "4821#"]) == ("4821", [PROMPT, INVALID, PROMPT,
                                                                   INVALID, PROMPT])


async def test_read_number_returns_empty_on_silence() -> None:
    async with asyncio.timeout(1):
        assert await read_number(DigitBuffer.new(), 0.05) == ""
