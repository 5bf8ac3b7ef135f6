"""Starting, stopping and finalising MixMonitor recordings over AMI.

Why MixMonitor on the AGENT's channel with ``b``: MixMonitor follows the channel it is attached to. On
the caller's channel it would keep recording after every kind of transfer; on the agent's real SIP
channel with ``b`` (record only while bridged) the file ends exactly when the agent leaves the bridge.
We still send StopMixMonitor on the first sign of departure: ``b`` is a backstop, not the mechanism, and
``MixMonitorStop`` is only emitted on an explicit stop.

Files: ``r()`` is what the channel READS (the agent speaking), ``t()`` what it is sent (the caller, via the
bridge). Names are built from callrec's own recording IDs only, never from caller input.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from uuid import UUID

from callrec.ami import AmiError, AmiGateway
from callrec.audio import FileFacts, file_facts, merge_legs, repair_wav_header, wait_closed
from callrec.controller.diskspace import DiskError, DiskVerdict, Policy, decide_disk, probe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordingFiles:
    """One segment's files: as Asterisk names them, and as callrec reads them."""

    asterisk_mix: PurePosixPath
    asterisk_caller: PurePosixPath
    asterisk_agent: PurePosixPath
    local_mix: Path
    local_caller: Path
    local_agent: Path
    local_stereo: Path

    @classmethod
    def for_recording(cls, recording_id: UUID, started_at: datetime, asterisk_dir: str,
                      local_dir: str) -> RecordingFiles:
        sub = started_at.strftime("%Y/%m/%d")
        stem = str(recording_id)  # a UUID: safe as a file name whatever the caller keyed in

        def pair(leg: str) -> tuple[PurePosixPath, Path]:
            name = f"{sub}/{stem}-{leg}.wav"
            return PurePosixPath(asterisk_dir) / name, Path(local_dir) / name

        (am, lm), (ac, lc), (aa, la) = pair("mix"), pair("caller"), pair("agent")
        return cls(am, ac, aa, lm, lc, la, Path(local_dir) / f"{sub}/{stem}-stereo.wav")


@dataclass(frozen=True)
class Finalised:
    facts: FileFacts | None
    stereo: FileFacts | None
    complete: bool  # False: the file never closed (crash, full disk) and its header was repaired


class Recorder:
    def __init__(self, ami: AmiGateway, *, asterisk_dir: str, local_dir: str,
                 finalise_timeout: float, min_free_bytes: int = 0,
                 disk_policy: Policy = "carry_on", cut_short_tolerance_ms: int = 250) -> None:
        self._ami = ami
        self._asterisk_dir = asterisk_dir
        self._local_dir = local_dir
        self._finalise_timeout = finalise_timeout
        self._min_free = min_free_bytes
        self._disk_policy = disk_policy
        self.cut_short_tolerance_ms = cut_short_tolerance_ms

    @property
    def local_dir(self) -> str:
        return self._local_dir

    async def disk_verdict(self) -> DiskVerdict:
        """May a recording start? MixMonitor itself would never say the disk is full."""
        try:
            free, total = await asyncio.to_thread(probe, self._local_dir)
        except DiskError as exc:
            return DiskVerdict(True, str(exc))
        return decide_disk(free, total, self._min_free, self._disk_policy)

    def files(self, recording_id: UUID, started_at: datetime) -> RecordingFiles:
        return RecordingFiles.for_recording(recording_id, started_at, self._asterisk_dir,
                                            self._local_dir)

    async def start(self, channel_name: str, files: RecordingFiles) -> str | None:
        """Start MixMonitor; returns Asterisk's MixMonitor ID. Raises AmiError if Asterisk refused or
        did not answer in time."""
        # i(VAR) also stores that ID on the channel, so a restarted controller can find it again.
        options = f"bi(CALLREC_MIXMONITOR)r({files.asterisk_agent})t({files.asterisk_caller})"
        return await self._ami.mixmonitor_start(channel_name, str(files.asterisk_mix),
                                                options=options)

    async def stop(self, channel_name: str, asterisk_id: str | None) -> bool:
        """Stop it; False if the channel is already gone (``b`` and the hangup closed the file)."""
        try:
            await self._ami.mixmonitor_stop(channel_name, asterisk_id)
            return True
        except AmiError as exc:
            log.info("StopMixMonitor on %s: %s (already stopped by b/hangup)", channel_name, exc)
            return False

    async def finalise(self, files: RecordingFiles) -> Finalised:
        """Wait for the WAV to be closed (its header sizes are written at close), then measure it."""
        closed = await wait_closed(files.local_mix, self._finalise_timeout)
        if not files.local_mix.exists():
            return Finalised(None, None, False)
        if not closed:
            await asyncio.to_thread(repair_wav_header, files.local_mix)
        for leg in (files.local_caller, files.local_agent):
            if leg.exists() and not await wait_closed(leg, 1.0):
                await asyncio.to_thread(repair_wav_header, leg)
        facts = await asyncio.to_thread(file_facts, files.local_mix)
        stereo = None
        if files.local_caller.exists() and files.local_agent.exists():
            stereo = await asyncio.to_thread(merge_legs, files.local_caller, files.local_agent,
                                             files.local_stereo)
        return Finalised(facts, stereo, closed)
