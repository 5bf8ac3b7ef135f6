"""Governance of recordings: users and roles, access under approval, the hash-chained audit log,
retention with legal holds, and encryption at rest.

Pure rules in `access` (who may do what) and `retention` (`verdict`); `audit` hashes and walks the
chain; `crypto` is the AES-256-GCM file format; `service`, `files` and `retention.run` are the
governed operations, each one transaction with its audit row.
"""

from callrec.governance.access import AccessRequest, Action, Decision, Grant, Role, User, decide
from callrec.governance.errors import AccessRefused, CryptoError, GovernanceError, IntegrityError
from callrec.governance.service import Governance
from callrec.governance.settings import (
    AccessConfig,
    EncryptionConfig,
    RetentionConfig,
    acting_user,
    retention_config,
)

__all__ = [
    "AccessConfig", "AccessRefused", "AccessRequest", "Action", "CryptoError", "Decision",
    "EncryptionConfig", "Governance", "GovernanceError", "Grant", "IntegrityError",
    "RetentionConfig", "Role", "User", "acting_user", "decide", "retention_config",
]
