"""Starting, stopping and finalising MixMonitor recordings over AMI.

Why MixMonitor on the AGENT's channel with ``b``: MixMonitor follows the channel it is attached to. On
the caller's channel it would keep recording after every kind of transfer; on the agent's real SIP
channel with ``b`` (record only while bridged) the file ends exactly when the agent leaves the bridge.
We still send StopMixMonitor on the first sign of departure: ``b`` is a backstop, not the mechanism, and
``MixMonitorStop`` is only emitted on an explicit stop.

Files: ``r()`` is what the channel READS (the agent speaking), ``t()`` what it is sent (the caller, via the
bridge). Names are built from callrec's own recording IDs only, never from caller input.

An AMI action that got no answer may still have been carried out (``AmiOutcomeUnknown``): a start is
re-checked on the channel once AMI is back, a stop is sent again (StopMixMonitor with the ID only ever
stops that one monitor, so a second one is harmless).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from uuid import UUID

from callrec.ami import AmiError, AmiGateway, AmiNotConnected, AmiOutcomeUnknown
from callrec.audio import (
    AudioError,
    FileFacts,
    file_facts,
    merge_legs,
    repair_wav_header,
    wait_closed,
)
from callrec.controller.diskspace import DiskError, DiskVerdict, Policy, decide_disk, probe

log = logging.getLogger(__name__)

# MixMonitor's i() stores its ID in this channel variable (adopt.py reads it after a restart too).
MONITOR_VAR = "CALLREC_MIXMONITOR"


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
                 disk_policy: Policy = "carry_on", cut_short_tolerance_ms: int = 250,
                 reconnect_wait: float = 5.0, discard_grace: float = 1.0) -> None:
        self._ami = ami
        self._reconnect_wait = reconnect_wait  # how long a re-check waits for AMI to come back
        self._retries: set[asyncio.Future[bool]] = set()  # stops to send again once AMI answers
        self._discard_grace = discard_grace
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
        options = f"bi({MONITOR_VAR})r({files.asterisk_agent})t({files.asterisk_caller})"
        try:
            return await self._ami.mixmonitor_start(channel_name, str(files.asterisk_mix),
                                                    options=options)
        except AmiOutcomeUnknown as exc:
            return await self._started_after_all(channel_name, files, exc)

    async def _started_after_all(self, channel_name: str, files: RecordingFiles,
                                 lost: AmiError) -> str:
        """The MixMonitor action got no answer: ask the channel whether it runs. i() sets the ID
        variable only once the monitor thread is launched; MIXMONITOR_FILENAME names the last
        MixMonitor run on the channel, so an older monitor's ID is never mistaken for this one."""
        log.warning("MixMonitor on %s: %s; re-checking once AMI answers", channel_name, lost.message)
        if not await self._ami.wait_answering(self._reconnect_wait):
            raise AmiError(f"{lost.message}; AMI still down, cannot tell whether it started",
                           "MixMonitor")
        try:
            asterisk_id = await self._ami.getvar(channel_name, MONITOR_VAR)
            file = await self._ami.getvar(channel_name, "MIXMONITOR_FILENAME")
        except AmiError as exc:
            raise AmiError(f"{lost.message}; re-check: {exc.message}", "MixMonitor") from None
        if not asterisk_id or file != str(files.asterisk_mix):
            raise AmiError(f"{lost.message}; re-check: not running", "MixMonitor")
        log.warning("MixMonitor on %s was started after all: %s adopted", channel_name, asterisk_id)
        return asterisk_id

    async def stop(self, channel_name: str, asterisk_id: str | None) -> bool:
        """Stop it; False if the channel is already gone (``b`` and the hangup closed the file) or
        AMI did not answer. A stop AMI did not answer is sent again once AMI answers, in the
        background: the call goes on meanwhile (its caller is not kept waiting for AMI), and ``b``
        ends the file when the agent leaves the bridge whatever becomes of the stop."""
        try:
            await self._ami.mixmonitor_stop(channel_name, asterisk_id)
            return True
        except (AmiOutcomeUnknown, AmiNotConnected) as exc:
            retry = asyncio.ensure_future(self._stop_once_connected(channel_name, asterisk_id, exc))
            self._retries.add(retry)
            retry.add_done_callback(self._retries.discard)
            return False
        except AmiError as exc:
            log.info("StopMixMonitor on %s: %s (already stopped by b/hangup)", channel_name, exc)
            return False

    async def retries_sent(self) -> None:
        """Wait until every stop being sent again has been (or has given up)."""
        await asyncio.gather(*self._retries, return_exceptions=True)

    async def _stop_once_connected(self, channel_name: str, asterisk_id: str | None,
                                   lost: AmiError) -> bool:
        log.warning("StopMixMonitor on %s: %s; sending it again once AMI answers", channel_name,
                    lost.message)
        if not await self._ami.wait_answering(self._reconnect_wait):
            log.error("StopMixMonitor on %s: AMI still down after %g s", channel_name,
                      self._reconnect_wait)
            return False
        try:
            await self._ami.mixmonitor_stop(channel_name, asterisk_id)
            return True
        except AmiError as exc:  # "no such MixMonitor": the first one got through after all
            log.info("StopMixMonitor on %s again: %s (already stopped)", channel_name, exc)
            return False

    async def discard(self, channel_name: str, asterisk_id: str | None,
                      files: RecordingFiles) -> None:
        """A MixMonitor armed for an agent whose segment never began (the agent was not bridged, or
        the call had ended when it was): stop it and remove its files, so none outlives the decision
        not to record. They exist even if the agent was never bridged (MixMonitor creates them when
        it starts; ``b`` only holds back the audio); let it close them first (stop or hangup)."""
        await self.stop(channel_name, asterisk_id)
        await wait_closed(files.local_mix, self._discard_grace)
        for path in (files.local_mix, files.local_caller, files.local_agent):
            await asyncio.to_thread(path.unlink, missing_ok=True)

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
        return Finalised(facts, await self._stereo(files), closed)

    @staticmethod
    async def _stereo(files: RecordingFiles) -> FileFacts | None:
        """The two legs as one stereo file, a convenience beside the evidence: if it cannot be
        written (a full disk) the recording is still sealed, from the mix."""
        if not (files.local_caller.exists() and files.local_agent.exists()):
            return None
        try:
            return await asyncio.to_thread(merge_legs, files.local_caller, files.local_agent,
                                           files.local_stereo)
        except AudioError as exc:
            log.warning("no stereo file for %s: %s", files.local_mix.name, exc)
            return None
