"""The governance layer's domain errors: one per kind of failure a caller must tell apart."""

from __future__ import annotations


class GovernanceError(Exception):
    """Base of every governance failure (configuration included)."""


class AccessRefused(GovernanceError):
    """The acting user may not do this. The refusal has already been written to the audit log."""


class IntegrityError(GovernanceError):
    """A file does not match the fingerprint stored when it was recorded (or the audit chain is
    broken); nothing was handed out."""


class CryptoError(GovernanceError):
    """Encryption at rest failed: missing or wrong key, or a tampered/truncated encrypted file.
    Every `cryptography` exception is turned into this one."""
