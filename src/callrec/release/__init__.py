"""Client copies of recordings: holds cut out, sensitive spans redacted, reviewed, fingerprinted."""

from callrec.release.errors import PlanError, ReleaseError, ReleaseRefused
from callrec.release.plan import EditPlan, Piece, PieceKind, Span, parse_span, plan_release
from callrec.release.ports import AuditSink, Authoriser, Governance, unwired
from callrec.release.records import Release, ReleaseRecords
from callrec.release.render import RedactMode, render_wav
from callrec.release.service import Format, ReleaseRequest, create_release

__all__ = [
    "AuditSink",
    "Authoriser",
    "EditPlan",
    "Format",
    "Governance",
    "Piece",
    "PieceKind",
    "PlanError",
    "RedactMode",
    "Release",
    "ReleaseError",
    "ReleaseRecords",
    "ReleaseRefused",
    "ReleaseRequest",
    "Span",
    "create_release",
    "parse_span",
    "plan_release",
    "render_wav",
    "unwired",
]
