"""Encryption of recordings at rest: AES-256-GCM over fixed-size chunks, streamed.

File layout::

    header  = MAGIC (8) | chunk_size (u32 BE) | key_id (8) | nonce_prefix (8)
    chunk i = AES-GCM(key, nonce = nonce_prefix | i (u32 BE),
                      aad = header | i (u64 BE) | final (1 byte), plaintext_i)   -> len + 16

Why this shape: GCM over a whole hour of audio would need it all in memory (the tag comes last);
chunks bound memory to `chunk_size`. Putting the index in nonce and AAD makes a reordered chunk
fail authentication; the final flag makes a file cut at a chunk boundary fail too (its new last
chunk was sealed as not-final). The header is authenticated with every chunk. `key_id` (a hash
prefix of the key) lets a wrong key be reported as such instead of as "corrupted".
Every `cryptography` failure surfaces as CryptoError.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import struct
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callrec.governance.errors import CryptoError
from callrec.governance.settings import ENCRYPTION_KEY_ENV, EncryptionConfig

MAGIC: Final = b"CRENC01\n"
KEY_BYTES: Final = 32
TAG_BYTES: Final = 16
_HEADER: Final = struct.Struct(">8sI8s8s")
MAX_CHUNK: Final = 16 * 1024 * 1024


# ------------------------------------------------------------------------------------------ keys
def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"callrec-key-id:" + key).digest()[:8]


def parse_key(text: str, source: str) -> bytes:
    """64 hex digits or base64 of 32 bytes."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.b64decode(
            text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CryptoError(f"{source}: not a key (64 hex digits or base64 of 32 bytes)") from exc
    if len(key) != KEY_BYTES:
        raise CryptoError(f"{source}: an AES-256 key is {KEY_BYTES} bytes, got {len(key)}")
    return key


def load_key(config: EncryptionConfig, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The configured key: $CALLREC_ENCRYPTION_KEY, else [encryption] key_file, else None."""
    env = os.environ if environ is None else environ
    if env.get(ENCRYPTION_KEY_ENV, "").strip():
        return parse_key(env[ENCRYPTION_KEY_ENV], ENCRYPTION_KEY_ENV)
    if not config.key_file:
        return None
    try:
        raw = Path(config.key_file).read_bytes()
    except OSError as exc:
        raise CryptoError(f"encryption key file {config.key_file}: {exc.strerror}") from exc
    if len(raw) == KEY_BYTES:
        return raw
    return parse_key(raw.decode("ascii", errors="replace"), config.key_file)


def require_key(key: bytes | None, path: Path) -> bytes:
    if key is None:
        raise CryptoError(f"{path} is encrypted but no key is configured: set "
                          f"{ENCRYPTION_KEY_ENV} or [encryption] key_file")
    return key


# ---------------------------------------------------------------------------------- streaming
def _read_exact(f: BinaryIO, n: int) -> bytes:
    parts, left = [], n
    while left:
        part = f.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 2**32:
        raise CryptoError("file too large for one nonce prefix")
    return prefix + struct.pack(">I", index)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes, chunk_size: int = 64 * 1024) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise CryptoError(f"chunk size must be 1..{MAX_CHUNK}, got {chunk_size}")
    prefix = secrets.token_bytes(8)
    header = _HEADER.pack(MAGIC, chunk_size, key_id(key), prefix)
    dst.write(header)
    aead, index = AESGCM(key), 0
    current = _read_exact(src, chunk_size)
    while True:
        following = _read_exact(src, chunk_size)
        final = not following
        dst.write(aead.encrypt(_nonce(prefix, index), current, _aad(header, index, final)))
        if final:
            return
        current, index = following, index + 1


def _read_header(src: BinaryIO, key: bytes, name: str) -> tuple[bytes, int, bytes]:
    header = _read_exact(src, _HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise CryptoError(f"{name} is not a callrec encrypted file")
    _, chunk_size, kid, prefix = _HEADER.unpack(header)
    if kid != key_id(key):
        raise CryptoError(f"{name}: wrong key (file key id {kid.hex()}, configured key id "
                          f"{key_id(key).hex()})")
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise CryptoError(f"{name}: corrupted header (chunk size {chunk_size})")
    return header, chunk_size, prefix


def decrypt_chunks(src: BinaryIO, key: bytes, name: str = "file") -> Iterator[bytes]:
    """Plaintext chunks, each authenticated before it is yielded. Raises CryptoError at the first
    chunk that is tampered, reordered or missing (the caller must discard what it got so far)."""
    header, chunk_size, prefix = _read_header(src, key, name)
    aead, record = AESGCM(key), chunk_size + TAG_BYTES
    current, index = _read_exact(src, record), 0
    if not current:
        raise CryptoError(f"{name}: truncated (no data after the header)")
    while True:
        following = _read_exact(src, record)
        final = not following
        yield _open_chunk(aead, prefix, header, index, current, final, name)
        if final:
            return
        current, index = following, index + 1


def _open_chunk(aead: AESGCM, prefix: bytes, header: bytes, index: int, sealed: bytes,
                final: bool, name: str) -> bytes:
    nonce = _nonce(prefix, index)
    try:
        return aead.decrypt(nonce, sealed, _aad(header, index, final))
    except InvalidTag:
        pass
    if final and _opens_as_not_final(aead, nonce, sealed, header, index):
        raise CryptoError(f"{name}: truncated after chunk {index} (chunks missing at the end)")
    raise CryptoError(f"{name}: chunk {index} fails authentication (tampered or reordered)")


def _opens_as_not_final(aead: AESGCM, nonce: bytes, sealed: bytes, header: bytes,
                        index: int) -> bool:
    try:
        aead.decrypt(nonce, sealed, _aad(header, index, False))
    except InvalidTag:
        return False
    return True


# -------------------------------------------------------------------------------------- files
def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def plaintext_chunks(path: Path, key: bytes | None, chunk_size: int = 1024 * 1024
                     ) -> Iterator[bytes]:
    """The file's plaintext, decrypted if it is encrypted: what every reader of recordings uses."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) == MAGIC:
            f.seek(0)
            yield from decrypt_chunks(f, require_key(key, path), str(path))
            return
        f.seek(0)
        while block := f.read(chunk_size):
            yield block


def encrypt_in_place(path: Path, key: bytes, chunk_size: int = 64 * 1024) -> bool:
    """Replace `path` by its encryption (atomically: temp file in the same directory, fsync,
    rename). False if it was already encrypted."""
    if is_encrypted(path):
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".enc", dir=path.parent)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            encrypt_stream(src, dst, key, chunk_size)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
