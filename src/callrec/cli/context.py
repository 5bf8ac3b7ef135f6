"""What every `callrec` command shares: the configuration, a store for one command, argument types."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import click

from callrec import app
from callrec.config import Config, ConfigError, load
from callrec.store import Store, StoreError

T = TypeVar("T")


class Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @property
    def config(self) -> Config:
        try:
            return load(self.config_path)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc

    def with_store(self, work: Callable[[Store], Awaitable[T]]) -> T:
        async def run() -> T:
            async with app.open_store(self.config) as store:
                return await work(store)
        try:
            return asyncio.run(run())
        except StoreError as exc:
            raise click.ClickException(f"database: {exc}") from exc


pass_ctx = click.make_pass_decorator(Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def call_id_arg(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a call ID (a UUID): {value!r}") from exc
