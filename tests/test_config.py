"""Settings of callrec.toml checked when it is loaded: the event loop, how ARI requests travel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvloop

from callrec.app import loop_factory
from callrec.config import ConfigError, load


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callrec.toml"
    path.write_text(text)
    return path


def test_serve_runs_on_uvloop_unless_told_otherwise(tmp_path: Path) -> None:
    assert load(toml(tmp_path, ""), environ={}).event_loop == "uvloop"
    assert load(toml(tmp_path, 'event_loop = "asyncio"\n'), environ={}).event_loop == "asyncio"
    assert load(toml(tmp_path, ""), environ={"CALLREC_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"


def test_an_unknown_event_loop_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="event_loop must be one of uvloop, asyncio, not 'trio'"):
        load(toml(tmp_path, 'event_loop = "trio"\n'), environ={})


def test_the_factory_builds_the_named_loop() -> None:
    assert loop_factory("asyncio") is None  # asyncio.Runner's default
    factory = loop_factory("uvloop")
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_ari_rest_travels_over_http_unless_told_otherwise(tmp_path: Path) -> None:
    assert load(toml(tmp_path, ""), environ={}).asterisk.ari_rest == "http"
    told = load(toml(tmp_path, '[asterisk]\nari_rest = "websocket"\n'), environ={})
    assert told.asterisk.ari_rest == "websocket"
    with pytest.raises(ConfigError, match="asterisk.ari_rest must be one of websocket, http"):
        load(toml(tmp_path, ""), environ={"CALLREC_ASTERISK_ARI_REST": "carrier-pigeon"})
