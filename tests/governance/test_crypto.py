"""Encryption at rest: AES-256-GCM in chunks, streamed; a wrong key, a cut or a shuffled file is
an error that says so, never silently wrong audio."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from callrec.governance import crypto
from callrec.governance.crypto import (
    TAG_BYTES,
    decrypt_chunks,
    encrypt_in_place,
    encrypt_stream,
    generate_key,
    is_encrypted,
    load_key,
    parse_key,
    plaintext_chunks,
)
from callrec.governance.errors import CryptoError
from callrec.governance.settings import EncryptionConfig

CHUNK = 1000
HEADER = 28


def encrypt(data: bytes, key: bytes, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, key, chunk)
    return out.getvalue()


def decrypt(blob: bytes, key: bytes) -> bytes:
    return b"".join(decrypt_chunks(io.BytesIO(blob), key, "test"))


def records(blob: bytes, chunk: int = CHUNK) -> list[bytes]:
    body = blob[HEADER:]
    size = chunk + TAG_BYTES
    return [body[i:i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 7 * CHUNK + 13])
def test_round_trip_of_any_size_including_chunk_boundaries(size: int) -> None:
    key, data = generate_key(), os.urandom(size)
    blob = encrypt(data, key)
    assert decrypt(blob, key) == data
    expected_chunks = max(1, -(-size // CHUNK))
    assert len(records(blob)) == expected_chunks
    assert size < 32 or data[:32] not in blob  # no plaintext in the ciphertext


def test_each_file_gets_its_own_nonce() -> None:
    key, data = generate_key(), b"x" * 3000
    assert encrypt(data, key) != encrypt(data, key)


def test_wrong_key_is_reported_as_a_wrong_key() -> None:
    blob = encrypt(b"secret audio" * 500, generate_key())
    with pytest.raises(CryptoError, match="wrong key"):
        decrypt(blob, generate_key())


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    key = generate_key()
    blob = encrypt(os.urandom(5 * CHUNK), key)
    cut = blob[:HEADER] + b"".join(records(blob)[:3])
    with pytest.raises(CryptoError, match="truncated after chunk 2"):
        decrypt(cut, key)


def test_truncation_inside_a_chunk_is_detected() -> None:
    key = generate_key()
    blob = encrypt(os.urandom(3 * CHUNK), key)
    with pytest.raises(CryptoError, match="chunk 2 fails authentication"):
        decrypt(blob[:-7], key)


def test_nothing_after_the_header_is_detected() -> None:
    key = generate_key()
    with pytest.raises(CryptoError, match="truncated"):
        decrypt(encrypt(b"abc", key)[:HEADER], key)


def test_reordered_chunks_are_detected() -> None:
    key = generate_key()
    blob = encrypt(os.urandom(4 * CHUNK), key)
    parts = records(blob)
    swapped = blob[:HEADER] + parts[1] + parts[0] + b"".join(parts[2:])
    with pytest.raises(CryptoError, match="chunk 0 fails authentication"):
        decrypt(swapped, key)


def test_a_flipped_bit_is_detected_and_nothing_after_it_is_released() -> None:
    key = generate_key()
    data = os.urandom(4 * CHUNK)
    blob = bytearray(encrypt(data, key))
    blob[HEADER + 2 * (CHUNK + TAG_BYTES) + 5] ^= 0x01
    released: list[bytes] = []
    with pytest.raises(CryptoError, match="chunk 2"):
        released.extend(decrypt_chunks(io.BytesIO(bytes(blob)), key, "test"))
    assert b"".join(released) == data[:2 * CHUNK]


def test_a_tampered_header_fails_every_chunk() -> None:
    key = generate_key()
    blob = bytearray(encrypt(os.urandom(2 * CHUNK), key))
    blob[HEADER - 1] ^= 0x01  # last byte of the nonce prefix
    with pytest.raises(CryptoError, match="chunk 0"):
        decrypt(bytes(blob), key)


def test_files_encrypt_in_place_once_and_read_back_transparently(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "rec.wav"
    data = os.urandom(200_000)
    path.write_bytes(data)
    assert encrypt_in_place(path, key, chunk_size=4096) is True
    assert is_encrypted(path) and path.read_bytes() != data
    assert encrypt_in_place(path, key) is False  # already encrypted: left alone
    assert b"".join(plaintext_chunks(path, key)) == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.wav"]  # no temp file left


def test_plain_files_read_without_any_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    path.write_bytes(b"RIFF....")
    assert b"".join(plaintext_chunks(path, None)) == b"RIFF...."


def test_an_encrypted_file_without_a_configured_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    path.write_bytes(b"audio")
    encrypt_in_place(path, generate_key())
    with pytest.raises(CryptoError, match="no key is configured"):
        b"".join(plaintext_chunks(path, None))


def test_keys_come_from_the_environment_before_the_key_file(tmp_path: Path) -> None:
    file_key, env_key = generate_key(), generate_key()
    key_file = tmp_path / "key"
    key_file.write_text(file_key.hex() + "\n")
    config = EncryptionConfig(key_file=str(key_file))
    assert load_key(config, {}) == file_key
    assert load_key(config, {crypto.ENCRYPTION_KEY_ENV: env_key.hex()}) == env_key
    raw_file = tmp_path / "raw"
    raw_file.write_bytes(file_key)
    assert load_key(EncryptionConfig(key_file=str(raw_file)), {}) == file_key
    assert load_key(EncryptionConfig(), {}) is None


@pytest.mark.parametrize("text", ["abc", "00" * 16, "zz" * 32])
def test_malformed_keys_are_refused_with_their_source(text: str) -> None:
    with pytest.raises(CryptoError, match="MYSOURCE"):
        parse_key(text, "MYSOURCE")


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match="key file"):
        load_key(EncryptionConfig(key_file=str(tmp_path / "nope")), {})
