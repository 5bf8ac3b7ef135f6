"""The bundled migration files themselves."""

from __future__ import annotations

from importlib import resources

from callrec.store import bundled_migrations


def test_every_sql_file_in_the_package_is_a_recognised_migration() -> None:
    # A misnamed file (e.g. "2_add_x.sql") would otherwise be silently skipped forever.
    folder = resources.files("callrec.store").joinpath("migrations")
    sql_files = {entry.name for entry in folder.iterdir() if entry.name.endswith(".sql")}
    recognised = {f"{m.version:03d}_{m.name}.sql" for m in bundled_migrations()}
    assert sql_files == recognised


def test_versions_are_contiguous_from_one() -> None:
    versions = [m.version for m in bundled_migrations()]
    assert versions == list(range(1, len(versions) + 1))
