"""panoramisk 1.4's Manager with the fixes the gateway needs (the why: see callrec.ami.gateway)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from callrec.ami.message import AmiMessage


class StoppableManager(Manager):
    """panoramisk's Manager that stays dead once stopped and reports refused logins too."""

    def __init__(self, on_login_result: Callable[[bool, str], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_login_result = on_login_result
        self.stopped = False

    def connect(self, *args: Any, **kwargs: Any) -> asyncio.Task[Any] | None:
        # Also reached from panoramisk's call_later(reconnect_timeout, self.connect).
        return None if self.stopped else super().connect()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if self.stopped:
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        super().connection_made(f)

    def ping(self) -> None:
        """No unchecked Pings: panoramisk sends them and never looks at the answer, so a dead
        socket went unnoticed until an action needed it. The gateway's heartbeat checks them."""

    def login(self, future: asyncio.Future[Message]) -> bool:
        if future.cancelled() or future.exception() is not None:
            return False
        ok = bool(super().login(future))
        self._on_login_result(ok, AmiMessage.from_panoramisk(future.result()).text("Message"))
        return ok
