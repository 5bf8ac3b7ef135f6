"""A local TCP proxy that can black-hole its traffic: a network partition with no FIN and no RST.

Why a proxy and not closing the socket: a closed socket is the easy case (the peer sees EOF at once).
The hard one is a half-open connection - a switch reboots, a firewall drops state - where neither end
hears anything and only a heartbeat can tell. While the hole is open:

* established connections stop moving bytes in both directions; the proxy stops *reading*, so what
  either end sends waits in kernel buffers, as it would in TCP retransmission queues;
* new connections are accepted (the kernel answers the handshake, we cannot stop that) but never
  reach the upstream: like a SYN lost in the partition, nothing the client sends on them arrives.

When the hole heals, established connections carry on from where they stopped, exactly as TCP would
after a partition: whatever a peer sent meanwhile (a WebSocket close frame, a FIN) arrives then.
Connections born during the hole are closed: they never existed on the far side.
"""

from __future__ import annotations

import asyncio
import contextlib


class BlackHoleProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._open = asyncio.Event()  # set: bytes flow
        self._open.set()
        self._server: asyncio.Server | None = None
        self._stillborn: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def blackhole(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()
        for writer in list(self._stillborn):
            writer.close()  # the client gave up on it long ago, or will see EOF and retry
        self._stillborn.clear()

    async def close(self) -> None:
        self._open.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._stillborn:
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open.is_set():
            self._stillborn.add(writer)  # read nothing, forward nothing, until heal() closes it
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        task = asyncio.get_running_loop().create_task(
            self._connection(reader, writer, up_reader, up_writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                end.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy one direction. The gate is checked before reading AND before writing: a chunk read
        just before the hole opened is held, not lost and not delivered, until it heals."""
        try:
            while True:
                await self._open.wait()
                data = await source.read(65536)
                await self._open.wait()
                if not data:
                    break
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.write_eof()  # pass the FIN on; the other direction ends on its own EOF
