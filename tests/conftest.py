"""Shared fixtures: generated worlds (never real data) and finished runs, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.pipeline import run
from abm.settings import Settings
from fixtures.generate import generate_world

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``abm run fixtures/demo`` once for every test that only reads its outputs."""
    out = tmp_path_factory.mktemp("demo-run") / "out"
    run(Settings(input_dir=DEMO, out_dir=out))
    return out


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-company world, small enough to run many times in one test."""
    target = tmp_path_factory.mktemp("world30") / "in"
    generate_world(target, companies=30, seed=11)
    return target
