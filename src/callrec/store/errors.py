"""The store's single domain error and the translation of every psycopg failure into it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors


class StoreError(Exception):
    """Any failure of the evidence store (connection, constraint, bad input, missing row).

    ``transient`` is True when trying again later can succeed (the server is unreachable, restarting
    or the pool is starved); False when the same write will always fail (a constraint, bad data).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def describe(exc: psycopg.Error) -> str:
    """A one-line, human-readable reason naming the violated constraint where there is one."""
    diag = exc.diag
    constraint = diag.constraint_name
    primary = diag.message_primary or str(exc).strip() or type(exc).__name__
    if isinstance(exc, pg_errors.UniqueViolation):
        violated = constraint or "a unique constraint"
        return f"duplicate value violates {violated}: {diag.message_detail}"
    if isinstance(exc, pg_errors.CheckViolation):
        return f"value rejected by check constraint {constraint}: {primary}"
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return f"reference to a missing row ({constraint}): {diag.message_detail}"
    if isinstance(exc, pg_errors.NotNullViolation):
        return f"missing required value: {primary}"
    return f"{type(exc).__name__}: {primary}"


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Re-raise any database error raised inside the block as a StoreError about `action`.

    The pool's own errors (PoolTimeout, PoolClosed) are OperationalErrors, so a starved,
    unreachable or closed pool is covered too.
    """
    try:
        yield
    except psycopg_pool.PoolClosed as exc:
        raise StoreError(f"{action} failed: the store is closed") from exc
    except psycopg.Error as exc:
        transient = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        raise StoreError(f"{action} failed: {describe(exc)}", transient=transient) from exc
