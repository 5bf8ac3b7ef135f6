"""AMI events to the code waiting for them: standing listeners and one-shot waiters.

Events reach us inside panoramisk's ``data_received``, so routing never raises and never blocks:
listeners run as tasks of their own, a waiter's predicate failing fails its future instead.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callrec.ami.errors import AmiError
from callrec.ami.message import AmiMessage

log = logging.getLogger(__name__)

EventCallback = Callable[[AmiMessage], Awaitable[None]]
Predicate = Callable[[AmiMessage], bool]
Spawn = Callable[[Awaitable[None], str], None]


@dataclass(eq=False)
class _Waiter:
    pattern: re.Pattern[str]
    predicate: Predicate
    future: asyncio.Future[AmiMessage]

    def offer(self, event: AmiMessage) -> None:
        if self.future.done() or not self.pattern.fullmatch(event.name):
            return
        try:
            if self.predicate(event):
                self.future.set_result(event)
        except Exception as exc:  # noqa: BLE001 - runs inside panoramisk's parser; must not raise
            self.future.set_exception(exc)


def _compile(pattern: str) -> re.Pattern[str]:
    """An fnmatch pattern ("Hangup", "MixMonitor*") matched case-insensitively."""
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


class EventRouter:
    def __init__(self, spawn: Spawn) -> None:
        self._spawn = spawn
        self._listeners: list[tuple[re.Pattern[str], EventCallback]] = []
        self._waiters: set[_Waiter] = set()

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call ``await callback(event)`` for every event whose name matches the fnmatch
        ``pattern`` (case-insensitive). A failing callback is logged, never propagated."""
        self._listeners.append((_compile(pattern), callback))

    def expect_event(self, pattern: str,
                     predicate: Predicate | None = None) -> asyncio.Future[AmiMessage]:
        """Start listening *now* for the first matching event; cancel the future to stop."""
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(_compile(pattern), predicate or (lambda _: True), future)
        self._waiters.add(waiter)
        future.add_done_callback(lambda _: self._waiters.discard(waiter))
        return future

    async def wait_event(self, pattern: str, predicate: Predicate | None = None,
                         timeout: float = 5.0) -> AmiMessage:
        """The next matching event, or AmiError after ``timeout`` seconds."""
        future = self.expect_event(pattern, predicate)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise AmiError(f"no matching {pattern} event within {timeout:g} s", pattern) from None
        finally:
            future.cancel()

    def cancel_waiters(self) -> None:
        for waiter in list(self._waiters):
            waiter.future.cancel()

    def dispatch(self, event: AmiMessage) -> None:
        for waiter in list(self._waiters):
            waiter.offer(event)
        for pattern, callback in self._listeners:
            if pattern.fullmatch(event.name):
                self._spawn(self._run_callback(callback, event), event.name)

    @staticmethod
    async def _run_callback(callback: EventCallback, event: AmiMessage) -> None:
        try:
            await callback(event)
        except Exception:
            log.exception("AMI event callback %r failed on %s", callback, event.name)
