"""The audio package's domain errors.

Every libsndfile/OS failure inside ``callrec.audio`` surfaces as :class:`AudioError`, so callers
handle one exception type regardless of which library underneath complained.
"""

from __future__ import annotations


class AudioError(Exception):
    """A recording file could not be read, written or understood."""


class LegMismatch(AudioError, ValueError):
    """Two recording legs cannot be merged (different sample rates or not mono).

    Also a ``ValueError``: it is the caller handing in incompatible inputs, not an I/O failure.
    """
