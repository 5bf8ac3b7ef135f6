"""`create_release`: one client copy, in one step, with every attempt handed to the audit log.

Order of work: refuse early (not reviewed, unknown recording, still recording), verify the source
against its stored fingerprint, plan the edits (pure), render (streaming, in a worker thread),
fingerprint the copy, then record it. A copy that could not be recorded is deleted: nothing may
leave for a client without its row in `releases`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from callrec.audio import AudioError, file_facts
from callrec.governance.crypto import is_encrypted, plaintext_chunks
from callrec.governance.errors import CryptoError
from callrec.release.errors import ReleaseError, ReleaseRefused
from callrec.release.export import encode_mp3, sha256_file
from callrec.release.plan import EditPlan, HoldOffsets, Span, plan_release
from callrec.release.ports import ACTION_EXPORT, FAILED, GRANTED, REFUSED, Governance
from callrec.release.records import Release, ReleaseRecords
from callrec.release.render import RedactMode, Rendered, render_wav
from callrec.store import Hold, Recording, Store, StoreError

T = TypeVar("T")
# Only sealed recordings: an open one is still being written, a failed one has no trustworthy
# file. "incomplete" (header repaired after Asterisk never closed it) is still real evidence.
RELEASABLE_STATUSES = frozenset({"complete", "incomplete"})


class Format(StrEnum):
    WAV = "wav"
    MP3 = "mp3"


@dataclass(frozen=True)
class ReleaseRequest:
    recording_id: UUID
    request_ref: str
    output: Path
    reviewer: str
    reviewed: bool
    actor: str
    redactions: tuple[Span, ...] = ()
    redact_mode: RedactMode = RedactMode.BEEP
    format: Format = Format.WAV
    key: bytes | None = field(default=None, repr=False)  # for recordings encrypted at rest

    def audit_detail(self) -> dict[str, Any]:
        return {"request_ref": self.request_ref, "reviewer": self.reviewer,
                "redactions": [str(s) for s in self.redactions], "format": self.format.value,
                "redact_mode": self.redact_mode.value, "output": str(self.output)}


@dataclass(frozen=True)
class Source:
    path: Path
    sha256: str
    duration_ms: int


def utc_now() -> datetime:
    return datetime.now(UTC)


async def create_release(
    store: Store, records: ReleaseRecords, governance: Governance, req: ReleaseRequest, *,
    now: Callable[[], datetime] = utc_now, ffmpeg: str = "ffmpeg",
) -> Release:
    """Build, fingerprint and record the client copy; raises ReleaseError (ReleaseRefused when a
    rule said no). The attempt is audited whatever the outcome."""
    target, detail, audit = str(req.recording_id), req.audit_detail(), governance.audit
    try:
        refusal = await governance.authoriser.refusal(req.actor, req.recording_id)
        if refusal is not None:
            raise ReleaseRefused(refusal)
        release = await _create(store, records, req, now, ffmpeg)
    except ReleaseError as exc:
        outcome = REFUSED if isinstance(exc, ReleaseRefused) else FAILED
        await audit.record(req.actor, ACTION_EXPORT, target, outcome,
                           {**detail, "reason": str(exc)})
        raise
    await audit.record(req.actor, ACTION_EXPORT, target, GRANTED, {
        **detail, "release_id": str(release.id), "output_sha256": release.output_sha256})
    return release


def hold_offsets(holds: Iterable[Hold], recording_id: UUID) -> tuple[HoldOffsets, ...]:
    """The recording's holds as offsets. A hold with no start offset cannot be cut safely."""
    mine = [h for h in holds if h.recording_id == recording_id]
    missing = [str(h.id) for h in mine if h.start_offset_ms is None]
    if missing:
        raise ReleaseRefused(f"hold(s) {', '.join(missing)} have no offset into the recording: "
                             "cannot cut them out safely")
    return tuple((h.start_offset_ms, h.end_offset_ms) for h in mine
                 if h.start_offset_ms is not None)


async def _create(store: Store, records: ReleaseRecords, req: ReleaseRequest,
                  now: Callable[[], datetime], ffmpeg: str) -> Release:
    _check_request(req)
    reviewed_at = now()
    rec = await _releasable(store, req.recording_id)
    _check_output(req.output, rec)
    holds = await _holds(store, rec)
    with tempfile.TemporaryDirectory(prefix="callrec-release-") as scratch:
        source = await asyncio.to_thread(_source, rec, req.key, Path(scratch))
        plan = plan_release(source.duration_ms, hold_offsets(holds, rec.id), req.redactions)
        rendered, digest = await asyncio.to_thread(_produce, source.path, plan, req, ffmpeg)
    release = _release(req, rec, source, plan, rendered, digest, reviewed_at, now())
    try:
        await records.add(release)
    except StoreError as exc:
        req.output.unlink(missing_ok=True)
        raise ReleaseError(f"the copy could not be recorded, so it was deleted: {exc}") from exc
    return release


