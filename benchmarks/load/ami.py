"""A minimal raw AMI client for the benchmark: actions, and every event kept with Asterisk's own
`Timestamp` header (manager.conf timestampevents = yes).

WHY not callrec.ami.AmiGateway: the benchmark must observe Asterisk independently of the code under
test, and needs every event of a few kinds, in order, with nothing dropped or dispatched late.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

Message = dict[str, str]


class AmiFailure(Exception):
    """An AMI action failed or the connection broke."""


@dataclass
class RawAmi:
    host: str
    port: int
    user: str
    secret: str
    keep: frozenset[str] = frozenset()  # event names to record; empty = none
    events: list[Message] = field(default_factory=list)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _pending: dict[str, asyncio.Future[Message]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), 5)
        await self._reader.readline()  # banner
        self._task = asyncio.create_task(self._read_loop())
        await self.send({"Action": "Login", "Username": self.user, "Secret": self.secret,
                         "Events": "on" if self.keep else "off"})

    async def close(self) -> None:
        if self._writer is not None:
            try:
                await asyncio.wait_for(self.send({"Action": "Logoff"}, check=False), 2)
            except (AmiFailure, TimeoutError, ConnectionError):
                pass
            self._writer.close()
        if self._task is not None:
            self._task.cancel()

    async def send(self, action: dict[str, str | Iterable[str]], *, check: bool = True,
                   timeout: float = 10) -> Message:
        assert self._writer is not None
        action_id = f"bench-{next(self._ids)}"
        lines = [f"ActionID: {action_id}"]
        for key, value in action.items():
            values = [value] if isinstance(value, str) else list(value)
            lines += [f"{key}: {v}" for v in values]
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = await asyncio.wait_for(future, timeout)
        if check and reply.get("Response") == "Error":
            raise AmiFailure(f"{action.get('Action')}: {reply.get('Message')}")
        return reply

    async def command(self, cli: str) -> str:
        reply = await self.send({"Action": "Command", "Command": cli})
        return reply.get("Output", "")

    def of(self, name: str) -> list[Message]:
        return [e for e in self.events if e.get("Event") == name]

    async def _read_loop(self) -> None:
        assert self._reader is not None
        message: Message = {}
        outputs: list[str] = []
        try:
            while line := await self._reader.readline():
                text = line.decode(errors="replace").rstrip("\r\n")
                if text:
                    key, _, value = text.partition(":")
                    if key == "Output":  # Command replies: one Output header per line
                        outputs.append(value.strip())
                    else:
                        message[key] = value.strip()
                    continue
                if outputs:
                    message["Output"] = "\n".join(outputs)
                self._dispatch(message)
                message, outputs = {}, []
        except (ConnectionError, asyncio.CancelledError):
            pass
        for future in self._pending.values():
            if not future.done():
                future.set_exception(AmiFailure("AMI connection closed"))

    def _dispatch(self, message: Message) -> None:
        if "Response" in message:
            future = self._pending.pop(message.get("ActionID", ""), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif message.get("Event") in self.keep:
            self.events.append(message)
