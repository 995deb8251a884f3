"""A database with the registry loaded (every plan test needs agencies)."""

from __future__ import annotations

import pytest

from definitions import load_data
from definitions.agencies import Registry
from tests.conftest import ADMIN, ROOT
from workflow import Engine
from workflow.agencies import Agencies

REGISTRY = ROOT / "definitions" / "registry" / "agencies.yaml"
REORG = ROOT / "definitions" / "registry" / "reorg-2025.yaml"
PLAN = ROOT / "definitions" / "plan" / "ke-hoach-2022.yaml"


@pytest.fixture
def registered(engine: Engine) -> Engine:
    Agencies(engine).load(load_data(REGISTRY, Registry), ADMIN)
    return engine