def _check_request(req: ReleaseRequest) -> None:
    if not req.reviewed:
        raise ReleaseRefused("the recording must be reviewed in its entirety before it is "
                             "released: confirm the review with --reviewed")
    if not req.reviewer.strip():
        raise ReleaseRefused("a release needs the reviewer's name")
    if not req.request_ref.strip():
        raise ReleaseRefused("a release needs the client's request reference")


async def _releasable(store: Store, recording_id: UUID) -> Recording:
    info = await _db(store.get_recording(recording_id))
    if info is None:
        raise ReleaseRefused(f"no recording {recording_id}")
    rec = info.recording
    if rec.status not in RELEASABLE_STATUSES:
        raise ReleaseRefused(f"recording {rec.id} is {rec.status}; only a sealed recording "
                             f"({', '.join(sorted(RELEASABLE_STATUSES))}) can be released")
    return rec


async def _holds(store: Store, rec: Recording) -> Sequence[Hold]:
    detail = await _db(store.get_call(rec.call_id))
    return () if detail is None else detail.holds


async def _db(work: Awaitable[T]) -> T:
    try:
        return await work
    except StoreError as exc:
        raise ReleaseError(f"database: {exc}") from exc


def _check_output(out: Path, rec: Recording) -> None:
    if out.exists() or out.is_symlink():
        raise ReleaseRefused(f"{out} already exists; a release never overwrites a file")
    evidence = {Path(p).resolve() for p in (rec.file_mix, rec.file_caller, rec.file_agent,
                                            rec.file_stereo) if p}
    if out.resolve() in evidence:
        raise ReleaseRefused(f"{out} is one of the recording's own files")


def _source(rec: Recording, key: bytes | None, scratch: Path) -> Source:
    """The stereo file (caller left, agent right) if present, else the mix. The mix is checked
    against the SHA-256 taken at finalisation: a copy of altered evidence must not go out. A file
    encrypted at rest is decrypted into ``scratch`` (a private temporary directory) and checked
    there, so the rendering below only ever reads verified plaintext."""
    mix = Path(rec.file_mix)
    try:
        if mix.exists() and rec.sha256 is not None:
            actual = _plaintext_sha256(mix, key)
            if actual != rec.sha256:
                raise ReleaseRefused(f"{mix} no longer matches its recorded SHA-256 "
                                     f"({rec.sha256[:12]}… vs {actual[:12]}…): evidence altered")
        stereo = Path(rec.file_stereo) if rec.file_stereo else None
        path = stereo if stereo is not None and stereo.exists() else mix
        if not path.exists():
            raise ReleaseRefused(f"recording {rec.id}: no file to release ({path} is missing)")
        if is_encrypted(path):
            path = _decrypt_to(path, key, scratch / path.name)
        facts = file_facts(path)
    except AudioError as exc:
        raise ReleaseError(f"recording {rec.id}: {exc}") from exc
    except CryptoError as exc:
        raise ReleaseRefused(f"recording {rec.id}: {exc}") from exc
    if path == stereo and rec.stereo_sha256 and facts.sha256 != rec.stereo_sha256:
        raise ReleaseRefused(f"{stereo} no longer matches its recorded SHA-256: evidence altered")
    return Source(path, facts.sha256, facts.duration_ms)


def _plaintext_sha256(path: Path, key: bytes | None) -> str:
    digest = hashlib.sha256()
    for chunk in plaintext_chunks(path, key):
        digest.update(chunk)
    return digest.hexdigest()


def _decrypt_to(path: Path, key: bytes | None, out: Path) -> Path:
    with open(out, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.writelines(plaintext_chunks(path, key))
    return out


def _produce(source: Path, plan: EditPlan, req: ReleaseRequest, ffmpeg: str
             ) -> tuple[Rendered, str]:
    if req.format is Format.WAV:
        rendered = render_wav(source, plan, req.output, req.redact_mode)
    else:
        wav = req.output.with_name(f".{req.output.name}.wav")
        try:
            rendered = render_wav(source, plan, wav, req.redact_mode)
            encode_mp3(wav, req.output, ffmpeg=ffmpeg)
        finally:
            wav.unlink(missing_ok=True)
    return rendered, sha256_file(req.output)


def _release(req: ReleaseRequest, rec: Recording, source: Source, plan: EditPlan,
             rendered: Rendered, digest: str, reviewed_at: datetime, created_at: datetime
             ) -> Release:
    return Release(
        id=uuid.uuid4(), recording_id=rec.id, request_ref=req.request_ref,
        reviewer=req.reviewer, reviewed_at=reviewed_at, edit_list=plan.as_json(),
        redact_mode=req.redact_mode.value, format=req.format.value,
        source_path=str(source.path), source_sha256=source.sha256,
        output_path=str(req.output.resolve()), output_sha256=digest,
        output_duration_ms=rendered.duration_ms, created_by=req.actor, created_at=created_at)
