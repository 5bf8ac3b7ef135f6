"""The faults themselves, on the real sandbox: restart the pbx, stop a PostgreSQL, fill a disk.

Each helper undoes what it did (or says how in its docstring); the callers run them under the sandbox
lock (`flock /tmp/callrec-sandbox.lock`), like every test that touches the sandbox Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from callrec.ari import AriClient
from callrec.config import Config

REPO = Path(__file__).resolve().parents[2]
ROOTFS = Path(os.environ.get("CALLREC_ROOTFS", "/var/tmp/callrec/rootfs"))
ASTERISK_SPOOL = "/var/spool/asterisk/callrec"  # the recordings directory as Asterisk sees it
ASTERISK_UID = 101  # the chroot's "asterisk" user (Asterisk runs as it and writes the files)
PG_BIN = Path(os.environ.get("CALLREC_PG_BIN", "/usr/lib/postgresql/15/bin"))


async def run(*argv: str, timeout: float = 60) -> str:
    """A command's stdout; AssertionError with its output if it fails."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, f"{' '.join(argv)} failed ({proc.returncode}): {out.decode()}"
    return out.decode()


# ------------------------------------------------------------------------------------ Asterisk
async def restart_pbx(*, crash: bool) -> None:
    """Restart the pbx instance, returning once it answers ARI and AMI again. ``crash``: SIGKILL
    first (nothing is closed: MixMonitor's WAV headers still say zero length); otherwise an
    operator's `core stop now` (channels hung up, files closed)."""
    script = str(REPO / "scripts/asterisk-sandbox.sh")
    if crash:
        os.kill(pbx_pid(), signal.SIGKILL)
    try:
        await run("bash", script, "restart", "pbx", timeout=90)
    except (AssertionError, TimeoutError):
        await run("bash", script, "up", timeout=90)  # never leave the sandbox down
        raise


def pbx_pid() -> int:
    """The pbx daemon, found the way scripts/asterisk-sandbox.sh finds it: an `asterisk -f` whose
    root is the sandbox chroot and whose command line does not name the phones' config."""
    root = ROOTFS.resolve()
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or (proc / "comm").read_text().strip() != "asterisk":
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if Path(os.readlink(proc / "root")) == root and b"-f" in argv \
                    and not any(b"asterisk-phones" in a for a in argv):
                return int(proc.name)
        except OSError:
            continue  # gone meanwhile, or not ours to read
    raise AssertionError("the pbx Asterisk is not running")


async def pbx_channels(config: Config) -> set[str]:
    """Ids of the channels the pbx carries now (straight from ARI, not through any proxy)."""
    a = config.asterisk
    async with AriClient(a.ari_url, a.ari_user, a.ari_password, a.app) as ari:
        return {c.id for c in await ari.list_channels()}


# ---------------------------------------------------------------------------------- PostgreSQL
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    """A PostgreSQL 15 cluster of the test's own, so stopping it disturbs nobody else using the
    sandbox's shared one (tests of other suites run against that without the sandbox lock)."""

    root: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://callrec@127.0.0.1:{self.port}/callrec"

    def _as_pg(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv]

    async def create(self) -> None:
        self.root.mkdir(parents=True)
        shutil.chown(self.root, "postgres")
        await run(*self._as_pg(str(PG_BIN / "initdb"), "-D", str(self.root / "data"), "-U",
                               "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                               "--no-instructions"))
        await self.start()
        for statement in ("CREATE ROLE callrec LOGIN", "CREATE DATABASE callrec OWNER callrec"):
            await run(*self._as_pg(str(PG_BIN / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
                                   str(self.port), "-U", "postgres", "-d", "postgres", "-c",
                                   statement))

    async def start(self) -> None:
        await run(*self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l",
                               str(self.root / "log"), "-w", "-t", "60", "-o",
                               f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
                               "start"))

    async def stop(self, mode: str = "immediate") -> None:
        """``immediate``: like a crash - backends killed, no checkpoint, recovery at next start."""
        await run(*self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode,
                               "-w", "-t", "60", "stop"))

    @contextlib.asynccontextmanager
    async def stopped(self, mode: str = "immediate") -> AsyncIterator[None]:
        """Down for the duration of the block, and up again after it whatever happened in it."""
        await self.stop(mode)
        try:
            yield
        finally:
            await self.start()

    async def destroy(self) -> None:
        with contextlib.suppress(AssertionError):
            await self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_postgres(parent: Path) -> AsyncIterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        raise FileNotFoundError(f"no PostgreSQL binaries in {PG_BIN}")
    cluster = PrivatePostgres(parent / f"pg-{secrets.token_hex(3)}", _free_port())
    try:
        await cluster.create()
        yield cluster
    finally:
        await cluster.destroy()


# --------------------------------------------------------------------------------------- disk
@dataclass(frozen=True)
class SmallDisk:
    """A tmpfs mounted inside the recordings directory: what Asterisk and callrec call it."""

    asterisk_dir: str
    local_dir: Path
    size: int

    def free(self) -> int:
        return shutil.disk_usage(self.local_dir).free

    def fill(self, leave: int) -> None:
        """Write a filler file until only ``leave`` bytes are free (tmpfs counts whole pages)."""
        need = self.free() - leave
        if need > 0:
            with open(self.local_dir / "filler", "ab") as fh:
                fh.write(b"\0" * need)

    def fill_up(self) -> None:
        """Take every last byte: Asterisk's next write fails with ENOSPC."""
        with contextlib.suppress(OSError), open(self.local_dir / "filler", "ab") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()


@contextlib.asynccontextmanager
async def small_disk(size: int) -> AsyncIterator[SmallDisk]:
    """A ``size``-byte tmpfs at <recordings>/faults-XXXX, writable by Asterisk; unmounted and
    removed on exit (its recordings with it: they only existed for the test)."""
    name = f"faults-{secrets.token_hex(4)}"
    local = ROOTFS / ASTERISK_SPOOL.lstrip("/") / name
    local.mkdir()
    try:
        await run("mount", "-t", "tmpfs", "-o",
                  f"size={size},uid={ASTERISK_UID},gid={ASTERISK_UID},mode=0775", name, str(local))
        try:
            yield SmallDisk(f"{ASTERISK_SPOOL}/{name}", local, size)
        finally:
            await run("umount", "-l", str(local))
    finally:
        local.rmdir()

