"""The one domain error family of the ARI gateway.

Every failure of the ARI client - an HTTP error status, a refused or dropped connection, a
timeout, a response or event that does not look like ARI - surfaces as an :class:`AriError`
(or a subclass), never as an aiohttp / json / ValueError.
"""

from __future__ import annotations


class AriError(Exception):
    """A failed ARI operation.

    ``status`` is the HTTP status, or ``None`` when no HTTP response was received at all
    (connection refused or dropped, timeout). ``message`` is Asterisk's own explanation taken from
    the JSON error body (``{"message": "Channel not found"}``) when there is one.
    """

    def __init__(self, status: int | None, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        where = f"{method} {path}".strip()
        code = "no response" if status is None else f"HTTP {status}"
        super().__init__(f"{where}: {code}: {message}" if where else f"{code}: {message}")


class AriNotFound(AriError):
    """HTTP 404: the channel / bridge / playback / variable does not exist (any more)."""


class AriConflict(AriError):
    """HTTP 409: e.g. the channel is not in a Stasis application, or the ID already exists."""


class MalformedEvent(AriError):
    """A WebSocket message (or REST body) that is not a well-formed ARI object."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "", "", message)


def error_for_status(status: int | None, method: str, path: str, message: str) -> AriError:
    """The most specific :class:`AriError` subclass for an HTTP status."""
    if status == 404:
        return AriNotFound(status, method, path, message)
    if status == 409:
        return AriConflict(status, method, path, message)
    return AriError(status, method, path, message)
