"""The caller-facing prompts: the recording announcement and client-number entry by DTMF.

None of this is ever recorded: recording only exists once an agent is in the bridge. The client number
goes to the evidence store only, never into a file name or a log line.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from callrec.config import InboundConfig

MAX_DIGITS = 32  # a caller holding a key down must not grow our buffers without bound
DTMF_KEYS = frozenset("0123456789*#ABCD")

Play = Callable[[str], Awaitable[datetime]]  # play media to the caller, return when it finished


@dataclass
class DigitBuffer:
    """DTMF from ChannelDtmfReceived, in arrival order."""

    queue: asyncio.Queue[str]

    @classmethod
    def new(cls) -> DigitBuffer:
        return cls(asyncio.Queue(maxsize=MAX_DIGITS * 4))

    def push(self, digit: str) -> None:
        if digit in DTMF_KEYS and not self.queue.full():
            self.queue.put_nowait(digit)

    def clear(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    async def next(self, timeout: float) -> str | None:
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None


async def read_number(digits: DigitBuffer, timeout: float) -> str:
    """Digits until '#', a silence of ``timeout`` seconds, or MAX_DIGITS."""
    entered: list[str] = []
    while len(entered) < MAX_DIGITS:
        digit = await digits.next(timeout)
        if digit is None or digit == "#":
            break
        entered.append(digit)
    return "".join(entered)


async def collect_client_number(play: Play, digits: DigitBuffer, cfg: InboundConfig) -> str | None:
    """Prompt, read, validate; re-prompt up to ``max_attempts``; None after the fallback prompt."""
    pattern = re.compile(cfg.client_number_pattern)
    for attempt in range(cfg.max_attempts):
        digits.clear()
        await play(cfg.client_number_prompt)
        number = await read_number(digits, cfg.digit_timeout)
        if pattern.fullmatch(number):
            return number
        if attempt + 1 < cfg.max_attempts:
            await play(cfg.invalid_prompt)
    await play(cfg.fallback_prompt)
    return None
