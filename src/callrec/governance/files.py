"""Handing recordings out (fetch, export) and encrypting them at rest: the governed operations
that touch recording files.

A fetch never writes the output before the content is verified: the plaintext is streamed
(decrypted if need be) into a private temp file beside the output while hashing, compared with the
SHA-256 stored at finalisation, the audit row is committed, and only then is the temp file
renamed into place. A mismatch leaves nothing behind but a refused audit row.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from callrec.governance import store as q
from callrec.governance.access import Action, decide
from callrec.governance.crypto import encrypt_in_place, plaintext_chunks
from callrec.governance.errors import CryptoError, GovernanceError, IntegrityError
from callrec.governance.service import Governance, Refusal

SEALED_STATUSES = ("complete", "incomplete")


@dataclass(frozen=True)
class Fetched:
    recording_id: UUID
    kind: str  # "stereo" | "mix"
    source: Path
    output: Path
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Encrypted:
    recording_id: UUID
    files: tuple[str, ...]  # newly encrypted (already encrypted or missing files are not listed)


def choose_source(ref: q.RecordingRef) -> tuple[str, Path, str]:
    """(kind, path, expected sha256): the stereo copy when its fingerprint is known, else the
    mixed file. A file whose fingerprint is unknown cannot be verified, so it is never handed out."""
    if ref.status == "purged":
        raise Refusal("the recording was purged")
    if ref.file_stereo and ref.stereo_sha256 and Path(ref.file_stereo).exists():
        return "stereo", Path(ref.file_stereo), ref.stereo_sha256
    if ref.sha256:
        return "mix", Path(ref.file_mix), ref.sha256
    raise Refusal(f"the recording has no fingerprint (status {ref.status}): it cannot be verified")


def copy_verified(source: Path, output: Path, expected: str, key: bytes | None
                  ) -> tuple[Path, int]:
    """Stream the plaintext of `source` into a temp file (mode 0600) next to `output`; return it
    and its size if its SHA-256 is `expected`, else delete it and refuse."""
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    tmp, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in plaintext_chunks(source, key):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError:
        tmp.unlink(missing_ok=True)
        raise Refusal(f"file missing: {source}", {"file": str(source)}, IntegrityError) from None
    except CryptoError as exc:
        tmp.unlink(missing_ok=True)
        raise Refusal(str(exc), {"file": str(source)}, CryptoError) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise Refusal(f"{source} does not match its stored SHA-256: not handed out",
                      {"file": str(source), "expected": expected, "actual": digest.hexdigest()},
                      IntegrityError)
    return tmp, size


async def fetch(gov: Governance, recording_id: UUID, output: Path, *, key: bytes | None,
                overwrite: bool = False, action: Action = Action.RECORDINGS_FETCH) -> Fetched:
    """Write the recording to `output` under a live grant of the acting user. `action` is
    RECORDINGS_EXPORT when a client release reads it (same rule, its own audit action)."""
    if output.exists() and not overwrite:
        raise GovernanceError(f"{output} already exists (use --force to replace it)")
    if not output.parent.is_dir():
        raise GovernanceError(f"no directory {output.parent}")
    tmp: Path | None = None
    try:
        async with gov.attempt(action, recording_id) as att:
            ref = await gov.existing_recording(att, recording_id)
            grant = await q.newest_grant(att.conn, gov.actor, recording_id)
            att.require(decide(action, att.user, att.at, grant=grant, recording_id=recording_id))
            assert grant is not None
            kind, source, expected = choose_source(ref)
            verified, size = await asyncio.to_thread(copy_verified, source, output, expected, key)
            tmp = verified
            await att.granted(grant=grant.id, file=kind, source=source, sha256=expected,
                              bytes=size, output=output.resolve())
        os.replace(verified, output)
        tmp = None
        return Fetched(recording_id, kind, source, output, expected, size)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


async def sealed_recordings(gov: Governance) -> list[UUID]:
    async with q.transaction(gov.db, "list sealed recordings") as conn:
        cur = await conn.execute(
            "SELECT id FROM recordings WHERE status = ANY(%s) ORDER BY started_at, id",
            (list(SEALED_STATUSES),))
        return [row[0] for row in await cur.fetchall()]


async def encrypt_recording(gov: Governance, recording_id: UUID, key: bytes,
                            chunk_size: int) -> Encrypted:
    """Encrypt a sealed recording's files in place (admins only). Fingerprints stay valid: they
    are of the plaintext, which fetch and release verify after decrypting."""
    async with gov.attempt(Action.RECORDINGS_ENCRYPT, recording_id) as att:
        att.require(decide(Action.RECORDINGS_ENCRYPT, att.user, att.at))
        ref = await gov.existing_recording(att, recording_id, lock=True)
        if ref.status not in SEALED_STATUSES:
            raise Refusal(f"only sealed recordings are encrypted (status {ref.status})")
        done = await asyncio.to_thread(_encrypt_files, ref.files, key, chunk_size)
        await att.granted(files=done)
        return Encrypted(recording_id, done)


def _encrypt_files(paths: tuple[str, ...], key: bytes, chunk_size: int) -> tuple[str, ...]:
    return tuple(p for p in paths if Path(p).exists() and encrypt_in_place(Path(p), key,
                                                                             chunk_size))


async def encrypt_all(gov: Governance, key: bytes, chunk_size: int,
                      on_done: Callable[[Encrypted], None] = lambda _: None) -> list[Encrypted]:
    results = []
    for recording_id in await sealed_recordings(gov):
        results.append(await encrypt_recording(gov, recording_id, key, chunk_size))
        on_done(results[-1])
    return results
